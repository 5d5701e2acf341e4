// What `mlux serve` adds to a computation: the logit lens grid and the mean-ablation sweep through
// the server (HTTP request, queue, message to the model's thread, JSON, server-sent events, the
// ablation streamed a layer at a time) against the direct library call on the same model, same
// thread. Results are checked equal first. Medians of interleaved repeats, and their ratio.
// Usage: npm run bench:serve -- [CHECKPOINT_DIR] [TOKENS] [REPEATS]
import { ablation, HookedModel, logitLens } from "mlux";
import { startServer } from "../../src/server/start.ts";

const [dir = "fixtures/tiny-lm-f16", lengthArg, repeatsArg] = process.argv.slice(2);
const length = Number(lengthArg ?? 32);
const repeats = Number(repeatsArg ?? 7);
const hm = await HookedModel.fromPretrained(dir);
const server = await startServer({ model: dir, port: 0 });
const words = "In the beginning God created the heaven and the earth And the earth was without form".split(" ");
const prompt = Array.from({ length: length - 1 }, (_, i) => words[i % words.length]).join(" ");
const tokens = hm.toTokens(prompt)[0] as number[];

async function viaServer(kind: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${server.url}/api/run/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const result = text
    .split("\n\n")
    .filter((b) => b.startsWith("data: "))
    .map((b) => JSON.parse(b.slice(6)))
    .find((e) => e.type === "result" || e.type === "error");
  if (result?.type !== "result") throw new Error(`${kind} failed: ${text.slice(0, 300)}`);
  return result.data;
}

const cases = [
  {
    name: `logit lens, 3 probes, ${tokens.length} tokens`,
    direct: async () => logitLens(hm, prompt, { k: 5 }).toJSON(),
    served: () => viaServer("lens", { prompt, k: 5 }),
    same: (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b),
  },
  {
    name: `mean ablation of resid_post, ${hm.layers} layers x ${tokens.length} positions`,
    direct: async () => ablation(hm, { prompt: [tokens], site: "resid_post", kind: "mean" }).effect,
    served: async () =>
      ((await viaServer("ablation", { prompt })) as { rows: { effect: number[] }[] }).rows.map((r) => r.effect),
    same: (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b),
  },
];

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
const timed = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

for (const c of cases) {
  if (!c.same(await c.direct(), await c.served())) throw new Error(`${c.name}: the server's result differs`);
  const direct: number[] = [];
  const served: number[] = [];
  for (let i = 0; i < repeats; i++) {
    direct.push(await timed(c.direct));
    served.push(await timed(c.served));
  }
  const d = median(direct);
  const s = median(served);
  console.log(
    `${c.name}: direct ${d.toFixed(1)} ms, served ${s.toFixed(1)} ms, overhead ${(s - d).toFixed(1)} ms (x${(s / d).toFixed(2)})`,
  );
}
await server.close();
hm.model.dispose();
