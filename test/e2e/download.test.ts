/// <reference lib="dom" />
// The model picker's Hub id in a real browser (Debian's Chromium driven by playwright-core), against
// a local fake Hub serving the tiny fixture slowly: the progress bar moves, the model loads and the
// facts show it; Cancel stops the download and leaves nothing in the cache; an unknown id shows the
// Hub's 404 plainly while the model keeps serving. A screenshot goes to test-artifacts/screenshots/.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type RunningServer, startServer } from "../../src/server/start.ts";
import { type FakeHub, startFakeHub } from "../load/fake-hub.ts";
import { openPage, preparePages, ROOT, SHOTS, TINY } from "./browser.ts";

const FIRST = join(ROOT, "fixtures", "tiny-lm-4bit");
const cacheDir = mkdtempSync(join(tmpdir(), "mlux-e2e-hub-"));
const savedCache = process.env.HF_HUB_CACHE;

let hub: FakeHub;
let server: RunningServer;
let browser: Browser;
let page: Page;
let pageErrors: string[] = [];

before(async () => {
  preparePages();
  process.env.HF_HUB_CACHE = cacheDir;
  // 64 KiB pieces 10 ms apart: the 11 MB fixture takes about 2 s, so the bar is seen moving.
  hub = await startFakeHub({ "org/tiny-lm": TINY, "org/tiny-lm-2": TINY }, { pieceBytes: 64 * 1024, pieceDelayMs: 10 });
  server = await startServer({ model: FIRST, port: 0, hubUrl: hub.url });
  ({ browser, page, pageErrors } = await openPage());
});

after(async () => {
  await browser?.close();
  await server?.close();
  await hub?.close();
  if (savedCache === undefined) delete process.env.HF_HUB_CACHE;
  else process.env.HF_HUB_CACHE = savedCache;
});

async function openHome(): Promise<void> {
  await page.goto(`${server.url}/#/`);
  await page.waitForSelector('[data-fact="layers"]');
}

describe("the model picker's Hub id in Chromium", () => {
  test("download with a moving progress bar, then the model loads and its facts show", async () => {
    await openHome();
    await page.fill('input[name="hub"]', "org/tiny-lm");
    await page.click('.picker.hub button[type="submit"]');
    // Part-way: the bar is visible and between 0 and 1.
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>("progress.download");
      return bar !== null && !bar.hidden && bar.value > 0 && bar.value < 1;
    });
    assert.match((await page.textContent(".download-status")) ?? "", /\(file \d of \d+\) · [\d.]+ MiB of [\d.]+ MiB/);
    await page.screenshot({ path: join(SHOTS, "command-center-download.png"), fullPage: true });
    await page.waitForFunction(() => document.querySelector(".download-status")?.textContent === "loaded org/tiny-lm");
    await page.waitForFunction(() => document.querySelector('[data-fact="name"]')?.textContent === "org/tiny-lm");
    assert.equal(server.slot.state.model?.name, "org/tiny-lm");
    assert.ok(await page.isHidden("progress.download"));
  });

  test("Cancel stops the download and leaves nothing in the cache; the model keeps serving", async () => {
    await openHome();
    const serving = server.slot.state.model?.name;
    await page.fill('input[name="hub"]', "org/tiny-lm-2");
    await page.click('.picker.hub button[type="submit"]');
    await page.waitForFunction(
      () => (document.querySelector<HTMLProgressElement>("progress.download")?.value ?? 0) > 0,
    );
    await page.click(".picker.hub button.cancel");
    await page.waitForFunction(() => document.querySelector(".download-status")?.textContent === "cancelled");
    const folder = join(cacheDir, "models--org--tiny-lm-2");
    for (let i = 0; i < 500 && existsSync(folder); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(!readdirSync(cacheDir).includes("models--org--tiny-lm-2"), "the partial download is gone");
    assert.equal(server.slot.state.model?.name, serving);
  });

  test("an unknown id shows the Hub's 404 plainly, and the model keeps serving", async () => {
    await openHome();
    const serving = server.slot.state.model?.name;
    await page.fill('input[name="hub"]', "org/missing");
    await page.click('.picker.hub button[type="submit"]');
    await page.waitForFunction(() => (document.querySelector(".model-card .error")?.textContent ?? "").length > 0);
    assert.match(
      (await page.textContent(".model-card .error")) ?? "",
      /org\/missing was not found on the Hub at http:\/\/127\.0\.0\.1:\d+ \(404\)/,
    );
    assert.equal(await page.textContent('[data-fact="name"]'), serving);
    assert.deepEqual(pageErrors, []);
  });
});
