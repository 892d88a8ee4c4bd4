/**
 * The lifetime of one proxied call: the upstream call's own abort controller, fed by the
 * caller's signal and by a no-progress timer. The caller's signal is listened to directly,
 * never chained through intermediate `Request` objects: undici follows such a chain
 * through weak references, and a garbage collection loses the abort.
 */
export interface Exchange {
  /** The signal of the upstream call. */
  signal: AbortSignal;
  /** Whether the timer ended the call. */
  readonly timedOut: boolean;
  /** Restarts the no-progress timer; `waitingOn` names who is slow if it fires. */
  progress(waitingOn: string): void;
  /** Ends the exchange: no timer, no listener. Idempotent. */
  settle(): void;
}

export function startExchange(caller: Request, timeoutMs: number): Exchange {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  let settled = false;
  const callerLeft = () => controller.abort(caller.signal.reason);
  caller.signal.addEventListener("abort", callerLeft);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    progress(waitingOn) {
      // A chunk of an upload can arrive after the answer: it must not start a timer again.
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`No progress for ${timeoutMs} ms, waiting on ${waitingOn}.`));
      }, timeoutMs);
    },
    settle() {
      settled = true;
      clearTimeout(timer);
      // The caller's request is referenced until here: alive, it keeps the controller its
      // signal follows alive, so the caller's abort still arrives after a GC.
      caller.signal.removeEventListener("abort", callerLeft);
    },
  };
}
