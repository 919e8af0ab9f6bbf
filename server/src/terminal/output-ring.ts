import { DATA_HEADER, Op, writeOffset } from './protocol.ts';

/** One batch of pty output, stored as a ready-to-send OUTPUT frame (header + data). */
export interface OutputChunk {
  /** Stream offset of the first data byte. */
  offset: number;
  /** The OUTPUT frame: [opcode][offset][data]; sent to live clients without copying. */
  frame: Buffer;
}

/** Data bytes of a chunk. */
export const chunkLength = (c: OutputChunk): number => c.frame.length - DATA_HEADER;

/** Builds an OUTPUT frame for `data` (one piece, or pieces to join) starting at `offset`. */
export function outputFrame(offset: number, data: Uint8Array | readonly Uint8Array[], op: number = Op.output): Buffer {
  const parts = data instanceof Uint8Array ? [data] : data;
  let length = 0;
  for (const p of parts) length += p.length;
  const frame = Buffer.allocUnsafe(DATA_HEADER + length);
  frame[0] = op;
  writeOffset(new DataView(frame.buffer, frame.byteOffset, DATA_HEADER), 1, offset);
  let at = DATA_HEADER;
  for (const p of parts) {
    frame.set(p, at);
    at += p.length;
  }
  return frame;
}

/**
 * The recent output of one terminal, sequence-numbered by byte offset, bounded in bytes.
 * Chunks pushed out of the front are handed to `onEvict` (the screen mirror) and kept a little
 * longer in a spill area, so a snapshot taken slightly behind the ring can still be continued exactly.
 */
export class OutputRing {
  readonly capacity: number;
  readonly #spillCapacity: number;
  readonly #onEvict: (chunk: OutputChunk) => void;
  #chunks: OutputChunk[] = [];
  #head = 0; // index of the first live chunk in #chunks (compacted lazily)
  #bytes = 0; // bytes in the ring (excluding spill)
  #spill: OutputChunk[] = [];
  #spillBytes = 0;
  #end = 0;

  constructor(capacity: number, onEvict: (chunk: OutputChunk) => void, spillCapacity = capacity) {
    this.capacity = capacity;
    this.#spillCapacity = spillCapacity;
    this.#onEvict = onEvict;
  }

  /** Offset one past the last byte ever written. */
  get end(): number {
    return this.#end;
  }

  /** The oldest offset that can still be replayed exactly. */
  get start(): number {
    return this.#spill[0]?.offset ?? this.#chunks[this.#head]?.offset ?? this.#end;
  }

  /** Appends a batch of output (pieces are joined straight into the frame); returns the stored chunk. */
  push(data: Uint8Array | readonly Uint8Array[]): OutputChunk {
    const chunk = { offset: this.#end, frame: outputFrame(this.#end, data) };
    const length = chunkLength(chunk);
    this.#chunks.push(chunk);
    this.#end += length;
    this.#bytes += length;
    while (this.#bytes > this.capacity && this.#head < this.#chunks.length - 1) {
      const old = this.#chunks[this.#head]!;
      this.#chunks[this.#head++] = undefined as unknown as OutputChunk;
      this.#bytes -= chunkLength(old);
      this.#onEvict(old);
      this.#spill.push(old);
      this.#spillBytes += chunkLength(old);
      while (this.#spillBytes > this.#spillCapacity && this.#spill.length) this.#spillBytes -= chunkLength(this.#spill.shift()!);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    return chunk;
  }

  /**
   * Frames that carry the stream from `from` (≥ start) up to `end`, at most `maxBytes` of data
   * (at least one frame when any data is available). Whole chunks are reused; a chunk cut by
   * `from` is re-framed.
   */
  framesFrom(from: number, maxBytes: number): Buffer[] {
    const out: Buffer[] = [];
    let budget = maxBytes;
    for (const list of [this.#spill, this.#chunks]) {
      const first = list === this.#chunks ? this.#head : 0;
      for (let i = first; i < list.length; i++) {
        const c = list[i]!;
        const len = chunkLength(c);
        if (c.offset + len <= from) continue;
        if (out.length && len > budget) return out;
        if (c.offset >= from) out.push(c.frame);
        else out.push(outputFrame(from, c.frame.subarray(DATA_HEADER + (from - c.offset))));
        budget -= len;
        if (budget <= 0) return out;
      }
    }
    return out;
  }
}
