// The server's API on the shipped tiny model: every bad input gets its 4xx with a message that says
// what was wrong; foreign Hosts and Origins are refused and no CORS is granted; a client that goes
// away mid-stream stops its computation and the memory comes back; 20 clients at once are all
// answered, in turn; a failed model switch leaves the previous model serving.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { bindingMechanisms, compareSteering, HookedModel, logitLens, mx, steeringVector } from "mlux";
import type {
  BindingChunk,
  ErrorResponse,
  Health,
  ModelInfo,
  ModelState,
  SteeringChunk,
  SteeringResult,
  StreamEvent,
} from "../../src/server/protocol.ts";
import { type RunningServer, startServer } from "../../src/server/start.ts";
import { FIXTURES, get, post, resultOf, TINY, until } from "./client.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SWEEP_CELLS = 24; // lowered so a short prompt reaches it: 4 layers x 7 positions = 28 cells
let server: RunningServer;
let base: string;
let hm: HookedModel;

before(async () => {
  if (!existsSync(join(ROOT, "dist", "web", "index.html"))) {
    execFileSync(
      process.execPath,
      [join(ROOT, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "web/vite.config.ts"],
      { cwd: ROOT, stdio: "inherit" },
    );
  }
  server = await startServer({ model: TINY, port: 0, limits: { sweepCells: SWEEP_CELLS } });
  base = server.url;
  hm = await HookedModel.fromPretrained(TINY);
});

after(async () => {
  await server.close();
  hm.model.dispose();
});

/** A binding schema in the fixture's wording, for the bad ones to change. */
const BOXES = {
  name: "boxes",
  entities: ["apple", "pen", "key", "coin", "ring", "book", "cup", "hat", "shoe"],
  attributes: ["A", "B", "C", "D", "E"],
  statement: "The {entity} is in box {attribute}.",
  question: "Which box holds the {entity}? Box",
};

const errorOf = (body: unknown) => (body as ErrorResponse).error;

/** GET /api/health with a Host header of our choosing (fetch sets its own). */
function withHost(host: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ hostname, port, path: "/api/health", headers: { host } }, (response) => {
      let text = "";
      response.on("data", (chunk) => {
        text += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on("error", reject);
    request.end();
  });
}

/** MLX's active memory once dropped arrays are released: a collection notes them, and the next
 * addon call frees them (so the first read may still count them). */
function settledMemory(): number {
  globalThis.gc?.();
  let bytes = mx.memory.activeMemory();
  for (let i = 0; i < 10; i++) {
    globalThis.gc?.();
    const next = mx.memory.activeMemory();
    if (next === bytes) return next;
    bytes = next;
  }
  return bytes;
}

describe("bad input", () => {
  const cases: [string, string, unknown, number, RegExp][] = [
    ["malformed JSON", "/api/run/lens", '{"prompt": "In the', 400, /malformed JSON/],
    ["an empty body", "/api/run/lens", "", 400, /empty/],
    ["a missing field", "/api/run/lens", {}, 400, /must have required property 'prompt'/],
    ["a field of the wrong type", "/api/run/lens", { prompt: 3 }, 400, /prompt must be string/],
    ["an unknown field", "/api/run/lens", { prompt: "In", extra: 1 }, 400, /additional properties/],
    ["an unknown probe", "/api/run/lens", { prompt: "In", probes: ["nope"] }, 400, /probes/],
    [
      "a prompt over the token limit",
      "/api/run/lens",
      { prompt: "the ".repeat(300) },
      400,
      /over the limit of 256 tokens/,
    ],
    [
      "too many generated tokens",
      "/api/run/generate",
      { prompt: "In", maxTokens: 5000 },
      400,
      /limit of 512 generated tokens/,
    ],
    [
      "a top k past the vocabulary",
      "/api/run/generate",
      { prompt: "In", topK: 4096 },
      400,
      /below the vocabulary size \(4096\)/,
    ],
    ["a negative temperature", "/api/run/generate", { prompt: "In", temperature: -1 }, 400, /temperature must be >= 0/],
    [
      "an attention prompt past its limit",
      "/api/run/attention",
      { prompt: "the ".repeat(70) },
      400,
      /limit of 64 tokens/,
    ],
    ["a head-detector run too large", "/api/run/heads", { batch: 64, repeatLength: 256 }, 400, /limit of 8192 tokens/],
    [
      "a sweep over its cell limit",
      "/api/run/ablation",
      { prompt: "In the beginning God created the" },
      400,
      new RegExp(`over the limit of ${SWEEP_CELLS} cells`),
    ],
    [
      "a patch position past the prompt",
      "/api/run/patch-layers",
      { source: "In the", target: "In the", sourcePosition: 9, targetPosition: 0 },
      400,
      /sourcePosition 9 is past the source's last token \(2\)/,
    ],
    [
      "patching prompts of different lengths",
      "/api/run/patch-sweep",
      { clean: "In the", corrupted: "In the beginning", answer: " God", wrong: " the" },
      400,
      /same length in tokens/,
    ],
    [
      "a steering set with no prompt",
      "/api/run/steering",
      { prompt: "In", positives: [], negatives: ["And Moses said"] },
      400,
      /positives must NOT have fewer than 1 items/,
    ],
    [
      "a steering layer past the model's last",
      "/api/run/steering",
      { prompt: "In", positives: ["Jesus"], negatives: ["Moses"], layer: 4 },
      400,
      /layer 4 is past the model's last layer: give 0 to 3/,
    ],
    [
      "too many steering prompts",
      "/api/run/steering",
      { prompt: "In", positives: Array(33).fill("Jesus"), negatives: ["Moses"] },
      400,
      /positives has 33 prompts, over the limit of 32 prompts per set/,
    ],
    [
      "a steering prompt over the token limit",
      "/api/run/steering",
      { prompt: "In", positives: ["Jesus"], negatives: ["the ".repeat(300)] },
      400,
      /negatives\[0\] is \d+ tokens, over the limit of 256 tokens/,
    ],
    [
      "a steering alpha of 0",
      "/api/run/steering",
      { prompt: "In", positives: ["Jesus"], negatives: ["Moses"], alpha: 0 },
      400,
      /alpha must be > 0/,
    ],
    [
      "too many steered tokens",
      "/api/run/steering",
      { prompt: "In", positives: ["Jesus"], negatives: ["Moses"], maxTokens: 600 },
      400,
      /maxTokens 600 is over the limit of 512 generated tokens/,
    ],
    [
      "an unknown steering position",
      "/api/run/steering",
      { prompt: "In", positives: ["Jesus"], negatives: ["Moses"], positions: "first" },
      400,
      /positions must be equal to constant/,
    ],
    ["too many binding pairs", "/api/run/binding", { pairs: 1000 }, 400, /pairs 1000 is over the limit of 256/],
    ["binding prompts of 3 facts", "/api/run/binding", { groups: [3] }, 400, /groups\/0 must be >= 4/],
    [
      "a binding layer past the model's last",
      "/api/run/binding",
      { layers: [0, 9] },
      400,
      /layers: 9 is past the model's last layer/,
    ],
    [
      "a binding schema whose answers are not one token",
      "/api/run/binding",
      {
        schema: {
          ...BOXES,
          name: "rooms",
          attributes: ["kitchen", "cellar", "attic", "garden", "porch"],
          statement: "The {entity} is in the {attribute}.",
          answer: " {attribute}",
        },
      },
      400,
      /schema: schema "rooms": the answer " \w+" is \d+ tokens/,
    ],
    [
      "a binding schema without {entity}",
      "/api/run/binding",
      { schema: { ...BOXES, name: "broken", statement: "It is in box {attribute}." } },
      400,
      /statement must contain \{entity\} and \{attribute\}/,
    ],
    ["an unknown binding field", "/api/run/binding", { pairs: 4, facts: 4 }, 400, /additional properties/],
    ["a chat template the model lacks", "/api/chat-template", { prompt: "In" }, 400, /has no chat template/],
    [
      "tokenizing past the prompt limit",
      "/api/tokenize",
      { prompt: "the ".repeat(300) },
      400,
      /over the limit of 256 tokens/,
    ],
    ["an unknown computation", "/api/run/nope", { prompt: "In" }, 404, /no route POST \/api\/run\/nope/],
    ["an unknown model folder", "/api/model", { model: "/no/such/folder" }, 404, /no folder at \/no\/such\/folder/],
    [
      "a Hub id not in the cache",
      "/api/model",
      { model: "nobody/no-such-model" },
      404,
      /not in the Hugging Face cache/,
    ],
    ["a folder that is not a checkpoint", "/api/model", { model: FIXTURES }, 404, /holds no config.json/],
  ];
  for (const [what, path, body, status, message] of cases) {
    test(`${what}: ${status}`, async () => {
      const answer = await post(base, path, body);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.match(errorOf(answer.body), message);
    });
  }

  test("a body over the size limit: 413 with the limit", async () => {
    const answer = await post(base, "/api/run/lens", { prompt: "x".repeat(70 * 1024) });
    assert.equal(answer.status, 413);
    assert.match(errorOf(answer.body), /over the limit of 65536 bytes/);
  });

  test("a body that is not JSON: 415", async () => {
    const answer = await post(base, "/api/run/lens", "prompt=In", { "content-type": "text/plain" });
    assert.equal(answer.status, 415);
    assert.match(errorOf(answer.body), /as JSON/);
  });

  test("after all of these, the server still computes", async () => {
    const answer = await post(base, "/api/run/lens", { prompt: "In the beginning", probes: ["resid"], k: 1 });
    assert.equal(answer.status, 200);
    assert.ok(resultOf(answer));
  });
});

describe("Host and Origin", () => {
  test("a foreign Host is refused (DNS rebinding)", async () => {
    const port = new URL(base).port;
    for (const host of [`evil.example:${port}`, "127.0.0.1:1", `127.0.0.1.nip.io:${port}`]) {
      const answer = await withHost(host);
      assert.equal(answer.status, 403, host);
      assert.match(answer.text, /is not this server's/);
    }
    assert.equal((await withHost(`localhost:${port}`)).status, 200);
  });

  test("a foreign Origin may not post; the server's own may", async () => {
    for (const origin of ["http://evil.example", "null", base.replace("127.0.0.1", "localhost")]) {
      const answer = await post(base, "/api/run/lens", { prompt: "In" }, { origin });
      assert.equal(answer.status, 403, origin);
      assert.match(errorOf(answer.body), /may not call this server/);
    }
    const own = await post(base, "/api/tokenize", { prompt: "In" }, { origin: base });
    assert.equal(own.status, 200);
  });

  test("no CORS is granted, also to a preflight", async () => {
    const health = await get(base, "/api/health", { origin: "http://evil.example" });
    assert.equal(health.headers.get("access-control-allow-origin"), null);
    const preflight = await fetch(`${base}/api/run/lens`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
    assert.ok(preflight.status >= 400, `a preflight is not approved (got ${preflight.status})`);
  });

  test("there is no shutdown endpoint", async () => {
    for (const path of ["/shutdown", "/api/shutdown"]) {
      assert.equal((await post(base, path, {})).status, 404, path);
    }
    assert.equal((await get(base, "/api/health")).status, 200);
  });
});

describe("streams and the queue", () => {
  test("a client that goes away mid-generation stops it, and the memory comes back", async () => {
    // Warm up: the first generation allocates what every later one reuses (compiled kernels, cache).
    resultOf(await post(base, "/api/run/generate", { prompt: "In the beginning", maxTokens: 4 }));
    const before = settledMemory();
    const controller = new AbortController();
    const response = await fetch(`${base}/api/run/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "In the beginning", maxTokens: 512 }),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while ((text.match(/"type":"chunk"/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const busy = (await get(base, "/api/health")).body as Health;
    assert.equal(busy.busy, true, "health is answered while the generation runs");
    controller.abort();
    await until(() => server.outcomes.some((o) => o.kind === "generate" && o.ended === "stopped"), "the stop");
    const stopped = server.outcomes.findLast((o) => o.kind === "generate") as (typeof server.outcomes)[number];
    assert.equal(stopped.ended, "stopped");
    assert.ok(stopped.chunks < 512, `the generation ended early (${stopped.chunks} pieces sent)`);
    await until(async () => !((await get(base, "/api/health")).body as Health).busy, "the queue to empty");
    // Exact: the stopped generation's KV cache, sampler and logits are all released.
    assert.equal(settledMemory(), before);
  });

  test("health and static files are answered while the model's thread is inside one long computation", async (t) => {
    // The head detectors run as one synchronous call on this thread (the model's): nothing here can
    // answer a request until it returns. A poller on another thread asks for health and the page all
    // along; answers that say "busy" came from the HTTP thread while this thread computed.
    const poller = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       let stop = false, busy = 0, pages = 0;
       parentPort.on("message", () => { stop = true; });
       (async () => {
         while (!stop) {
           const health = await (await fetch(workerData + "/api/health")).json();
           if (health.busy) {
             busy++;
             if ((await fetch(workerData + "/")).status === 200) pages++;
           }
           await new Promise((resolve) => setTimeout(resolve, 5));
         }
         parentPort.postMessage({ busy, pages });
       })();`,
      { eval: true, workerData: base },
    );
    const counts = new Promise<{ busy: number; pages: number }>((resolve) => poller.once("message", resolve));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the poller is polling
    const answer = await post(base, "/api/run/heads", { batch: 8, repeatLength: 30 });
    assert.ok(resultOf(answer));
    poller.postMessage("stop");
    const { busy, pages } = await counts;
    await poller.terminate();
    t.diagnostic(`while busy: ${busy} health answers, ${pages} pages`);
    assert.ok(busy >= 2, `health answered ${busy} times while busy`);
    assert.ok(pages >= 1, `the page was served ${pages} times while busy`);
  });

  test("20 clients at once: all answered, in turn, each with its own prompt's lens", async () => {
    const words = ["In", "the", "beginning", "God", "created", "heaven", "and", "earth", "light", "darkness"];
    const prompts = Array.from(
      { length: 20 },
      (_, i) => `${words[i % 10]} ${words[(i * 3 + 1) % 10]} ${words[(i * 7 + 2) % 10]}`,
    );
    const answers = await Promise.all(
      prompts.map((prompt) => post(base, "/api/run/lens", { prompt, probes: ["resid"], k: 1 })),
    );
    const positions = answers.flatMap((a) =>
      (a.body as StreamEvent[]).flatMap((e) => (e.type === "queued" ? [e.position] : [])),
    );
    assert.ok(Math.max(...positions) >= 10, `clients saw their place in the queue (max ${Math.max(...positions)})`);
    answers.forEach((answer, i) => {
      assert.equal(answer.status, 200);
      const served = resultOf(answer) as ReturnType<ReturnType<typeof logitLens>["toJSON"]>;
      const direct = logitLens(hm, prompts[i] as string, { probes: ["resid"], k: 1 }).toJSON();
      assert.deepEqual(served.tokenIds, direct.tokenIds);
      // The same library call on the same weights: the same top tokens, probabilities to float32.
      const top = (g: typeof direct.grids) => g[0]?.cells.map((row) => row.map((cell) => cell[0]?.id));
      assert.deepEqual(top(served.grids), top(direct.grids));
      const probs = (g: typeof direct.grids) =>
        g[0]?.cells.flatMap((row) => row.map((cell) => cell[0]?.prob ?? 0)) ?? [];
      assert.deepEqual(probs(served.grids), probs(direct.grids));
    });
  });
});

describe("steering and binding", () => {
  const positives = ["And Jesus answered and said unto them,", "Then said Jesus unto his disciples,"];
  const negatives = ["And Moses said unto the people,", "Moses commanded us a law,"];
  const prompt = "And when he had said these things,";
  const chunksOf = (answer: { body: unknown }) =>
    (answer.body as StreamEvent[]).flatMap((e) => (e.type === "chunk" ? [e.data] : []));

  test("steering: the vector's facts and the three streamed texts are compareSteering's", async () => {
    for (const body of [
      { prompt, positives, negatives, layer: 2, maxTokens: 12 },
      // Sampled, steered at the generated tokens only, read as the mean over positions, alpha given.
      {
        prompt,
        positives,
        negatives,
        layer: 1,
        at: "mean" as const,
        alpha: 2.5,
        positions: "generated" as const,
        maxTokens: 10,
        temperature: 0.8,
        seed: 7,
      },
    ]) {
      const answer = await post(base, "/api/run/steering", body);
      const served = resultOf(answer) as SteeringResult;
      const vector = steeringVector(hm, positives, negatives, { layer: body.layer, at: body.at ?? "last" });
      const alpha = body.alpha ?? vector.suggestedAlpha;
      const direct = compareSteering(hm, prompt, vector, {
        alphas: [-alpha, 0, alpha],
        positions: body.positions ?? "all",
        maxTokens: body.maxTokens,
        ...(body.temperature === undefined ? {} : { temperature: body.temperature, seed: body.seed }),
      });
      assert.equal(served.steering.norm, vector.norm);
      assert.equal(served.steering.residualNorm, vector.residualNorm);
      assert.equal(served.steering.suggestedAlpha, vector.suggestedAlpha);
      assert.deepEqual(served.generations, direct.generations);
      // The streamed pieces of each column add up to its text, and the vector came first.
      const chunks = chunksOf(answer) as SteeringChunk[];
      assert.ok("vector" in (chunks[0] as SteeringChunk));
      const streamed = ["", "", ""];
      for (const c of chunks) if ("text" in c) streamed[c.index] += c.text;
      assert.deepEqual(
        streamed,
        direct.generations.map((g) => g.text),
      );
    }
  });

  test("steering: a client that goes away stops the generations on the model's thread", async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/run/steering`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt, positives, negatives, maxTokens: 512 }),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while ((text.match(/"index":0,"text"/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    await until(() => server.outcomes.some((o) => o.kind === "steering" && o.ended === "stopped"), "the stop");
    const stopped = server.outcomes.findLast((o) => o.kind === "steering") as (typeof server.outcomes)[number];
    // 3 x 512 pieces and the vector had it run to the end.
    assert.ok(stopped.chunks < 512, `the steering ended early (${stopped.chunks} chunks sent)`);
  });

  test("binding: the streamed layers and the result are bindingMechanisms' on the fixture; a stop ends it", async () => {
    const fixture = `${FIXTURES}entity-binding`;
    const binding = await startServer({ model: fixture, port: 0 });
    const hb = await HookedModel.fromPretrained(fixture);
    try {
      const options = { pairs: 12, seed: 3, groups: [4, 5, 6], site: "resid_post" as const, layers: [1, 3] };
      const answer = await post(binding.url, "/api/run/binding", options);
      const direct = JSON.parse(JSON.stringify(bindingMechanisms(hb, options).toJSON()));
      assert.deepEqual(resultOf(answer), direct);
      const chunks = chunksOf(answer) as BindingChunk[];
      assert.deepEqual(
        chunks.flatMap((c) => ("layer" in c ? [c.layer] : [])),
        direct.layers,
      );
      // The defaults (64 pairs, every layer), stopped after its first layer.
      const controller = new AbortController();
      const response = await fetch(`${binding.url}/api/run/binding`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        signal: controller.signal,
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let seen = "";
      while (!seen.includes('"patched":[{')) seen += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      await until(() => binding.outcomes.some((o) => o.kind === "binding" && o.ended === "stopped"), "the stop");
      const stopped = binding.outcomes.findLast((o) => o.kind === "binding") as (typeof binding.outcomes)[number];
      assert.ok(stopped.chunks < 1 + hb.layers, `it stopped before its last layer (${stopped.chunks} chunks)`);
    } finally {
      await binding.close();
      hb.model.dispose();
    }
  });
});

describe("models", () => {
  test("the model list holds the shipped fixtures", async () => {
    const list = (await get(base, "/api/models")).body as { model: string; source: string }[];
    const fixtures = list.filter((e) => e.source === "fixture").map((e) => e.model.split("/").pop());
    for (const name of ["tiny-lm-f16", "tiny-lm-4bit", "attn-only-2l"]) assert.ok(fixtures.includes(name), name);
  });

  test("a failed load leaves the previous model serving, with the error shown", async () => {
    const broken = mkdtempSync(join(tmpdir(), "mlux-serve-"));
    writeFileSync(join(broken, "config.json"), JSON.stringify({ model_type: "no-such-architecture" }));
    const answer = await post(base, "/api/model", { model: broken });
    assert.equal(answer.status, 422);
    assert.match(errorOf(answer.body), /could not load/);
    const state = (await get(base, "/api/model")).body as ModelState;
    assert.equal(state.model?.path, TINY);
    assert.equal(state.lastError?.model, broken);
    assert.ok(resultOf(await post(base, "/api/run/lens", { prompt: "In the", k: 1 })));
  });

  test("switching models: the new one describes itself and computes; switching back restores the first", async () => {
    const other = `${FIXTURES}tiny-lm-4bit`;
    const info = (await post(base, "/api/model", { model: other })).body as ModelInfo;
    assert.equal(info.path, other);
    assert.equal(info.quantized, true);
    // The default dtype "auto" dequantizes a 4-bit checkpoint to float32 on the CPU, and says so.
    assert.equal(info.storage, "4-bit, group 64, dequantized to float32 at load");
    assert.match(info.computeReason, /^auto on the CPU/);
    const health = (await get(base, "/api/health")).body as Health;
    assert.equal(health.model, other);
    assert.ok(resultOf(await post(base, "/api/run/lens", { prompt: "In the", k: 1 })));
    const back = (await post(base, "/api/model", { model: TINY })).body as ModelInfo;
    assert.equal(back.layers, hm.layers);
    assert.equal(back.dtype, hm.config.dtype);
    assert.equal(back.storage, hm.config.dtype);
  });
});

describe("a full queue", () => {
  test("past its length, a request gets 503 saying so; those in line are still answered", async () => {
    const small = await startServer({ model: TINY, port: 0, limits: { queueLength: 1 } });
    try {
      const controller = new AbortController();
      const running = await fetch(`${small.url}/api/run/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "In the beginning", maxTokens: 512 }),
        signal: controller.signal,
      });
      const reader = (running.body as ReadableStream<Uint8Array>).getReader();
      let seen = "";
      while (!seen.includes('"chunk"')) seen += new TextDecoder().decode((await reader.read()).value);
      const waiting = post(small.url, "/api/run/lens", { prompt: "In the", k: 1 });
      await until(async () => ((await get(small.url, "/api/health")).body as Health).queued === 1, "one in line");
      const refused = await post(small.url, "/api/run/lens", { prompt: "In the", k: 1 });
      assert.equal(refused.status, 503);
      assert.match(errorOf(refused.body), /the queue is full \(1 requests waiting\)/);
      controller.abort();
      assert.ok(resultOf(await waiting));
    } finally {
      await small.close();
    }
  });
});
