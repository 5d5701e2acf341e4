// Starting the server: the model is loaded on this thread (which owns MLX and computes), and the
// HTTP server runs on a worker thread, so requests are answered while the model computes. The two
// speak by messages (messages.ts); the queue lives on the HTTP side.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ComputeLoop, type JobOutcome } from "./compute/loop.ts";
import { ModelSlot } from "./compute/model-slot.ts";
import type { HttpThreadData } from "./http/worker.ts";
import type { ToHttp } from "./messages.ts";
import type { Limits } from "./protocol.ts";

const packageRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface ServeOptions {
  /** A checkpoint folder or a cached Hub id. */
  model: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The built pages (default dist/web of the package). */
  staticDir?: string;
  /** Lower limits than LIMITS (protocol.ts), e.g. to test them cheaply. */
  limits?: Partial<Limits>;
  /** The Hub models are downloaded from (default $HF_ENDPOINT, else https://huggingface.co). */
  hubUrl?: string;
}

export interface RunningServer {
  url: string;
  slot: ModelSlot;
  /** How each job ended, oldest first (the last 1,000). */
  outcomes: readonly JobOutcome[];
  /** Stops the HTTP thread and releases the model. */
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const slot = new ModelSlot();
  await slot.load(options.model);
  // The id of the running job the HTTP thread stops, readable while this thread is inside a call.
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const data: HttpThreadData = {
    stopFlag,
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 5050,
    staticDir: options.staticDir ?? join(packageRoot, "dist", "web"),
    fixturesDir: join(packageRoot, "fixtures"),
    state: slot.state,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.hubUrl === undefined ? {} : { hubUrl: options.hubUrl }),
  };
  const worker = httpThread(data);
  const loop = new ComputeLoop(slot, worker, stopFlag);
  const close = async () => {
    loop.detach();
    await worker.terminate();
    await loop.idle();
    slot.dispose();
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const onMessage = (message: ToHttp) => {
        if (message.type === "listening") resolve(message.url);
        else if (message.type === "fatal") reject(new Error(`the server could not start: ${message.message}`));
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the server's HTTP thread ended (exit code ${code})`)));
    });
    return { url, slot, outcomes: loop.outcomes, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The HTTP thread; from the TypeScript sources (tests, `--conditions=mlux-source`) through tsx. */
function httpThread(data: HttpThreadData): Worker {
  const entry = new URL(`./http/worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);
  if (entry.pathname.endsWith(".js")) return new Worker(entry, { workerData: data });
  const script = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(script, { eval: true, workerData: data });
}
