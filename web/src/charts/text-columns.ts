// Texts side by side as SVG, each in a framed column wrapped to its width (so the figure exports
// as SVG and PNG like the grids). Each column is a <g class="text-column"> carrying data-index and
// data-text (the whole text), which the end-to-end tests read.
import { svgElement } from "./svg.ts";

export interface TextColumn {
  title: string;
  text: string;
  /** The frame's colour (a CSS colour). */
  frame: string;
  /** A dimmer text before the column's own (the prompt). */
  lead?: string;
}

const CHAR_WIDTH = 7.2; // 12px monospace
const LINE_HEIGHT = 17;

export function textColumns(columns: readonly TextColumn[], columnWidth = 380): SVGSVGElement {
  const pad = 10;
  const chars = Math.floor((columnWidth - 2 * pad) / CHAR_WIDTH);
  const wrapped = columns.map((c) => wrap((c.lead ?? "") + c.text, chars));
  const lines = Math.max(1, ...wrapped.map((w) => w.length));
  const gap = 12;
  const width = columns.length * (columnWidth + gap);
  const height = 28 + lines * LINE_HEIGHT + 2 * pad;
  const svg = svgElement("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: "text-columns",
    role: "img",
  });
  columns.forEach((column, i) => {
    const x = i * (columnWidth + gap);
    const g = svgElement("g", { class: "text-column", "data-index": i, "data-text": column.text });
    g.append(
      svgElement("rect", {
        x: x + 1,
        y: 1,
        width: columnWidth - 2,
        height: height - 2,
        rx: 6,
        fill: "none",
        stroke: column.frame,
        "stroke-width": 2.5,
      }),
      svgElement("text", { x: x + pad, y: 20, class: "title", fill: column.frame }, column.title),
    );
    // The lead's characters are drawn dim: it fills the first lines, up to its own length.
    const leadLength = (column.lead ?? "").length;
    let offset = 0;
    (wrapped[i] ?? []).forEach((line, l) => {
      const text = svgElement("text", { x: x + pad, y: 28 + pad + (l + 1) * LINE_HEIGHT - 4, class: "line" });
      const dim = Math.max(0, Math.min(line.length, leadLength - offset));
      if (dim > 0) text.append(svgElement("tspan", { class: "lead" }, line.slice(0, dim)));
      if (dim < line.length) text.append(svgElement("tspan", {}, line.slice(dim)));
      g.append(text);
      offset += line.length;
    });
    svg.append(g);
  });
  return svg;
}

// Lines of at most `width` characters, broken at spaces where a line allows and at newlines; the
// lines together hold every character of `text` but the newlines.
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let rest = paragraph;
    while (rest.length > width) {
      const space = rest.lastIndexOf(" ", width);
      const cut = space > 0 ? space + 1 : width;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    lines.push(rest);
  }
  return lines;
}
