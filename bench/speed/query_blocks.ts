// Causal attention alone, whole (MLX's fused call) against query blocks of several sizes
// (src/models/shared/query-blocks.ts), at one model's attention shape and several prompt lengths:
// median ms of 5 after one warm-up, and the largest difference from the whole call. This is how the
// block size (QUERY_BLOCK) and the shortest blocked prompt (BLOCKED_FROM) were chosen.
// Usage: query_blocks.ts HEADS KV_HEADS HEAD_DIM [LENGTHS, default 64,96,128,256,512,1024]
import { mx } from "mlux";
import { causalAttentionInQueryBlocks } from "../../src/models/shared/query-blocks.ts";
import { medianMs } from "./median-ms.ts";

const [heads, kvHeads, headDim] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const lengths = (process.argv[5] ?? "64,96,128,256,512,1024").split(",").map(Number);
if (![heads, kvHeads, headDim, ...lengths].every((x) => Number.isInteger(x) && x > 0) || heads % kvHeads !== 0) {
  throw new Error("usage: query_blocks.ts HEADS KV_HEADS HEAD_DIM [LENGTHS] (heads a multiple of kv heads)");
}
const BLOCKS = [32, 64, 128, 256];

const scale = headDim ** -0.5;
for (const length of lengths) {
  mx.tidy(() => {
    const q = mx.random.normal([1, heads, length, headDim]);
    const k = mx.random.normal([1, kvHeads, length, headDim]);
    const v = mx.random.normal([1, kvHeads, length, headDim]);
    mx.eval(q, k, v);
    const whole = () => mx.fast.scaledDotProductAttention(q, k, v, { scale, mask: "causal" });
    const reference = whole();
    const row: Record<string, number | string> = { length, wholeMs: medianMs(whole) };
    for (const block of BLOCKS.filter((b) => b < length)) {
      const blocked = () => causalAttentionInQueryBlocks(q, k, v, scale, block);
      row[`block${block}Ms`] = medianMs(blocked);
      row[`block${block}MaxDiff`] = (mx.max(mx.abs(mx.subtract(blocked(), reference))).item() as number).toExponential(
        1,
      );
    }
    console.log(JSON.stringify(row));
  });
}
