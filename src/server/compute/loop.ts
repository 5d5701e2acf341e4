// The model's thread: runs each job the HTTP thread hands it (one at a time: the HTTP thread's queue
// sends the next only after "done"), streams its events back, and sees stops between its steps.
import type { MessagePort, Worker } from "node:worker_threads";
import { AbortError } from "../../experiments/abort.ts";
import type { ToCompute, ToHttp } from "../messages.ts";
import type { RunKind } from "../protocol.ts";
import { ablationJob } from "./ablation.ts";
import { attentionJob } from "./attention.ts";
import { bindingJob } from "./binding.ts";
import { generateJob } from "./generate.ts";
import { headsJob } from "./heads.ts";
import { type Job, type JobIO, Stopped } from "./job.ts";
import { lensJob } from "./lens.ts";
import type { ModelSlot } from "./model-slot.ts";
import { patchLayersJob, patchSweepJob } from "./patching.ts";
import { steeringJob } from "./steering.ts";

const JOBS: Record<RunKind, Job<never>> = {
  lens: lensJob,
  generate: generateJob,
  attention: attentionJob,
  heads: headsJob,
  "patch-layers": patchLayersJob,
  "patch-sweep": patchSweepJob,
  ablation: ablationJob,
  steering: steeringJob,
  binding: bindingJob,
};

/** How a job ended: for the server's log and its tests. */
export interface JobOutcome {
  id: number;
  kind: RunKind | "load";
  ended: "result" | "error" | "stopped";
  /** Chunks sent before it ended. */
  chunks: number;
  /** The last step reported (done of total), for jobs that run in steps. */
  steps?: { done: number; total: number };
}

type Channel = Pick<Worker | MessagePort, "postMessage" | "on" | "off">;

export class ComputeLoop {
  readonly #slot: ModelSlot;
  readonly #channel: Channel;
  readonly #stops = new Set<number>();
  /** Where the HTTP thread writes the id of a running job it stops (read without a message). */
  readonly #stopFlag: Int32Array | undefined;
  #running: Promise<void> = Promise.resolve();
  readonly outcomes: JobOutcome[] = [];

  constructor(slot: ModelSlot, channel: Channel, stopFlag?: Int32Array) {
    this.#slot = slot;
    this.#channel = channel;
    this.#stopFlag = stopFlag;
    channel.on("message", this.#onMessage);
  }

  /** Resolves when the job in progress (if any) has ended. */
  idle(): Promise<void> {
    return this.#running;
  }

  detach(): void {
    this.#channel.off("message", this.#onMessage);
  }

  #post(message: ToHttp): void {
    this.#channel.postMessage(message);
  }

  readonly #onMessage = (message: ToCompute | ToHttp): void => {
    if (message.type !== "run" && message.type !== "load" && message.type !== "stop") return; // the HTTP thread's own news
    if (message.type === "stop") {
      this.#stops.add(message.id);
      return;
    }
    this.#running = this.#running.then(() => this.#run(message));
  };

  async #run(message: Exclude<ToCompute, { type: "stop" }>): Promise<void> {
    const { id } = message;
    const outcome: JobOutcome = {
      id,
      kind: message.type === "load" ? "load" : message.kind,
      ended: "error",
      chunks: 0,
    };
    const send = (event: Extract<ToHttp, { type: "event" }>["event"]) => {
      if (event.type === "chunk") outcome.chunks++;
      else if (event.type === "result" || event.type === "stopped") outcome.ended = event.type;
      this.#post({ type: "event", id, event });
    };
    try {
      if (this.#stops.has(id)) {
        send({ type: "stopped" });
        return;
      }
      send({ type: "started" });
      if (message.type === "load") {
        this.#post({ type: "model", state: { ...this.#slot.state, loading: message.model } });
        let loaded: Awaited<ReturnType<ModelSlot["load"]>>;
        try {
          loaded = await this.#slot.load(message.model);
        } finally {
          // The HTTP thread's state first, then the answer: a client that asks for /api/model as soon
          // as it has the answer must get the new model, even when this thread is descheduled between.
          this.#post({ type: "model", state: this.#slot.state });
        }
        send({ type: "result", data: loaded });
        return;
      }
      const isStopped = () =>
        this.#stops.has(id) || (this.#stopFlag !== undefined && Atomics.load(this.#stopFlag, 0) === id);
      const controller = new AbortController();
      const io: JobIO = {
        send: (data: unknown) => send({ type: "chunk", data }),
        get stopped() {
          return isStopped();
        },
        pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
        step: (done, total) => {
          outcome.steps = { done, total };
          send({ type: "progress", done, total });
          if (isStopped()) controller.abort();
        },
        signal: controller.signal,
      };
      const job = JOBS[message.kind] as Job<unknown>;
      send({ type: "result", data: await job(this.#slot.hm, message.body, io) });
    } catch (error) {
      if (error instanceof Stopped || error instanceof AbortError) send({ type: "stopped" });
      else send({ type: "error", message: error instanceof Error ? error.message : String(error) });
    } finally {
      this.#stops.delete(id);
      this.outcomes.push(outcome);
      if (this.outcomes.length > 1000) this.outcomes.shift();
      this.#post({ type: "done", id });
    }
  }
}
