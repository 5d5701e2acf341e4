// Texts in columns that fit a terminal's width, each wrapped at spaces (a word wider than its column
// at characters); or, where the columns would be too narrow, one text after another. Widths count
// terminal cells: a wide (East Asian, emoji) character takes two, a combining mark none.

export interface Column {
  title: string;
  text: string;
}

/** The narrowest column worth reading; below it, texts are stacked. */
export const MIN_COLUMN_WIDTH = 24;
const SEPARATOR = " │ ";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const WIDE =
  /\p{Extended_Pictographic}|[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{20000}-\u{3FFFD}]/u;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200B-\u200F\uFEFF]+$/u;

/** The terminal cells a string takes (no control characters: see printable). */
export function cellWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes.segment(text)) {
    if (ZERO_WIDTH.test(segment)) continue;
    width += WIDE.test(segment) ? 2 : 1;
  }
  return width;
}

// Tabs as spaces and other control characters as one space each, so they cannot move the cursor.
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters replaced.
  return text.replace(/\t/g, "    ").replace(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/g, " ");
}

/** The text's lines, each at most `width` cells, broken at spaces where a line has one. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of printable(text).split("\n")) {
    let line = "";
    let lineWidth = 0;
    const push = () => {
      lines.push(line.trimEnd());
      line = "";
      lineWidth = 0;
    };
    for (const word of paragraph.split(/(?<= )/)) {
      const w = cellWidth(word);
      if (lineWidth + cellWidth(word.trimEnd()) > width && lineWidth > 0) push();
      if (w <= width || cellWidth(word.trimEnd()) <= width) {
        line += word;
        lineWidth += w;
        continue;
      }
      for (const { segment } of graphemes.segment(word)) {
        const g = cellWidth(segment);
        if (lineWidth + g > width) push();
        line += segment;
        lineWidth += g;
      }
    }
    push();
  }
  return lines;
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - cellWidth(text)));
}

/** The columns side by side within `width` cells, or undefined where a column would be under MIN_COLUMN_WIDTH. */
export function sideBySide(columns: readonly Column[], width: number): string | undefined {
  const n = columns.length;
  const columnWidth = Math.floor((width - cellWidth(SEPARATOR) * (n - 1)) / n);
  if (n === 0 || columnWidth < MIN_COLUMN_WIDTH) return undefined;
  const cells = columns.map((c) => [
    ...wrap(c.title, columnWidth),
    "─".repeat(columnWidth),
    ...wrap(c.text, columnWidth),
  ]);
  const height = Math.max(...cells.map((lines) => lines.length));
  const rows: string[] = [];
  for (let r = 0; r < height; r++) {
    rows.push(
      cells
        .map((lines) => pad(lines[r] ?? "", columnWidth))
        .join(SEPARATOR)
        .trimEnd(),
    );
  }
  return `${rows.join("\n")}\n`;
}

/** The columns one after another, each under its title. */
export function stacked(columns: readonly Column[]): string {
  return columns.map((c) => `== ${c.title} ==\n${printable(c.text)}\n`).join("\n");
}
