// A progress bar on stderr for work that takes more than a second: shown only on a terminal, never
// on stdout (which carries the results), and only once a second has passed without the work ending.
import { Presets, SingleBar } from "cli-progress";

/** What the experiments call as they go (their `onProgress` option). */
export type OnProgress = (done: number, total: number) => void;

const DELAY_MS = 1000;

export interface Progress {
  onProgress: OnProgress;
  /** Takes the bar off (when the work ends or fails). */
  stop(): void;
}

/** A bar labelled `label`, or nothing at all where stderr is not a terminal. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { onProgress: () => {}, stop: () => {} };
  const started = Date.now();
  let bar: SingleBar | undefined;
  return {
    onProgress(done, total) {
      if (bar === undefined) {
        if (Date.now() - started < DELAY_MS || done >= total) return;
        bar = new SingleBar(
          { stream, format: `${label} [{bar}] {value}/{total} {eta_formatted} left`, hideCursor: true },
          Presets.shades_classic,
        );
        bar.start(total, done);
        return;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** Runs `work` with a bar labelled `label` fed by its onProgress, taken off when it ends or throws. */
export function withProgress<T>(label: string, work: (onProgress: OnProgress) => T): T {
  const progress = progressBar(label);
  try {
    return work(progress.onProgress);
  } finally {
    progress.stop();
  }
}

/** A download's bytes (DownloadProgress, load/download.ts) as a bar in MiB, labelled with the repository. */
export function downloadBar(repoId: string): {
  onProgress: (p: { bytes: number; totalBytes: number }) => void;
  stop(): void;
} {
  const bar = progressBar(`downloading ${repoId} (MiB)`);
  const mib = (n: number) => Math.round(n / 2 ** 20);
  return { onProgress: (p) => bar.onProgress(mib(p.bytes), mib(p.totalBytes)), stop: () => bar.stop() };
}
