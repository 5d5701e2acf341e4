// Stopping a long experiment mid-call. Each experiment that runs in steps (a batch of patched runs,
// a chunk of detector sequences, a probe of the lens) takes a `signal` and, after each step and its
// onProgress call, throws an AbortError if the signal is aborted; everything it allocated is released
// on the way out. onProgress runs before the check, so a progress callback may abort the signal
// itself (as the server does, where a stop comes from another thread).

/** Thrown by an experiment whose `signal` was aborted: the computation stopped part-way. */
export class AbortError extends Error {
  override readonly name = "AbortError";
  constructor(what: string, done: number, total: number, reason?: unknown) {
    // A reason given to abort() is told; the default one ("This operation was aborted") adds nothing.
    const given = reason instanceof Error && reason.name !== "AbortError";
    const why = given ? `: ${reason.message}` : typeof reason === "string" ? `: ${reason}` : "";
    super(`${what}: aborted after ${done} of ${total} steps${why}`);
  }
}

/** Reports a step and stops there if asked: onProgress(done, total), then the signal's check. */
export function stepDone(
  options: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal },
  what: string,
  done: number,
  total: number,
): void {
  options.onProgress?.(done, total);
  if (options.signal?.aborted) throw new AbortError(what, done, total, options.signal.reason);
}
