/**
 * Remembers which webhook events were handled, so a redelivery (Extend retries with the
 * same `eventId`) is acknowledged without handling it twice. Implement it over Redis or a
 * database to share it between instances.
 */
export interface DedupeStore {
  /** Records `eventId` if it is new and answers true; answers false if it is already recorded. */
  claim(eventId: string): boolean | Promise<boolean>;
  /** Forgets `eventId` after its handling failed, so the redelivery is handled. */
  release(eventId: string): void | Promise<void>;
}

/**
 * Options of {@link createMemoryDedupeStore}: how long and how many event ids it keeps.
 *
 * @example
 * ```ts
 * const dedupe = createMemoryDedupeStore({ ttlMs: 6 * 60 * 60 * 1000, maxEntries: 50_000 });
 * const handle = createWebhookHandler({ secret: process.env.EXTEND_WEBHOOK_SECRET!, dedupe });
 * ```
 */
export interface MemoryDedupeOptions {
  /**
   * How long an event id is remembered.
   * @default 86400000 (24 hours)
   */
  ttlMs?: number;
  /**
   * Most ids kept; the oldest are forgotten first.
   * @default 10000
   */
  maxEntries?: number;
  /**
   * The current time in milliseconds, for tests.
   * @default Date.now
   */
  now?: () => number;
}

/**
 * An in-memory {@link DedupeStore} with a time to live: right for one process; use a shared
 * store when several instances receive webhooks.
 *
 * @example
 * ```ts
 * const dedupe = createMemoryDedupeStore({ ttlMs: 60 * 60 * 1000 });
 * ```
 */
export function createMemoryDedupeStore(options: MemoryDedupeOptions = {}): DedupeStore {
  const ttl = options.ttlMs ?? 86_400_000;
  const max = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  // A Map keeps insertion order: the first entries are the oldest.
  const seen = new Map<string, number>();
  return {
    claim(eventId) {
      const t = now();
      for (const [id, expires] of seen) {
        if (expires > t) break;
        seen.delete(id);
      }
      const expires = seen.get(eventId);
      if (expires !== undefined && expires > t) return false;
      seen.delete(eventId);
      seen.set(eventId, t + ttl);
      if (seen.size > max) seen.delete(seen.keys().next().value as string);
      return true;
    },
    release(eventId) {
      seen.delete(eventId);
    },
  };
}
