// A grid of coloured cells as SVG: row and column labels, an optional text in each cell, a hover
// readout (and an SVG <title> per cell), a click per cell, and a legend for the colour scale.
// Each cell carries data-row, data-col and data-value, which the end-to-end tests read.
import { diverging, sequential, textOn } from "./colors.ts";
import { svgElement } from "./svg.ts";

export interface GridOptions {
  rowLabels: string[];
  columnLabels: string[];
  /** values[row][column]; NaN leaves the cell empty (not computed yet). */
  values: number[][];
  scale: "diverging" | "sequential";
  /** The value at the ends of the scale (default the largest |value|). */
  extent?: number;
  cellText?: (row: number, column: number) => string;
  describe?: (row: number, column: number) => string;
  onClick?: (row: number, column: number) => void;
  cellWidth?: number;
  cellHeight?: number;
  legend?: string;
  rowTitle?: string;
  /** A thumbnail: no labels, legend or readout. */
  compact?: boolean;
}

export function grid(options: GridOptions): SVGSVGElement {
  const cw = options.cellWidth ?? 34;
  const ch = options.cellHeight ?? 22;
  const compact = options.compact ?? false;
  const left = compact ? 0 : Math.max(40, 7 * Math.max(0, ...options.rowLabels.map((l) => l.length)) + 12);
  const top = compact
    ? 0
    : Math.max(30, 6 * Math.min(16, Math.max(0, ...options.columnLabels.map((l) => l.length))) + 14);
  const rows = options.values.length;
  const columns = Math.max(options.columnLabels.length, ...options.values.map((row) => row.length));
  const legendHeight = compact ? 0 : 46;
  const legendWidth = compact ? 0 : 25 * 6 + 20 + 7 * (options.legend?.length ?? 0);
  const width = Math.max(left + columns * cw + 10, left + legendWidth);
  const height = top + rows * ch + legendHeight;
  const svg = svgElement("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "grid", role: "img" });
  const finite = options.values.flat().filter(Number.isFinite);
  const extent =
    options.extent ?? (options.scale === "diverging" ? Math.max(0, ...finite.map(Math.abs)) : Math.max(0, ...finite));
  const colour = (v: number) => (options.scale === "diverging" ? diverging(v, extent) : sequential(v, extent));

  options.columnLabels.forEach((label, c) => {
    const x = left + c * cw + cw / 2;
    svg.append(
      svgElement("text", { x, y: top - 6, transform: `rotate(-50 ${x} ${top - 6})`, class: "label" }, shorten(label)),
    );
  });
  options.rowLabels.forEach((label, r) => {
    svg.append(
      svgElement("text", { x: left - 6, y: top + r * ch + ch / 2 + 4, "text-anchor": "end", class: "label" }, label),
    );
  });
  if (options.rowTitle) svg.append(svgElement("text", { x: 4, y: 12, class: "label" }, options.rowTitle));

  const readout = svgElement("text", { x: left, y: height - 8, class: "readout" }, "");
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const value = options.values[r]?.[c] ?? Number.NaN;
      const fill = Number.isFinite(value) ? colour(value) : "transparent";
      const cell = svgElement("g", { class: "cell", "data-row": r, "data-col": c, "data-value": value });
      const rect = svgElement("rect", {
        x: left + c * cw,
        y: top + r * ch,
        width: cw - 1,
        height: ch - 1,
        fill,
        rx: 2,
      });
      const description =
        options.describe?.(r, c) ?? `${options.rowLabels[r] ?? r}, ${options.columnLabels[c] ?? c}: ${format(value)}`;
      rect.append(svgElement("title", {}, description));
      cell.append(rect);
      const text = options.cellText?.(r, c);
      if (text) {
        cell.append(
          svgElement(
            "text",
            {
              x: left + c * cw + cw / 2,
              y: top + r * ch + ch / 2 + 4,
              "text-anchor": "middle",
              fill: textOn(fill),
              class: "cell-text",
            },
            shorten(text, Math.floor(cw / 7)),
          ),
        );
      }
      cell.addEventListener("mouseenter", () => {
        readout.textContent = description;
      });
      if (options.onClick) {
        cell.style.cursor = "pointer";
        cell.addEventListener("click", () => options.onClick?.(r, c));
      }
      svg.append(cell);
    }
  }
  if (!compact) svg.append(legend(options, extent, left, top + rows * ch + 8), readout);
  return svg;
}

function legend(options: GridOptions, extent: number, x: number, y: number): SVGGElement {
  const g = svgElement("g", { class: "legend" });
  const steps = 24;
  const w = 6;
  const low = options.scale === "diverging" ? -extent : 0;
  for (let i = 0; i <= steps; i++) {
    const v = low + ((extent - low) * i) / steps;
    g.append(
      svgElement("rect", {
        x: x + i * w,
        y,
        width: w,
        height: 10,
        fill: options.scale === "diverging" ? diverging(v, extent) : sequential(v, extent),
      }),
    );
  }
  g.append(svgElement("text", { x, y: y + 22, class: "label" }, format(low)));
  g.append(
    svgElement("text", { x: x + (steps + 1) * w, y: y + 22, "text-anchor": "end", class: "label" }, format(extent)),
  );
  if (options.legend)
    g.append(svgElement("text", { x: x + (steps + 1) * w + 10, y: y + 9, class: "label" }, options.legend));
  return g;
}

export function format(value: number): string {
  if (!Number.isFinite(value)) return "—";
  const a = Math.abs(value);
  return a !== 0 && (a < 0.001 || a >= 10000) ? value.toExponential(2) : value.toFixed(a < 1 ? 4 : 3);
}

function shorten(text: string, max = 16): string {
  const shown = JSON.stringify(text).slice(1, -1);
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}
