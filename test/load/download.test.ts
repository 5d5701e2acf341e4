// Downloading from a local fake Hub: progress that only grows and ends at the total, a cancel that
// leaves nothing in the cache, and a Hub that stops answering failing after the timeout, plainly.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DownloadError, type DownloadProgress, downloadModel } from "../../src/load/download.ts";
import { repoFolder } from "../../src/load/hub-cache.ts";
import { loadModel } from "../../src/models/load.ts";
import { type FakeHub, startFakeHub, withUnsupportedType } from "./fake-hub.ts";

const TINY = fileURLToPath(new URL("../../fixtures/tiny-lm-f16", import.meta.url));
let slow: FakeHub;
let stalled: FakeHub;
let withBert: FakeHub;
let brokenConfig: FakeHub;

before(async () => {
  // 64 KiB pieces 2 ms apart: the 11 MB fixture comes in ~170 pieces, so a cancel lands mid-file.
  slow = await startFakeHub({ "org/tiny-lm": TINY }, { pieceBytes: 64 * 1024, pieceDelayMs: 2 });
  stalled = await startFakeHub({ "org/tiny-lm": TINY }, { stallBodies: true });
  withBert = await startFakeHub({ "org/bert": withUnsupportedType(TINY) });
  const broken = withUnsupportedType(TINY);
  writeFileSync(join(broken, "config.json"), '{"model_type": "llama",');
  brokenConfig = await startFakeHub({ "org/broken": broken });
});
after(async () => {
  await slow.close();
  await stalled.close();
  await withBert.close();
  await brokenConfig.close();
});

describe("downloadModel", () => {
  test("progress: bytes only grow, per file and overall, and end at the total; the files are the fixture's", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-dl-"));
    const events: DownloadProgress[] = [];
    const snapshot = await downloadModel("org/tiny-lm", {
      cacheDir,
      hubUrl: slow.url,
      onProgress: (p) => events.push({ ...p }),
    });
    assert.ok(events.length > 50, `${events.length} progress events`);
    const total = events[0]?.totalBytes as number;
    events.forEach((e, i) => {
      const previous = events[i - 1];
      assert.equal(e.totalBytes, total);
      assert.ok(e.fileBytes <= e.fileTotal && e.bytes <= total, JSON.stringify(e));
      if (previous !== undefined) {
        assert.ok(e.bytes >= previous.bytes && e.filesDone >= previous.filesDone, `event ${i} went back`);
        if (e.file === previous.file) assert.ok(e.fileBytes >= previous.fileBytes, `event ${i}: ${e.file} went back`);
      }
    });
    const last = events.at(-1) as DownloadProgress;
    assert.equal(last.bytes, total);
    assert.equal(last.filesDone, last.filesTotal);
    for (const file of readdirSync(TINY).filter((f) => f !== "README.md")) {
      assert.deepEqual(readFileSync(join(snapshot, file)), readFileSync(join(TINY, file)), file);
    }
    assert.ok(!existsSync(join(snapshot, "README.md")), "README.md is not a model file");
  });

  test("a cancel mid-file stops the download and leaves nothing in the cache", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-dl-cancel-"));
    const controller = new AbortController();
    let seen: DownloadProgress | undefined;
    const download = downloadModel("org/tiny-lm", {
      cacheDir,
      hubUrl: slow.url,
      signal: controller.signal,
      onProgress: (p) => {
        seen = p;
        if (p.fileBytes > 0 && p.fileBytes < p.fileTotal && p.fileTotal > 1_000_000) controller.abort();
      },
    });
    await assert.rejects(download, (error: unknown) => {
      assert.ok(error instanceof DownloadError && error.kind === "cancelled", String(error));
      assert.match(error.message, /cancelled; nothing of it is left in the cache/);
      return true;
    });
    assert.ok(seen !== undefined && seen.bytes < seen.totalBytes, "it stopped part-way");
    assert.ok(!existsSync(repoFolder("org/tiny-lm", cacheDir)), "no folder, blob or .incomplete file is left");
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test("a Hub that stops sending fails after the timeout with a plain reason, leaving nothing", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-dl-stall-"));
    await assert.rejects(downloadModel("org/tiny-lm", { cacheDir, hubUrl: stalled.url, timeoutMs: 300 }), (error) => {
      assert.ok(error instanceof DownloadError && error.kind === "unreachable", String(error));
      assert.match(
        error.message,
        /did not answer within 0.3 s while downloading the files for org\/tiny-lm: this machine cannot reach it/,
      );
      return true;
    });
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test("a cache that cannot be written: a disk error that names the path, not a network one", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "mlux-dl-disk-")), "a-file");
    writeFileSync(file, "not a folder");
    await assert.rejects(downloadModel("org/tiny-lm", { cacheDir: join(file, "hub"), hubUrl: slow.url }), (error) => {
      assert.ok(error instanceof DownloadError && error.kind === "disk", String(error));
      assert.match(
        error.message,
        /cannot write org\/tiny-lm into the cache at .*a-file.* \(ENOTDIR: a file stands where a folder is needed\)/,
      );
      return true;
    });
  });

  test("an architecture mlux does not run stops after config.json: no weights fetched, nothing left", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-dl-bert-cache-"));
    const before = withBert.requests.length;
    await assert.rejects(loadModel("org/bert", { cacheDir, hubUrl: withBert.url }), (error) => {
      assert.ok(error instanceof DownloadError && error.kind === "unsupported", String(error));
      assert.match(error.message, /^org\/bert: model_type "bert" is not supported; supported: gemma, /);
      return true;
    });
    const files = withBert.requests.slice(before).filter((r) => r.includes("/resolve/"));
    assert.equal(files.length, 1, files.join("\n"));
    assert.match(files[0] as string, /\/config\.json$/);
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test("a config.json that is not JSON stops the download before the weights, saying so, leaving nothing", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "mlux-dl-broken-cache-"));
    await assert.rejects(loadModel("org/broken", { cacheDir, hubUrl: brokenConfig.url }), (error) => {
      assert.ok(error instanceof DownloadError && error.kind === "not-a-model", String(error));
      assert.match(error.message, /^org\/broken's config\.json is not valid JSON: /);
      return true;
    });
    const files = brokenConfig.requests.filter((r) => r.includes("/resolve/"));
    assert.deepEqual(
      files.map((r) => r.split("/").pop()),
      ["config.json"],
    );
    assert.deepEqual(readdirSync(cacheDir), []);
  });
});
