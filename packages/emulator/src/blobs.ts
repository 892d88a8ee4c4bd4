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

  writeSync(id: string, bytes: Uint8Array) {
    writeFileSync(this.pathOf(id), bytes);
  }

  read(id: string): Promise<Buffer> {
    return readFile(this.pathOf(id));
  }

  remove(id: string) {
    return rm(this.pathOf(id), { force: true });
  }
}
