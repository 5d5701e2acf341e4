// A Hub model downloaded and loaded from the model picker (POST /api/download), against a local fake
// Hub serving the tiny fixture slowly: progress chunks that only grow, health and other explorers
// answered during the download, then the model loaded and answering a lens request equal to the
// library's; a cancel leaves nothing in the cache; a 404 and a refused connection give plain errors
// while the previous model keeps serving.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HookedModel, logitLens } from "mlux";
import { repoFolder } from "../../src/load/hub-cache.ts";
import type { DownloadChunk, Health, ModelInfo, ModelState, StreamEvent } from "../../src/server/protocol.ts";
import { type RunningServer, startServer } from "../../src/server/start.ts";
import { type FakeHub, refusedUrl, startFakeHub, withUnsupportedType } from "../load/fake-hub.ts";
import { events, FIXTURES, get, post, resultOf, TINY, until } from "./client.ts";

const FIRST = `${FIXTURES}tiny-lm-4bit`;
const cacheDir = mkdtempSync(join(tmpdir(), "mlux-serve-hub-"));
let hub: FakeHub;
let server: RunningServer;
const savedCache = process.env.HF_HUB_CACHE;

before(async () => {
  // The model's thread loads from the cache this names (the HTTP thread downloads into it).
  process.env.HF_HUB_CACHE = cacheDir;
  // 64 KiB pieces 3 ms apart: the 11 MB fixture takes about half a second, time to ask for health.
  hub = await startFakeHub(
    { "org/tiny-lm": TINY, "org/tiny-lm-2": TINY, "org/bert": withUnsupportedType(TINY) },
    { pieceBytes: 64 * 1024, pieceDelayMs: 3 },
  );
  server = await startServer({ model: FIRST, port: 0, hubUrl: hub.url });
});

after(async () => {
  await server.close();
  await hub.close();
  if (savedCache === undefined) delete process.env.HF_HUB_CACHE;
  else process.env.HF_HUB_CACHE = savedCache;
});

/** Posts a download and reads its stream, calling `onEvent` on each event as it comes. */
async function download(
  base: string,
  model: string,
  onEvent: (event: StreamEvent, abort: () => void) => Promise<void> | void = () => {},
): Promise<StreamEvent[]> {
  const controller = new AbortController();
  const seen: StreamEvent[] = [];
  try {
    const response = await fetch(`${base}/api/download`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model }),
      signal: controller.signal,
    });
    assert.equal(response.status, 200, await (response.status === 200 ? "" : response.text()));
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const end = text.lastIndexOf("\n\n");
      if (end < 0) continue;
      for (const event of events(text.slice(0, end + 2))) {
        seen.push(event);
        await onEvent(event, () => controller.abort());
      }
      text = text.slice(end + 2);
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return seen;
}

const progressOf = (list: StreamEvent[]) =>
  list.flatMap((e) => (e.type === "chunk" ? [(e.data as DownloadChunk).download] : []));

describe("a Hub id in the model picker", () => {
  test("downloads with growing progress while health and the lens answer, then loads and serves the model", async () => {
    let healthDuring: Health | undefined;
    let lensDuring: unknown;
    const list = await download(server.url, "org/tiny-lm", async (event) => {
      if (event.type === "chunk" && healthDuring === undefined) {
        healthDuring = (await get(server.url, "/api/health")).body as Health;
        lensDuring = resultOf(await post(server.url, "/api/run/lens", { prompt: "In the", probes: ["resid"], k: 1 }));
      }
    });
    const progress = progressOf(list);
    assert.ok(progress.length >= 3, `${progress.length} progress chunks`);
    const totalBytes = progress[0]?.totalBytes as number;
    progress.forEach((p, i) => {
      const previous = progress[i - 1];
      assert.ok(previous === undefined || (p.bytes >= previous.bytes && p.filesDone >= previous.filesDone));
      assert.equal(p.totalBytes, totalBytes);
    });
    assert.equal(progress.at(-1)?.bytes, totalBytes);
    // Health and an explorer were answered mid-download, by the model serving then.
    assert.equal(healthDuring?.model, FIRST);
    assert.ok(lensDuring !== undefined);
    const loaded = list.find((e) => e.type === "result");
    assert.equal(loaded?.type === "result" && (loaded.data as ModelInfo).name, "org/tiny-lm");
    assert.equal(((await get(server.url, "/api/model")).body as ModelState).model?.name, "org/tiny-lm");
    // It is in the cache now, listed by the picker.
    const models = (await get(server.url, "/api/models")).body as { model: string }[];
    assert.ok(models.some((m) => m.model === "org/tiny-lm"));

    const prompt = "In the beginning God created";
    const served = resultOf(await post(server.url, "/api/run/lens", { prompt, k: 3 }));
    const hm = await HookedModel.fromPretrained(TINY);
    try {
      assert.deepEqual(served, JSON.parse(JSON.stringify(logitLens(hm, prompt, { k: 3 }).toJSON())));
    } finally {
      hm.model.dispose();
    }
  });

  test("a model already in the cache loads from there without asking the Hub", async () => {
    const asked = hub.requests.length;
    const list = await download(server.url, "org/tiny-lm");
    assert.deepEqual(hub.requests.slice(asked), []);
    assert.deepEqual(progressOf(list), []);
    const loaded = list.find((e) => e.type === "result");
    assert.equal(loaded?.type === "result" && (loaded.data as ModelInfo).name, "org/tiny-lm");
  });

  test("a cancel mid-download leaves nothing of it in the cache, and the model serving stays", async () => {
    const before = ((await get(server.url, "/api/model")).body as ModelState).model?.name;
    const list = await download(server.url, "org/tiny-lm-2", (event, abort) => {
      if (event.type === "chunk") abort();
    });
    assert.ok(progressOf(list).length >= 1);
    const folder = repoFolder("org/tiny-lm-2", cacheDir);
    // The folder goes in one removal, after the file being written was closed: once gone, it stays gone.
    await until(() => !existsSync(folder), "the partial download to be removed");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(!readdirSync(cacheDir).includes("models--org--tiny-lm-2"));
    assert.equal(((await get(server.url, "/api/model")).body as ModelState).model?.name, before);
  });

  test("an unknown repository: a 404 said plainly; the previous model keeps serving", async () => {
    const before = ((await get(server.url, "/api/model")).body as ModelState).model?.name;
    const list = await download(server.url, "org/missing");
    const error = list.find((e) => e.type === "error");
    assert.match(error?.type === "error" ? error.message : "", /org\/missing was not found on the Hub at .* \(404\)/);
    assert.equal(((await get(server.url, "/api/model")).body as ModelState).model?.name, before);
    assert.ok(resultOf(await post(server.url, "/api/run/lens", { prompt: "In the", probes: ["resid"], k: 1 })));
  });

  test("an architecture mlux does not run: refused after config.json, no weights fetched; the model serving stays", async () => {
    const before = ((await get(server.url, "/api/model")).body as ModelState).model?.name;
    const asked = hub.requests.length;
    const list = await download(server.url, "org/bert");
    const error = list.find((e) => e.type === "error");
    assert.match(
      error?.type === "error" ? error.message : "",
      /^org\/bert: model_type "bert" is not supported; supported: /,
    );
    const files = hub.requests.slice(asked).filter((r) => r.includes("/resolve/"));
    assert.deepEqual(
      files.map((r) => r.split("/").pop()),
      ["config.json"],
    );
    assert.ok(!readdirSync(cacheDir).includes("models--org--bert"));
    assert.equal(((await get(server.url, "/api/model")).body as ModelState).model?.name, before);
  });

  test("a Hub that refuses connections: the error says this machine cannot reach it", async () => {
    const offline = await startServer({ model: FIRST, port: 0, hubUrl: await refusedUrl() });
    try {
      const list = await download(offline.url, "org/tiny-lm-2");
      const error = list.find((e) => e.type === "error");
      assert.match(
        error?.type === "error" ? error.message : "",
        /cannot reach the Hub at http:\/\/127.0.0.1:\d+ .*\(ECONNREFUSED\): this machine has no connection to it/,
      );
      assert.equal(((await get(offline.url, "/api/model")).body as ModelState).model?.name, FIRST);
    } finally {
      await offline.close();
    }
  });

  test("bad ids are refused before anything is fetched", async () => {
    const answer = await post(server.url, "/api/download", { model: "../etc" });
    assert.equal(answer.status, 400);
    assert.match((answer.body as { error: string }).error, /"\.\.\/etc" is not a Hub id like "owner\/name"/);
    const spaces = await post(server.url, "/api/download", { model: "a b/c" });
    assert.equal(spaces.status, 400);
    assert.match((spaces.body as { error: string }).error, /must match pattern/);
  });
});
