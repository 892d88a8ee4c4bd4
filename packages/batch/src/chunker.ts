import type { ChunkInput } from "./submit.js";

/**
 * Groups inputs into submissions: a chunk goes when it is full, or `lingerMs` after its
 * first input when no more come. In runs mode a request carries one metadata object, and
 * URL inputs are told apart by file name when reconciling, so a different metadata or a
 * repeated URL file name starts a new chunk.
 */
export class Chunker {
  private chunk: ChunkInput[] = [];
  private meta = "";
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: {
      size: number;
      lingerMs: number;
      runsMode: boolean;
      send: (inputs: ChunkInput[]) => void;
    },
  ) {}

  add(input: ChunkInput): void {
    if (this.options.runsMode) {
      const meta = JSON.stringify(input.metadata ?? null);
      const { source } = input;
      const clash =
        source.kind === "url" &&
        this.chunk.some((c) => c.source.kind === "url" && c.source.name === source.name);
      if (this.chunk.length > 0 && (meta !== this.meta || clash)) this.flush();
      this.meta = meta;
    }
    this.chunk.push(input);
    if (this.chunk.length >= this.options.size) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.chunk.length === 0) return;
    const inputs = this.chunk;
    this.chunk = [];
    this.options.send(inputs);
  }
}
