// The Engine multiplexes stdout and stderr of a non-TTY exec/attach/logs onto one
// byte stream: each frame is an 8-byte header [stream, 0, 0, 0, size (uint32 BE)]
// followed by `size` bytes. Frames arrive split across chunks arbitrarily.

export type StreamKind = "stdout" | "stderr";

export interface Frame {
  stream: StreamKind;
  data: Buffer;
}

const HEADER_BYTES = 8;

/** Stream 0 (stdin echo) is shown as stdout, 3 (the Engine's own error stream) as stderr, as the docker CLI does. */
function kindOf(byte: number): StreamKind | undefined {
  if (byte === 0 || byte === 1) return "stdout";
  if (byte === 2 || byte === 3) return "stderr";
  return undefined;
}

export class StreamDemuxer {
  #pending: Buffer = Buffer.alloc(0);

  /** Feeds one chunk; returns every frame it completes. */
  push(chunk: Uint8Array): Frame[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const frames: Frame[] = [];
    let offset = 0;
    while (this.#pending.length - offset >= HEADER_BYTES) {
      const kind = kindOf(this.#pending[offset]!);
      if (kind === undefined) {
        throw new Error(`malformed multiplexed stream: unknown stream id ${this.#pending[offset]} at a frame boundary`);
      }
      const size = this.#pending.readUInt32BE(offset + 4);
      if (this.#pending.length - offset - HEADER_BYTES < size) break;
      const start = offset + HEADER_BYTES;
      frames.push({ stream: kind, data: Buffer.from(this.#pending.subarray(start, start + size)) });
      offset = start + size;
    }
    this.#pending = this.#pending.subarray(offset);
    return frames;
  }

  /** Throws when the stream ended inside a frame. */
  end(): void {
    if (this.#pending.length > 0) {
      throw new Error(`malformed multiplexed stream: ${this.#pending.length} bytes of an unfinished frame at the end`);
    }
  }
}
