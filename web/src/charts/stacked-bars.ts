// Stacked horizontal bars as SVG: one bar per row, its segments' widths the row's fractions (summing
// to 1), a legend of the segments' colours and a hover readout (and an SVG <title> per segment).
// Each segment carries data-row, data-segment and data-value, which the end-to-end tests read.
import { svgElement } from "./svg.ts";

export interface StackedBarsOptions {
  rowLabels: string[];
  segments: readonly { name: string; label: string; colour: string }[];
  /** values[row][segment], fractions of the row; a missing row is drawn empty (not computed yet). */
  values: (number[] | undefined)[];
  barWidth?: number;
  describe?: (row: number, segment: number) => string;
}

export function stackedBars(options: StackedBarsOptions): SVGSVGElement {
  const barWidth = options.barWidth ?? 520;
  const bar = 22;
  const left = Math.max(40, 7 * Math.max(0, ...options.rowLabels.map((l) => l.length)) + 12);
  const top = 8;
  const rows = options.rowLabels.length;
  const legendY = top + rows * (bar + 4) + 14;
  const width = left + barWidth + 20;
  const height = legendY + 44;
  const svg = svgElement("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "bars", role: "img" });
  const readout = svgElement("text", { x: left, y: height - 6, class: "readout" }, "");
  options.rowLabels.forEach((label, r) => {
    const y = top + r * (bar + 4);
    svg.append(svgElement("text", { x: left - 6, y: y + bar / 2 + 4, "text-anchor": "end", class: "label" }, label));
    svg.append(svgElement("rect", { x: left, y, width: barWidth, height: bar, fill: "none", class: "frame", rx: 2 }));
    const values = options.values[r];
    if (values === undefined) return;
    let x = left;
    options.segments.forEach((segment, s) => {
      const value = values[s] ?? 0;
      const w = value * barWidth;
      const description = options.describe?.(r, s) ?? `${label}: ${segment.label} ${(value * 100).toFixed(1)}%`;
      const g = svgElement("g", { class: "segment", "data-row": r, "data-segment": segment.name, "data-value": value });
      const rect = svgElement("rect", { x, y, width: w, height: bar, fill: segment.colour });
      rect.append(svgElement("title", {}, description));
      g.append(rect);
      if (w >= 34) {
        g.append(
          svgElement(
            "text",
            { x: x + w / 2, y: y + bar / 2 + 4, "text-anchor": "middle", class: "segment-text" },
            `${Math.round(value * 100)}%`,
          ),
        );
      }
      g.addEventListener("mouseenter", () => {
        readout.textContent = description;
      });
      svg.append(g);
      x += w;
    });
  });
  let x = left;
  for (const segment of options.segments) {
    svg.append(svgElement("rect", { x, y: legendY, width: 12, height: 12, fill: segment.colour, rx: 2 }));
    svg.append(svgElement("text", { x: x + 16, y: legendY + 10, class: "label" }, segment.label));
    x += 16 + 7 * segment.label.length + 14;
  }
  svg.append(readout);
  return svg;
}
