// RotatingKVCache against mlx-lm's: the keys and values each step returns (ring order included)
// and the masks it makes, over prefill chunks and single steps that wrap the ring.
import { after, test } from "node:test";
import { mx } from "mlux";
import { RotatingKVCache } from "../../src/models/cache/rotating-kv-cache.ts";
import { closeOracle, expectSameAsPython, randomArray } from "../oracle/oracle.ts";

after(closeOracle);

const STEPS = [5, 1, 1, 1, 1, 3, 1, 1, 1, 1, 1, 1, 9, 1, 1, 2, 1];

// Masks as arrays: "causal" → [-1], none → [-2], boolean masks as int32.
const encode = (mask: mx.Array | "causal" | null): mx.Array =>
  mask === "causal" ? mx.array([-1], "int32") : mask === null ? mx.array([-2], "int32") : mx.astype(mask, "int32");

for (const [maxSize, window] of [
  [4, 4],
  [6, 6],
  [6, 3],
] as const) {
  test(`max size ${maxSize}, window ${window}`, async () => {
    const cache = new RotatingKVCache(maxSize);
    const inputs: Record<string, mx.Array> = {};
    const ours: mx.Array[] = [];
    STEPS.forEach((length, i) => {
      const keys = randomArray([1, 2, length, 4], 100 + i);
      const values = randomArray([1, 2, length, 3], 200 + i);
      inputs[`k${i}`] = keys;
      inputs[`v${i}`] = values;
      ours.push(encode(cache.makeMask(length, window)));
      // Copies: the cache releases the arrays it returned once it replaces them.
      ours.push(...cache.updateAndFetch(keys, values).map((a) => mx.array(a)));
    });
    const list = (prefix: string) => `[${STEPS.map((_, i) => `${prefix}${i}`).join(", ")}]`;
    const code = `from mlx_lm.models.cache import RotatingKVCache
def encode(m):
    if isinstance(m, str): return mx.array([-1], mx.int32)
    if m is None: return mx.array([-2], mx.int32)
    return m.astype(mx.int32)
c = RotatingKVCache(max_size=${maxSize})
result = []
for k, v in zip(${list("k")}, ${list("v")}):
    result.append(encode(c.make_mask(k.shape[2], window_size=${window})))
    # Snapshots: later in-place writes into the ring would change the arrays returned here.
    result.extend(mx.array(np.array(a)) for a in c.update_and_fetch(k, v))
`;
    await expectSameAsPython(ours, code, inputs);
    cache.dispose();
  });
}
