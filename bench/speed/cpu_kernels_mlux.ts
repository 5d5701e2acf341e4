// The mlux side of bench/speed/cpu_kernels.ts: mlux's own float32 CPU kernels (mx.cpuKernels) and
// the MLX ops they replace, over 2M float32 elements ([2048, 1024], unit normal), median ms of 9
// after one warm-up, with an add beside them as the cost of one pass over memory. One JSON line.
import { mx } from "mlux";
import { medianMs } from "./median-ms.ts";

const x = mx.random.normal([2048, 1024]);
const y = mx.random.normal([2048, 1024]);
mx.eval(x, y);

console.log(
  JSON.stringify({
    add: medianMs(() => mx.add(x, y), 9),
    mlxExp: medianMs(() => mx.exp(x), 9),
    ownExp: medianMs(() => mx.cpuKernels.exp(x), 9),
    mlxSiluGate: medianMs(() => mx.multiply(mx.multiply(x, mx.sigmoid(x)), y), 9),
    ownSiluGate: medianMs(() => mx.cpuKernels.siluGate(x, y), 9),
    // Every row sees every key (offset keys - 1): the whole softmax, no masked half skipped.
    mlxSoftmax: medianMs(() => mx.softmax(x, { axis: -1 }), 9),
    ownSoftmax: medianMs(() => mx.cpuKernels.causalSoftmax(x, { block: 1, offset: 1023 }), 9),
  }),
);
