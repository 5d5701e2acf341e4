// The HTTP thread's entry: builds the app, listens, and relays between the queue and the model's
// thread. It imports nothing that loads mlux (test/server/threads.test.ts checks its imports), so
// the model's thread owns MLX alone.
import { parentPort, workerData } from "node:worker_threads";
import type { ToCompute, ToHttp } from "../messages.ts";
import type { Limits, ModelState } from "../protocol.ts";
import { buildApp } from "./app.ts";

export interface HttpThreadData {
  host: string;
  port: number;
  staticDir: string;
  fixturesDir: string;
  state: ModelState;
  limits?: Partial<Limits>;
  hubUrl?: string;
  /** Shared with the model's thread: the id of the running job to stop (see compute/job.ts). */
  stopFlag: Int32Array;
}

const port = parentPort;
if (port === null) throw new Error("src/server/http/worker.ts runs as a worker thread (see src/server/start.ts)");
const data = workerData as HttpThreadData;
const post = (message: ToHttp) => port.postMessage(message);

try {
  const app = await buildApp({
    host: data.host,
    staticDir: data.staticDir,
    fixturesDir: data.fixturesDir,
    state: data.state,
    ...(data.limits === undefined ? {} : { limits: data.limits }),
    ...(data.hubUrl === undefined ? {} : { hubUrl: data.hubUrl }),
    send: (message: ToCompute) => {
      if (message.type === "stop") Atomics.store(data.stopFlag, 0, message.id);
      port.postMessage(message);
    },
  });
  port.on("message", (message: ToHttp) => {
    if (message.type === "event") app.queue.event(message.id, message.event);
    else if (message.type === "done") app.queue.done(message.id);
    else if (message.type === "model") app.setState(message.state);
  });
  const address = await app.fastify.listen({ host: data.host, port: data.port });
  post({ type: "listening", url: address });
} catch (error) {
  post({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
}
