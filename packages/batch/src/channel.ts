/**
 * A bounded queue between the runner and the one consumer of its outcomes: `push` waits
 * while the consumer is `capacity` items behind, so a slow consumer slows the job down
 * instead of filling memory.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private readonly producers: Array<() => void> = [];
  private consumer: (() => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly capacity: number,
    /** Called when the consumer stops reading before the end (a `break` out of `for await`). */
    private readonly onAbandon?: () => void,
  ) {}

  async push(item: T): Promise<void> {
    if (this.closed) return;
    this.items.push(item);
    this.wake();
    if (this.items.length >= this.capacity)
      await new Promise<void>((resolve) => this.producers.push(resolve));
  }

  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    this.wake();
    for (const release of this.producers.splice(0)) release();
  }

  private wake(): void {
    const consumer = this.consumer;
    this.consumer = undefined;
    consumer?.();
  }

  /** Whether a consumer has started reading. */
  claimed = false;

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.claimed)
      throw new TypeError(
        "A batch job's outcomes can be read once, by one consumer: iterate the job, or call done(), not both.",
      );
    this.claimed = true;
    try {
      yield* this.drain();
    } finally {
      if (!this.closed) this.onAbandon?.();
    }
  }

  private async *drain(): AsyncGenerator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        this.producers.shift()?.();
        yield item;
        continue;
      }
      if (this.closed) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.consumer = resolve;
      });
    }
  }
}
