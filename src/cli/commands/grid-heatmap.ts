// The heatmap of a layers x columns grid of patching or ablation values: layers down, positions
// (with their tokens) or heads across, coloured around 0.
import type { Heatmap } from "../output/heatmap.ts";
import { visibleToken } from "../output/heatmap.ts";

export interface LayerGrid {
  title: string;
  layers: readonly number[];
  columns: readonly number[];
  /** "position" (labels are tokens) or "head" (labels are "H<i>"). */
  columnKind: "position" | "head";
  labels: readonly string[];
  values: readonly (readonly number[])[];
  legend: string;
  /** Decimals shown in each cell. */
  decimals: number;
}

export function layerGridHeatmap(grid: LayerGrid): Heatmap {
  const finite = grid.values.flat().filter(Number.isFinite);
  const limit = Math.max(1e-9, ...finite.map(Math.abs));
  const columns =
    grid.columnKind === "head" ? grid.labels : grid.columns.map((p, i) => `${p}${visibleToken(grid.labels[i] ?? "")}`);
  return {
    title: grid.title,
    rowTitle: "layer",
    columnTitle: grid.columnKind === "head" ? "head" : "position and token",
    rows: grid.layers.map((l) => `L${l}`),
    columns,
    values: grid.values,
    format: (v) => v.toFixed(grid.decimals),
    scale: { kind: "diverging", limit },
    legend: grid.legend,
  };
}

/** One CSV row per cell: layer, column, its label, then the named values. */
export function layerGridTable(
  layers: readonly number[],
  columns: readonly number[],
  columnKind: string,
  labels: readonly string[],
  values: Record<string, readonly (readonly number[])[]>,
) {
  const names = Object.keys(values);
  const header = ["layer", columnKind, "label", ...names];
  const rows = layers.flatMap((layer, r) =>
    columns.map((column, c) => [layer, column, labels[c], ...names.map((n) => values[n]?.[r]?.[c])]),
  );
  return { header, rows };
}
