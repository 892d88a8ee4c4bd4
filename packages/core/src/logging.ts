import { environmentVariable } from "./environment.js";

/** How much the client logs. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "off";

/** Receives each log line; the default writes to `console`. */
export type LogSink = (
  level: Exclude<LogLevel, "off">,
  message: string,
  fields: Record<string, unknown>,
) => void;

/**
 * How a client logs its requests, retries and failures (the `logging` option of
 * {@link createClient}); a {@link LogLevel} alone is short for `{ level }`.
 *
 * @example
 * ```ts
 * const extend = createClient({
 *   token: process.env.EXTEND_API_KEY!,
 *   logging: {
 *     level: "debug",
 *     sink: (level, message, fields) => console[level](JSON.stringify({ level, message, ...fields })),
 *   },
 * });
 * ```
 */
export interface LoggingOptions {
  /**
   * Least severe level written. Without it, the `EXTENDKIT_LOG` environment variable
   * (where the runtime has one) decides, else nothing is logged.
   * @default "off"
   */
  level?: LogLevel;
  /**
   * Where lines go.
   * @default console
   */
  sink?: LogSink;
  /**
   * Include request bodies in debug lines. Headers (and so the token) are never logged.
   * @default false
   */
  logBodies?: boolean;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };

export interface Logger {
  enabled(level: Exclude<LogLevel, "off">): boolean;
  log(level: Exclude<LogLevel, "off">, message: string, fields?: Record<string, unknown>): void;
  logBodies: boolean;
}

function envLevel(): LogLevel | undefined {
  const value = environmentVariable("EXTENDKIT_LOG")?.toLowerCase();
  return value && value in RANK ? (value as LogLevel) : undefined;
}

const consoleSink: LogSink = (level, message, fields) => {
  console[level](`[extendkit] ${message}`, fields);
};

export function createLogger(options: LoggingOptions | LogLevel | undefined): Logger {
  const o = typeof options === "string" ? { level: options } : (options ?? {});
  const threshold = RANK[o.level ?? envLevel() ?? "off"];
  const sink = o.sink ?? consoleSink;
  return {
    logBodies: o.logBodies === true,
    enabled: (level) => RANK[level] >= threshold,
    log(level, message, fields = {}) {
      if (RANK[level] >= threshold) sink(level, message, fields);
    },
  };
}
