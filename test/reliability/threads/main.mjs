// The main thread of the thread-safety checks (test/reliability/threads.test.ts); argv[2] picks one:
//   second-thread: main uses mlux, then a worker tries to (and must be refused);
//   exit: process.exit while a worker computes;
//   terminate: a worker computing is terminated, then main uses mlux.
import { once } from "node:events";
import { Worker } from "node:worker_threads";

const mode = process.argv[2];
const sum = async () => {
  const { mx } = await import("mlux");
  return mx.sum(mx.matmul(mx.ones([8, 8]), mx.ones([8, 8]))).item();
};
if (mode === "second-thread") console.log(`main: ${await sum()}`);
const worker = new Worker(new URL("./worker.mjs", import.meta.url));
const [first] = await once(worker, "message");
console.log(`worker: ${first}`);
if (mode === "second-thread") {
  console.log(`main again: ${await sum()}`);
  await worker.terminate();
} else if (mode === "exit") {
  process.exit(0);
} else if (mode === "terminate") {
  await worker.terminate();
  console.log(`main after terminate: ${await sum()}`);
}
