import { Agent, request } from "node:http";

export interface OpenLoopResult {
  sent: number;
  /** Requests per second actually sent over the run. */
  rate: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Sends requests at a fixed arrival rate (open loop: the schedule does not wait for
 * answers) and measures each latency from the moment the request was due, so a slow
 * answer also counts against the requests queued behind it (no coordinated omission).
 * autocannon's own rate limit sends each second's quota in one burst, which measures
 * bursts rather than a steady rate.
 */
export async function openLoop(options: {
  url: string;
  method?: string;
  headers: Record<string, string>;
  body?: string;
  rate: number;
  durationMs: number;
  /**
   * Requests due in this first stretch are sent but not measured: new connections and
   * cold code paths at the start of a phase are not the steady state being measured.
   * @default 1000
   */
  warmupMs?: number;
}): Promise<OpenLoopResult> {
  const warmupMs = options.warmupMs ?? 1000;
  // Start with a clean heap, so a collection of earlier garbage in this (measuring) process
  // does not pause the schedule and count as the server's latency. `pnpm bench` runs node
  // with --expose-gc.
  (globalThis as { gc?: () => void }).gc?.();
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(options.url);
  const total = Math.round((options.rate * (options.durationMs + warmupMs)) / 1000);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const failures: string[] = [];
  const start = performance.now();
  const pending: Promise<void>[] = [];

  const send = (due: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: options.method ?? "GET",
          headers: options.headers,
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if ((res.statusCode ?? 0) >= 300) failures.push(`HTTP ${res.statusCode}`);
            if (due - start >= warmupMs) latencies.push(performance.now() - due);
            resolve();
          });
        },
      );
      req.on("error", (error) => {
        failures.push(error.message);
        resolve();
      });
      req.end(options.body);
    });

  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    // Timers are coarse: sleep only when at least a millisecond ahead, else send at once.
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(due));
  }
  await Promise.all(pending);
  const elapsed = performance.now() - start;
  agent.destroy();
  if (failures.length) throw new Error(`${failures.length} requests failed, e.g. ${failures[0]}`);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    sent: total,
    rate: total / (elapsed / 1000),
    p50: at(0.5),
    p99: at(0.99),
    max: Math.round(latencies.at(-1) ?? 0),
  };
}
