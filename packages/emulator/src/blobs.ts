import { createWriteStream, writeFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** File bytes on disk, one file per id. */
export class BlobStore {
  constructor(readonly dir: string) {}

  async init() {
    await mkdir(this.dir, { recursive: true });
  }

  pathOf(id: string) {
    return path.join(this.dir, id);
  }

  write(id: string, bytes: Uint8Array) {
    // Small files are written at once: cheaper than the thread-pool round trips of an
    // async write, and too short to hold up the event loop.
    if (bytes.length <= 64 * 1024) {
      writeFileSync(this.pathOf(id), bytes);
      return Promise.resolve();
    }
    return writeFile(this.pathOf(id), bytes);
  }

  /** Streams `source` to disk; answers the bytes written. */
  async writeStream(id: string, source: Readable): Promise<number> {
    let size = 0;
    source.on("data", (chunk: Buffer) => {
      size += chunk.length;
    });
    await pipeline(source, createWriteStream(this.pathOf(id)));
    return size;
  }

  read(id: string): Promise<Buffer> {
    return readFile(this.pathOf(id));
  }

  remove(id: string) {
    return rm(this.pathOf(id), { force: true });
  }
}
