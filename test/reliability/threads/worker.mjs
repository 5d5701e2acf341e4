// A worker thread that loads mlux and computes until it is stopped; it reports "running" once it
// has computed, or the error that loading mlux raised.
import { parentPort } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
try {
  const { mx } = await import("mlux");
  mx.sum(mx.ones([4])).item();
  parentPort.postMessage("running");
  for (;;) {
    const product = mx.matmul(mx.ones([128, 128]), mx.ones([128, 128]));
    mx.sum(product).item();
    product.dispose();
  }
} catch (error) {
  parentPort.postMessage(`error: ${error.message}`);
}
