/// <reference lib="dom" />
// Every explorer in a real browser (Debian's Chromium driven by playwright-core) on the shipped tiny
// model: it loads, runs, and shows the numbers the library computes for the same inputs (this
// process owns the model's thread, so the test calls the same library functions on its own copy
// of the weights). A screenshot of each explorer goes to test-artifacts/screenshots/.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ablation,
  activationPatching,
  bindingMechanisms,
  compareSteering,
  detectHeads,
  HookedModel,
  logitLens,
  type mx,
  patchAcrossLayers,
  steeringVector,
} from "mlux";
import type { Browser, Page } from "playwright-core";
import { streamGenerate } from "../../src/generate/stream.ts";
import { type RunningServer, startServer } from "../../src/server/start.ts";
import { openPage, preparePages, ROOT, SHOTS, TINY } from "./browser.ts";

let server: RunningServer;
let browser: Browser;
let page: Page;
let hm: HookedModel;
let pageErrors: string[] = [];

before(async () => {
  preparePages();
  server = await startServer({ model: TINY, port: 0 });
  hm = await HookedModel.fromPretrained(TINY);
  ({ browser, page, pageErrors } = await openPage());
});

after(async () => {
  await browser?.close();
  await server?.close();
  hm?.model.dispose();
});

/** Opens an explorer, runs it (Ctrl+Enter or the Run button) and waits until it is done. */
async function run(id: string, how: "button" | "keys" = "button"): Promise<void> {
  await page.goto(`${server.url}/#/${id}`);
  await page.waitForSelector(`[data-explorer="${id}"]`);
  if (how === "keys") await page.keyboard.press("Control+Enter");
  else await page.click("button.run");
  await page.waitForSelector(`[data-explorer="${id}"][data-state="done"]`, { timeout: 120_000 });
  const error = await page.getAttribute(`[data-explorer="${id}"]`, "data-error");
  assert.equal(error, null, `the explorer reported: ${await page.textContent(".status")}`);
}

const input = (name: string) => page.inputValue(`[name="${name}"]`);

/** The data-value of each cell of the figure's grid `selector`, as [row][column]. */
async function gridValues(selector: string): Promise<number[][]> {
  return page.$$eval(`${selector} g.cell`, (cells) => {
    const rows: number[][] = [];
    for (const cell of cells) {
      const r = Number(cell.getAttribute("data-row"));
      const c = Number(cell.getAttribute("data-col"));
      rows[r] ??= [];
      (rows[r] as number[])[c] = Number(cell.getAttribute("data-value"));
    }
    return rows;
  });
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

// The server and this test run the same library call on two loads of the same weights, on the
// same thread and device: the numbers are the same bits, so they compare exactly.

describe("explorers in Chromium", () => {
  test("command center: the model's facts and the picker's fixtures", async () => {
    await page.goto(`${server.url}/#/`);
    await page.waitForSelector('[data-fact="layers"]');
    const fact = (name: string) => page.textContent(`[data-fact="${name}"]`);
    const dims = hm.model.layout.dims;
    assert.equal(await fact("layers"), String(dims.layers));
    assert.equal(await fact("heads"), `${dims.heads} (${dims.kvHeads} key/value)`);
    assert.equal(await fact("architecture"), hm.model.layout.architecture);
    assert.equal(await fact("vocabulary"), String(dims.vocabSize));
    assert.equal(await fact("computes in"), hm.config.dtype);
    assert.equal(await fact("why"), hm.config.compute?.reason);
    await page.waitForSelector('select[name="catalog"] option[value$="attn-only-2l"]', { state: "attached" });
    await shot("command-center");
  });

  test("command center: a failed load shows why, and the model keeps serving", async () => {
    await page.goto(`${server.url}/#/`);
    await page.waitForSelector('[data-fact="layers"]');
    await page.fill('input[name="path"]', "/no/such/model");
    await page.click(".picker button");
    await page.waitForFunction(() => (document.querySelector(".model-card .error")?.textContent ?? "").length > 0);
    assert.match((await page.textContent(".model-card .error")) ?? "", /no folder at \/no\/such\/model/);
    assert.equal(await page.textContent('[data-fact="layers"]'), String(hm.layers));
    assert.equal(server.slot.state.model?.path, TINY);
  });

  test("logit lens: the grid's top tokens and probabilities, and a cell's top k", async () => {
    await run("lens", "keys");
    const prompt = await input("prompt");
    const k = Number(await input("k"));
    const lens = logitLens(hm, prompt, { probes: ["resid"], k });
    const grid = lens.grid("resid");
    const shown = await gridValues(".figure svg.grid");
    // Tokens x layers on the page; layers x positions in the result.
    assert.deepEqual(
      shown,
      (lens.tokens as string[]).map((_, p) => grid.rows.map((_, r) => grid.cells[r]?.[p]?.[0]?.prob)),
    );
    const last = lens.tokenIds.length - 1;
    const lastLayer = grid.rows.length - 1;
    await page.click(`.figure svg.grid g.cell[data-row="${last}"][data-col="${lastLayer}"]`);
    const rows = await page.$$eval("[data-testid=lens-info] tr[data-token-id]", (trs) =>
      trs.map((tr) => ({ id: Number(tr.getAttribute("data-token-id")), prob: tr.querySelector(".prob")?.textContent })),
    );
    assert.deepEqual(
      rows,
      (grid.cells[lastLayer]?.[last] ?? []).map((t) => ({ id: t.id, prob: `${(t.prob * 100).toFixed(2)}%` })),
    );
    // Exports: the data as JSON is the lens result; the figure as SVG is the grid drawn.
    const [json] = await Promise.all([page.waitForEvent("download"), page.click("button.export-json")]);
    const saved = JSON.parse(readFileSync(await json.path(), "utf8"));
    assert.deepEqual(saved, JSON.parse(JSON.stringify(lens.toJSON())));
    const [svg] = await Promise.all([page.waitForEvent("download"), page.click("button.export-svg")]);
    const svgText = readFileSync(await svg.path(), "utf8");
    assert.match(svgText, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svgText.match(/class="cell"/g)?.length, lens.tokenIds.length * grid.rows.length);
    const [csv] = await Promise.all([page.waitForEvent("download"), page.click("button.export-csv")]);
    const lines = readFileSync(await csv.path(), "utf8").split("\r\n");
    assert.equal(lines.length, 1 + grid.rows.length * lens.tokenIds.length * k);
    await shot("logit-lens");
  });

  test("the queue is visible: a run waiting behind another says its place, then runs", async () => {
    const controller = new AbortController();
    const generation = await fetch(`${server.url}/api/run/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "In the beginning", maxTokens: 512 }),
      signal: controller.signal,
    });
    const reader = (generation.body as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    while (!seen.includes('"chunk"')) seen += new TextDecoder().decode((await reader.read()).value);
    await page.goto(`${server.url}/#/lens?prompt=In&probe=resid&k=1`);
    await page.waitForSelector('[data-explorer="lens"]');
    await page.click("button.run");
    await page.waitForFunction(
      () => document.querySelector(".status")?.textContent === "waiting: 1 ahead in the queue",
    );
    controller.abort();
    await page.waitForSelector('[data-explorer="lens"][data-state="done"]', { timeout: 120_000 });
    assert.equal(await page.textContent(".status"), "done");
  });

  test("the inputs are in the address and come back from it", async () => {
    await page.goto(`${server.url}/#/lens?prompt=${encodeURIComponent("And God said")}&probe=mlp&k=3`);
    await page.waitForSelector('[data-explorer="lens"]');
    assert.equal(await input("prompt"), "And God said");
    assert.equal(await input("probe"), "mlp");
    assert.equal(await input("k"), "3");
  });

  test("playground: the greedy completion is the library's, the prompt styled apart", async () => {
    await page.goto(
      `${server.url}/#/playground?prompt=${encodeURIComponent("And God said, Let there be")}&maxTokens=16&temperature=0`,
    );
    await page.waitForSelector('[data-explorer="playground"]');
    await page.click("button.run");
    await page.waitForSelector('[data-explorer="playground"][data-state="done"]', { timeout: 120_000 });
    let expected = "";
    for await (const piece of streamGenerate(
      hm.model,
      hm.tokenizer as NonNullable<HookedModel["tokenizer"]>,
      "And God said, Let there be",
      {
        maxTokens: 16,
        temperature: 0,
      },
    )) {
      expected += piece.text;
    }
    assert.equal(await page.textContent("[data-testid=completion]"), expected);
    const colours = await page.$eval("pre.generation", (pre) => [
      getComputedStyle(pre.querySelector(".prompt") as Element).color,
      getComputedStyle(pre.querySelector(".completion") as Element).color,
    ]);
    assert.notEqual(colours[0], colours[1], "prompt and completion are styled apart");
    await shot("playground");
  });

  test("playground: a stop string ends the completion before it, as the library does", async () => {
    const prompt = "And God said, Let there be";
    await page.goto(
      `${server.url}/#/playground?prompt=${encodeURIComponent(prompt)}&maxTokens=32&temperature=0&stop=${encodeURIComponent(",")}`,
    );
    await page.waitForSelector('[data-explorer="playground"]');
    await page.click("button.run");
    await page.waitForSelector('[data-explorer="playground"][data-state="done"]', { timeout: 120_000 });
    let expected = "";
    const tokenizer = hm.tokenizer as NonNullable<HookedModel["tokenizer"]>;
    for await (const piece of streamGenerate(hm.model, tokenizer, prompt, {
      maxTokens: 32,
      temperature: 0,
      stop: [","],
    })) {
      expected += piece.text;
    }
    assert.equal(await page.textContent("[data-testid=completion]"), expected);
    let unstopped = "";
    for await (const piece of streamGenerate(hm.model, tokenizer, prompt, { maxTokens: 32, temperature: 0 })) {
      unstopped += piece.text;
    }
    assert.ok(unstopped.startsWith(`${expected},`), `the stop cut ${JSON.stringify(unstopped)} at its first comma`);
  });

  test("playground: Esc stops a long generation", async () => {
    await page.goto(`${server.url}/#/playground?prompt=In&maxTokens=512&temperature=1&seed=3`);
    await page.waitForSelector('[data-explorer="playground"]');
    await page.click("button.run");
    await page.waitForFunction(
      () => (document.querySelector("[data-testid=completion]")?.textContent ?? "").length > 0,
    );
    await page.keyboard.press("Escape");
    await page.waitForSelector('[data-explorer="playground"][data-state="stopped"]');
    const ended = server.outcomes.findLast((o) => o.kind === "generate");
    for (let i = 0; i < 500 && server.outcomes.findLast((o) => o.kind === "generate") === ended; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(server.outcomes.findLast((o) => o.kind === "generate")?.ended, "stopped");
  });

  test("attention: a head's pattern and the token view are the model's attention", async () => {
    await run("attention");
    const prompt = await input("prompt");
    const layer = Number(await input("layer"));
    const patterns = hm.getAttentionPatterns(prompt, [layer]);
    const pattern = ((patterns.get(layer) as mx.Array).tolist() as number[][][][])[0] as number[][][];
    const head0 = pattern[0] as number[][];
    assert.deepEqual(await gridValues(".detail svg.grid"), head0);
    // Click head 3, then hover a token: the chips before it show head 3's weights from it.
    await page.click('.thumb[data-head="3"]');
    assert.deepEqual(await gridValues(".detail svg.grid"), pattern[3]);
    const query = 6;
    await page.hover(`[data-testid=token-view] .chip[data-position="${query}"]`);
    const weights = await page.$$eval("[data-testid=token-view] .chip", (chips) =>
      chips.map((chip) => Number((chip as HTMLElement).dataset.weight)),
    );
    assert.deepEqual(weights.slice(0, query + 1), (pattern[3] as number[][])[query]?.slice(0, query + 1));
    for (const p of patterns.values()) p.dispose();
    await shot("attention");
  });

  test("head detectors: the layer x head matrix is detectHeads' scores", async () => {
    await run("heads");
    const detected = detectHeads(hm, {
      batch: Number(await input("batch")),
      repeatLength: Number(await input("repeatLength")),
      seed: Number(await input("seed")),
    });
    assert.deepEqual(await gridValues(".figure > svg.grid"), detected.scores.induction);
    const best = await page.$$eval(".top-head", (figures) =>
      figures.map((f) => `L${f.getAttribute("data-layer")}H${f.getAttribute("data-head")}`),
    );
    const ranked = (detected.scores.induction as number[][])
      .flatMap((row, l) => row.map((score, h) => ({ name: `L${detected.layers[l]}H${h}`, score })))
      .sort((a, b) => b.score - a.score)
      .slice(0, 3)
      .map((h) => h.name);
    assert.deepEqual(best, ranked);
    await shot("head-detectors");
  });

  test("activation patching: chips, the per-layer table and the sweep are the library's", async () => {
    await run("patching");
    const [source, target] = [await input("source"), await input("target")];
    const chips = await page.$$eval("[data-testid=source-chips] .chip", (c) => c.length);
    assert.equal(chips, hm.toTokens(source)[0]?.length);
    const sweep = patchAcrossLayers(hm, {
      source,
      target,
      sourcePosition: Number(await input("sourcePosition")),
      targetPosition: Number(await input("targetPosition")),
      site: "resid_post",
      k: 3,
    });
    const rows = await page.$$eval("[data-testid=layer-sweep] tr[data-top]", (trs) =>
      trs.map((tr) => ({ top: Number(tr.getAttribute("data-top")), changed: tr.classList.contains("changed") })),
    );
    assert.deepEqual(
      rows,
      sweep.layers.map((l) => ({ top: l.top[0]?.id, changed: l.changed })),
    );
    await page.waitForSelector(".sweep svg.grid");
    const full = activationPatching(hm, {
      clean: source,
      corrupted: target,
      site: "resid_post",
      metric: { kind: "logitDiff", answer: await input("answer"), wrong: await input("wrong") },
    });
    assert.deepEqual(await gridValues(".sweep svg.grid"), full.normalized);
    // Clicking a chip picks the position.
    await page.click('[data-testid=target-chips] .chip[data-position="2"]');
    assert.equal(await input("targetPosition"), "2");
    await shot("activation-patching");
  });

  test("mean-ablation heatmap: streamed rows are the library's sweep, per position and per head", async () => {
    await run("ablation");
    const prompt = await input("prompt");
    const tokens = hm.toTokens(prompt)[0] as number[];
    const baseline = Number(await page.getAttribute("[data-testid=ablation-baseline]", "data-baseline"));
    const direct = ablation(hm, { prompt: [tokens], site: "resid_post", kind: "mean" });
    assert.equal(baseline, direct.baseline);
    assert.deepEqual(await gridValues(".figure svg.grid"), direct.effect);
    await shot("mean-ablation");

    await page.selectOption('[name="site"]', "z");
    await page.click("button.run");
    await page.waitForSelector('[data-explorer="ablation"][data-state="done"]', { timeout: 120_000 });
    const perHead = ablation(hm, { prompt: [tokens], site: "z", kind: "mean" });
    assert.deepEqual(await gridValues(".figure svg.grid"), perHead.effect);
  });

  test("steering: the vector's norm and the three streamed texts are compareSteering's", async () => {
    await run("steering", "keys");
    const lines = async (name: string) => (await input(name)).split("\n");
    const [positives, negatives, prompt] = [await lines("positives"), await lines("negatives"), await input("prompt")];
    const layer = Number(await input("layer"));
    assert.equal(await input("preset"), "Jesus vs Moses");
    const vector = steeringVector(hm, positives, negatives, { layer, at: "last" });
    const fact = (name: string) =>
      page.getAttribute(`[data-testid=steering-vector] [data-fact="${name}"]`, "data-value");
    assert.equal(Number(await fact("norm")), vector.norm);
    assert.equal(Number(await fact("residualNorm")), vector.residualNorm);
    assert.equal(Number(await fact("suggestedAlpha")), vector.suggestedAlpha);
    const direct = compareSteering(hm, prompt, vector, { maxTokens: Number(await input("maxTokens")) });
    const shown = await page.$$eval("svg.text-columns g.text-column", (columns) =>
      columns.map((g) => ({
        text: g.getAttribute("data-text"),
        frame: g.querySelector("rect")?.getAttribute("stroke"),
      })),
    );
    assert.deepEqual(
      shown.map((c) => c.text),
      direct.generations.map((g) => g.text),
    );
    assert.deepEqual(
      shown.map((c) => c.frame),
      ["#c0392b", "#8a8a8f", "#2a7c4f"],
      "red, grey and green frames",
    );
    await shot("steering");
    // The data as JSON is the comparison's generations; the suggested alpha button fills the alpha.
    const [json] = await Promise.all([page.waitForEvent("download"), page.click("button.export-json")]);
    const saved = JSON.parse(readFileSync(await json.path(), "utf8"));
    assert.deepEqual(saved.generations, JSON.parse(JSON.stringify(direct.generations)));
    await page.click("button.use-suggested");
    assert.equal(await input("alpha"), String(vector.suggestedAlpha));
    // The address holds the inputs: opened again, it restores them.
    const address = page.url();
    await page.goto(`${server.url}/#/`);
    await page.goto(address);
    await page.waitForSelector('[data-explorer="steering"]');
    assert.deepEqual(await lines("positives"), positives);
    assert.equal(await input("alpha"), String(vector.suggestedAlpha));
    // Another preset fills the sets; editing a set makes them custom.
    await page.selectOption('[name="preset"]', "Love vs war");
    assert.match(await input("positives"), /love/);
    assert.equal(await input("layer"), "1");
    await page.fill('[name="negatives"]', "And they fought against the city,");
    assert.equal(await input("preset"), "custom");
  });

  test("steering: Esc stops the streamed generations on the model's thread", async () => {
    await page.goto(`${server.url}/#/steering?maxTokens=512&temperature=1&seed=2`);
    await page.waitForSelector('[data-explorer="steering"]');
    await page.click("button.run");
    await page.waitForFunction(
      () => (document.querySelector('g.text-column[data-index="0"]')?.getAttribute("data-text") ?? "").length > 0,
    );
    const ended = server.outcomes.findLast((o) => o.kind === "steering");
    await page.keyboard.press("Escape");
    await page.waitForSelector('[data-explorer="steering"][data-state="stopped"]');
    for (let i = 0; i < 500 && server.outcomes.findLast((o) => o.kind === "steering") === ended; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const stopped = server.outcomes.findLast((o) => o.kind === "steering");
    assert.equal(stopped?.ended, "stopped");
    assert.ok((stopped?.chunks ?? 0) < 512, `stopped early (${stopped?.chunks} chunks)`);
  });

  test("binding: offers its fixture, and the bars are bindingMechanisms' fractions on it", async () => {
    const fixture = join(ROOT, "fixtures", "entity-binding");
    const hb = await HookedModel.fromPretrained(fixture);
    try {
      await page.goto(`${server.url}/#/binding?pairs=16&seed=1&groups=4%2C+5&site=resid_pre&layers=&threshold=0.5`);
      await page.click("button.load-fixture");
      await page.waitForFunction(() => document.querySelector("button.load-fixture") === null);
      assert.equal(server.slot.state.model?.path, fixture);
      await page.click("button.run");
      await page.waitForSelector('[data-explorer="binding"][data-state="done"]', { timeout: 120_000 });
      assert.equal(await page.getAttribute('[data-explorer="binding"]', "data-error"), null);
      const direct = bindingMechanisms(hb, { pairs: 16, seed: 1, groups: [4, 5], site: "resid_pre", threshold: 0.5 });
      const shown = await page.$$eval("svg.bars g.segment", (segments) => {
        const rows: Record<string, number>[] = [];
        for (const g of segments) {
          const r = Number(g.getAttribute("data-row"));
          rows[r] ??= {};
          (rows[r] as Record<string, number>)[g.getAttribute("data-segment") as string] = Number(
            g.getAttribute("data-value"),
          );
        }
        return rows;
      });
      assert.deepEqual(
        shown,
        direct.layers.map((l) => l.fractions),
      );
      const fits = await page.$$eval("[data-testid=binding-fits] tr[data-layer] td:nth-child(7)", (tds) =>
        tds.map((td) => td.textContent),
      );
      assert.deepEqual(
        fits,
        direct.layers.map((l) => l.fit?.jsDistance.toFixed(3)),
      );
      await page.click(".pair-list summary");
      const clean = await page.$$eval("[data-testid=binding-pairs] tr td:nth-child(2)", (tds) =>
        tds.map((td) => td.textContent),
      );
      assert.deepEqual(
        clean,
        direct.pairs.map((p) => p.original.text),
      );
      await page.hover('svg.bars g.segment[data-row="3"][data-segment="lexical"]');
      assert.match((await page.textContent("svg.bars .readout")) ?? "", /lexical \d+\.\d%/);
      await shot("binding-mechanisms");
      // Exports: the figure as PNG, a CSV row per layer.
      const [png] = await Promise.all([page.waitForEvent("download"), page.click("button.export-png")]);
      assert.deepEqual([...readFileSync(await png.path()).subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG file");
      const [csv] = await Promise.all([page.waitForEvent("download"), page.click("button.export-csv")]);
      assert.equal(readFileSync(await csv.path(), "utf8").split("\r\n").length, 1 + direct.layers.length);
    } finally {
      hb.model.dispose();
      // The model the other tests use, back.
      await fetch(`${server.url}/api/model`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: TINY }),
      });
    }
    assert.equal(server.slot.state.model?.path, TINY);
  });

  test("no page threw", () => {
    assert.deepEqual(pageErrors, []);
  });

  test("dark mode switches the page's colours", async () => {
    await page.goto(`${server.url}/#/`);
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.click("#theme");
    assert.notEqual(await background(), light);
    await page.click("#theme");
  });
});
