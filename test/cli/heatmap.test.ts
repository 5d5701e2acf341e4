// The terminal heatmap on its own: which columns are kept when they do not fit, the colour scales
// (the diverging one white at 0, symmetric), cells cut with an ellipsis, and widths kept.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { Chalk } from "chalk";
import { colourOf, fittingColumns, type Heatmap, pad, renderHeatmap } from "../../src/cli/output/heatmap.ts";
import { textStyle } from "../../src/cli/output/terminal.ts";

const map = (columns: number): Heatmap => ({
  title: "t",
  rowTitle: "layer",
  columnTitle: "head",
  rows: ["L0", "L1"],
  columns: Array.from({ length: columns }, (_, i) => `H${i}`),
  values: [
    Array.from({ length: columns }, (_, i) => i / columns - 0.5),
    Array.from({ length: columns }, () => Number.NaN),
  ],
  format: (v) => v.toFixed(2),
  scale: { kind: "diverging", limit: 0.5 },
  legend: "cell: a value",
});

describe("heatmap", () => {
  test("fittingColumns keeps all that fit, else a third from the start and the rest from the end", () => {
    assert.deepEqual(fittingColumns(4, 10), [0, 1, 2, 3]);
    assert.deepEqual(fittingColumns(26, 10), [0, 1, 2, undefined, 20, 21, 22, 23, 24, 25]);
    assert.deepEqual(fittingColumns(5, 1), [0, undefined, 4]);
  });

  test("colour scales: diverging is light at 0 and its ends at ±limit; values past the ends clamp", () => {
    const diverging = { kind: "diverging", limit: 2 } as const;
    assert.deepEqual(colourOf(0, diverging), [247, 247, 247]);
    assert.deepEqual(colourOf(-2, diverging), [33, 102, 172]);
    assert.deepEqual(colourOf(5, diverging), [178, 24, 43]);
    const sequential = { kind: "sequential", min: 0, max: 1 } as const;
    assert.deepEqual(colourOf(0, sequential), [68, 1, 84]);
    assert.deepEqual(colourOf(1, sequential), [253, 231, 37]);
  });

  test("pad cuts with an ellipsis to the width, wide characters counted as two", () => {
    assert.equal(pad("abcdef", 4), "abc…");
    assert.equal(pad("ab", 4), "  ab");
    assert.equal(pad("ab", 4, "left"), "ab  ");
    assert.equal(pad("日本語", 5), "日本…");
  });

  test("a grid too wide is cut to the width and says which columns are missing", () => {
    const style = { ...textStyle(process.stdout, { NO_COLOR: "1" }), width: 40 };
    const text = renderHeatmap(map(20), style);
    const lines = text.split("\n");
    for (const line of lines.slice(0, 4)) assert.ok(line.length <= 40, line);
    assert.deepEqual(lines.slice(1, 3), [
      "layer    H0 …   H17   H18   H19   (head)",
      "L0    -0.50 …  0.35  0.40  0.45",
    ]);
    assert.match(text, /\(head H1 to H16 not shown: 16 of 20 columns do not fit 40 characters/);
    assert.match(lines.at(-1) as string, /^cell: a value; colour scale -0\.50 to 0\.50$/);
  });

  test("coloured: the same cells once the escape codes are taken out; NaN cells stay uncoloured", () => {
    const plain = renderHeatmap(map(4), { color: false, width: 80, chalk: new Chalk({ level: 0 }) });
    const coloured = renderHeatmap(map(4), { color: true, width: 80, chalk: new Chalk({ level: 3 }) });
    const body = (t: string) => stripVTControlCharacters(t).split("\n").slice(0, -1);
    assert.deepEqual(body(coloured), body(plain));
    const lines = coloured.split("\n");
    assert.ok(lines[2]?.includes("\u001b[48;2;"), "the L0 row is coloured");
    assert.ok(!lines[3]?.includes("\u001b[48;2;"), "the L1 row (no values) is not");
  });

  test("textStyle: colour only on a TTY without NO_COLOR, or with FORCE_COLOR; COLUMNS when not a TTY", () => {
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    const tty = { isTTY: true, columns: 91 } as NodeJS.WriteStream;
    assert.equal(textStyle(pipe, {}).color, false);
    assert.equal(textStyle(tty, {}).color, true);
    assert.equal(textStyle(tty, { NO_COLOR: "1" }).color, false);
    assert.equal(textStyle(pipe, { FORCE_COLOR: "1" }).color, true);
    assert.equal(textStyle(tty, {}).width, 91);
    assert.equal(textStyle(pipe, { COLUMNS: "50" }).width, 50);
    assert.equal(textStyle(pipe, {}).width, 120);
  });
});
