// mlux's own float32 CPU kernels (mx.cpuKernels) against the MLX ops they replace, over the same 2M
// float32 elements ([2048, 1024], unit normal): median ms of 9 after one warm-up, with an add beside
// them as the cost of one pass over memory. MLX's ops here are libmlx's own CPU code, which Python
// MLX runs too (mx.exp over 2M float32 took the same time in both, BENCHMARKS.md).
// Usage: node --conditions=mlux-source --import tsx bench/speed/cpu_kernels.ts
import { mx } from "mlux";
import { medianMs } from "./median-ms.ts";

const x = mx.random.normal([2048, 1024]);
const y = mx.random.normal([2048, 1024]);
mx.eval(x, y);

const round = (ms: number) => Number(ms.toFixed(2));
console.log(
  JSON.stringify({
    add: round(medianMs(() => mx.add(x, y), 9)),
    mlxExp: round(medianMs(() => mx.exp(x), 9)),
    ownExp: round(medianMs(() => mx.cpuKernels.exp(x), 9)),
    mlxSiluGate: round(medianMs(() => mx.multiply(mx.multiply(x, mx.sigmoid(x)), y), 9)),
    ownSiluGate: round(medianMs(() => mx.cpuKernels.siluGate(x, y), 9)),
    // Every row sees every key (offset keys - 1): the whole softmax, no masked half skipped.
    mlxSoftmax: round(medianMs(() => mx.softmax(x, { axis: -1 }), 9)),
    ownSoftmax: round(medianMs(() => mx.cpuKernels.causalSoftmax(x, { block: 1, offset: 1023 }), 9)),
  }),
);
