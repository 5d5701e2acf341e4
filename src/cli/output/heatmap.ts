// A grid of numbers as a terminal heatmap: a row label, then one cell per column holding its text
// (a value, or a token and its value), the cell's background coloured by its value, a legend
// below. Without colours the same grid in plain text, so the values stay readable. Columns that
// do not fit the width are cut from the middle, and the grid says which.
import stringWidth from "string-width";
import type { TextStyle } from "./terminal.ts";

/** sequential: low to high (probabilities, scores); diverging: negative, 0, positive around 0. */
export type Scale = { kind: "sequential"; min: number; max: number } | { kind: "diverging"; limit: number };

export interface Heatmap {
  title: string;
  /** What a row and a column are ("position", "layer"). */
  rowTitle: string;
  columnTitle: string;
  rows: readonly string[];
  columns: readonly string[];
  /** values[row][column]: the number the cell is coloured by (NaN: no value). */
  values: readonly (readonly number[])[];
  /** The text of each cell (default: the value, formatted). */
  texts?: readonly (readonly string[])[];
  format: (value: number) => string;
  scale: Scale;
  /** What the colour and the cell text say. */
  legend: string;
}

const MAX_CELL = 10;
const MIN_CELL = 4;
const MAX_ROW_LABEL = 16;
const ELLIPSIS = "…";
const width = (text: string) => stringWidth(text);

type Rgb = readonly [number, number, number];
const SEQUENTIAL: readonly Rgb[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];
const DIVERGING: readonly Rgb[] = [
  [33, 102, 172],
  [146, 197, 222],
  [247, 247, 247],
  [244, 165, 130],
  [178, 24, 43],
];

/** The heatmap as text, `style.width` columns wide at most. */
export function renderHeatmap(map: Heatmap, style: TextStyle): string {
  const texts = map.texts ?? map.values.map((row) => row.map((v) => (Number.isNaN(v) ? "" : map.format(v))));
  const labelWidth = Math.min(MAX_ROW_LABEL, Math.max(stringWidth(map.rowTitle), ...map.rows.map(width)));
  const cellWidth = Math.max(
    MIN_CELL,
    Math.min(MAX_CELL, Math.max(...map.columns.map(width), ...texts.flat().map(width))),
  );
  const shown = fittingColumns(map.columns.length, Math.floor((style.width - labelWidth) / (cellWidth + 1)));
  const paint = (value: number, text: string) => {
    if (!style.color || Number.isNaN(value)) return text;
    const background = colourOf(value, map.scale);
    return style.chalk.bgRgb(...background).rgb(...foregroundOn(background))(text);
  };
  const lines = [style.chalk.bold(map.title)];
  const header = shown.map((c) => (c === undefined ? ELLIPSIS : pad(map.columns[c] as string, cellWidth)));
  const headerLine = `${pad(map.rowTitle, labelWidth, "left")} ${header.join(" ")}`;
  const titled = `${headerLine}   (${map.columnTitle})`;
  lines.push(width(titled) <= style.width ? titled : headerLine);
  map.rows.forEach((row, r) => {
    const cells = shown.map((c) => {
      if (c === undefined) return ELLIPSIS;
      return paint(map.values[r]?.[c] ?? Number.NaN, pad(texts[r]?.[c] ?? "", cellWidth));
    });
    lines.push(`${pad(row, labelWidth, "left")} ${cells.join(" ")}`);
  });
  const hidden = map.columns.length - shown.filter((c) => c !== undefined).length;
  if (hidden > 0) {
    const first = shown.indexOf(undefined);
    const from = map.columns[(shown[first - 1] as number) + 1];
    const to = map.columns[(shown[first + 1] as number) - 1];
    lines.push(
      `(${map.columnTitle} ${from}${from === to ? "" : ` to ${to}`} not shown: ${hidden} of ${map.columns.length} columns do not fit ${style.width} characters; --json or --csv has them all)`,
    );
  }
  lines.push(legend(map, style));
  return lines.join("\n");
}

/** Column indices to show, undefined where the cut ones would be: a third from the start, the rest from the end. */
export function fittingColumns(count: number, room: number): (number | undefined)[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (count <= room) return all;
  const slots = Math.max(2, room - 1); // one slot for the ellipsis
  const head = Math.max(1, Math.floor(slots / 3));
  const tail = Math.max(1, slots - head);
  return [...all.slice(0, head), undefined, ...all.slice(count - tail)];
}

function legend(map: Heatmap, style: TextStyle): string {
  const [low, high] =
    map.scale.kind === "sequential" ? [map.scale.min, map.scale.max] : [-map.scale.limit, map.scale.limit];
  if (!style.color) return `${map.legend}; colour scale ${map.format(low)} to ${map.format(high)}`;
  const steps = 12;
  const bar = Array.from({ length: steps }, (_, i) => {
    const value = low + ((high - low) * i) / (steps - 1);
    return style.chalk.bgRgb(...colourOf(value, map.scale))("  ");
  }).join("");
  const middle = map.scale.kind === "diverging" ? ` (0 in the middle)` : "";
  return `${map.format(low)} ${bar} ${map.format(high)}${middle}  ${map.legend}`;
}

/** The colour of a value on the scale (values past the ends take the end colours). */
export function colourOf(value: number, scale: Scale): Rgb {
  const [low, high, stops] =
    scale.kind === "sequential" ? [scale.min, scale.max, SEQUENTIAL] : [-scale.limit, scale.limit, DIVERGING];
  const t = high > low ? Math.min(1, Math.max(0, (value - low) / (high - low))) : 0.5;
  const at = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(at));
  const [a, b] = [stops[i] as Rgb, stops[i + 1] as Rgb];
  const f = at - i;
  return [0, 1, 2].map((k) =>
    Math.round((a[k] as number) + ((b[k] as number) - (a[k] as number)) * f),
  ) as unknown as Rgb;
}

// Black text on light backgrounds, white on dark (relative luminance, sRGB weights).
function foregroundOn([r, g, b]: Rgb): Rgb {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 ? [0, 0, 0] : [255, 255, 255];
}

/** `text` made exactly `width` columns wide: cut with an ellipsis, padded (right-aligned unless "left"). */
export function pad(text: string, width: number, align: "left" | "right" = "right"): string {
  let out = text;
  if (stringWidth(out) > width) {
    const chars = [...out];
    while (chars.length > 0 && stringWidth(`${chars.join("")}${ELLIPSIS}`) > width) chars.pop();
    out = `${chars.join("")}${ELLIPSIS}`;
  }
  const room = " ".repeat(Math.max(0, width - stringWidth(out)));
  return align === "left" ? out + room : room + out;
}

/** A token's text as a cell shows it: spaces, line breaks and tabs made visible. */
export function visibleToken(text: string): string {
  return text.replaceAll(" ", "␣").replaceAll("\n", "↵").replaceAll("\t", "⇥").replaceAll("\r", "␍");
}
