// The wire framing: every message travels as a 4-byte big-endian length and
// that many body bytes. The Deframer is a two-state parser (size header, body)
// in the style of ws's Receiver: the limit is checked as soon as the 4 header
// bytes are known, before any body byte is buffered, and memory only grows
// with bytes actually received (a peer announcing 16 MiB and sending 10 bytes
// costs 10 bytes, not 16 MiB).
//
// A body split across chunks is gathered one of two ways. With copyFrames (the
// caller may reuse its chunks) it is copied into a buffer grown by doubling. By
// default (Node socket chunks are never reused) the pieces are kept as views and
// copied once, into a buffer of the body's size, when the last one arrives: one
// copy and one allocation per body instead of two of each. Small pieces are
// first copied into a staging buffer of their own, so that a peer trickling a
// byte at a time cannot make a view object per byte; a view pins at most the one
// chunk it comes from (<= 64 KiB from a socket).
import { FrameTooLargeError, NotBytesError, ProtocolError, describeType } from './errors.js';

/** Largest length a 4-byte header can state. */
export const MAX_WIRE_FRAME_BYTES = 0xffffffff;

/** Prefixes `body` with its 4-byte big-endian length. */
export function encodeFrame(body: Uint8Array): Buffer {
  if (body.length > MAX_WIRE_FRAME_BYTES) throw new FrameTooLargeError(body.length, MAX_WIRE_FRAME_BYTES);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** The 4-byte big-endian length header for a body of `length` bytes. */
export function encodeLength(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_WIRE_FRAME_BYTES) {
    throw new RangeError(`length ${length} does not fit a 4-byte header`);
  }
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(length, 0);
  return out;
}

/** Settings of a Deframer. */
export interface DeframerOptions {
  /** Largest body (excluding the 4-byte header) accepted; a larger header raises FrameTooLargeError. */
  maxFrameBytes: number;
  /**
   * Copy every frame into its own buffer. By default a frame that lies whole
   * inside one pushed chunk is returned as a view of that chunk (zero-copy;
   * Node socket chunks are never reused); set this if the caller reuses or
   * mutates chunks after push(). Frames split across chunks are always copies.
   */
  copyFrames?: boolean;
}

const enum State {
  SizeHeader,
  Body,
  Failed,
}

/** Cuts a byte stream into frames (4-byte big-endian length, then the body), checking each length against maxFrameBytes before allocating. */
export class Deframer {
  /** Largest body accepted; a larger size header fails the stream with FrameTooLargeError. */
  readonly maxFrameBytes: number;
  readonly #copy: boolean;
  #state: State = State.SizeHeader;
  readonly #header = Buffer.alloc(4);
  #headerFill = 0;
  #expected = 0;
  // Partial body with copyFrames: grown by doubling up to the announced size, so
  // memory tracks the bytes received and no view of a caller's chunk is held.
  #body: Buffer | null = null;
  #bodyFill = 0;
  // Partial body without copyFrames: views of the pieces received (large ones) and
  // staging buffers (small ones), in order; #stage is the one being filled.
  #pieces: Uint8Array[] = [];
  #stage: Buffer | null = null;
  #stageFill = 0;
  #error: ProtocolError | undefined;

  constructor(opts: DeframerOptions) {
    const max = opts?.maxFrameBytes;
    if (!Number.isInteger(max) || max < 0 || max > MAX_WIRE_FRAME_BYTES) {
      throw new RangeError(`maxFrameBytes must be an integer in 0..${MAX_WIRE_FRAME_BYTES}, got ${max}`);
    }
    this.maxFrameBytes = max;
    this.#copy = opts.copyFrames ?? false;
  }

  /** Bytes held for the frame in progress (partial header or body). */
  get buffered(): number {
    return this.#state === State.Body ? 4 + this.#bodyFill : this.#headerFill;
  }

  /** The size its header announced for the frame in progress (0 between frames). */
  get announced(): number {
    return this.#state === State.Body ? this.#expected : 0;
  }

  /** True after an error: every later push() throws it again. */
  get failed(): boolean {
    return this.#state === State.Failed;
  }

  /** Bytes still needed to complete the frame in progress (a header when idle). */
  get needed(): number {
    if (this.#state === State.Body) return this.#expected - this.#bodyFill;
    if (this.#state === State.SizeHeader) return 4 - this.#headerFill;
    return 0;
  }

  /**
   * Consumes a chunk and returns the frame bodies it completes, in order (without headers).
   * When `out` is given, frames are also appended to it as they complete: if a bad header
   * later in the same chunk throws, `out` still holds the good frames before it, so the
   * outcome does not depend on where the stream was split into chunks.
   */
  push(chunk: Uint8Array, out?: Buffer[]): Buffer[] {
    if (this.#state === State.Failed) throw this.#error!;
    if (!(chunk instanceof Uint8Array)) throw this.#fail(new NotBytesError(describeType(chunk)));
    const frames: Buffer[] = out ?? [];
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (this.#state === State.SizeHeader) {
        if (this.#headerFill === 0 && len - off >= 4) {
          this.#expected = readU32(chunk, off);
          off += 4;
        } else {
          const take = Math.min(4 - this.#headerFill, len - off);
          this.#header.set(chunk.subarray(off, off + take), this.#headerFill);
          this.#headerFill += take;
          off += take;
          if (this.#headerFill < 4) break;
          this.#expected = this.#header.readUInt32BE(0);
          this.#headerFill = 0;
        }
        if (this.#expected > this.maxFrameBytes) {
          throw this.#fail(new FrameTooLargeError(this.#expected, this.maxFrameBytes));
        }
        if (this.#expected === 0) {
          frames.push(Buffer.alloc(0));
          continue;
        }
        this.#state = State.Body;
      }
      // State.Body
      const want = this.#expected - this.#bodyFill;
      const avail = len - off;
      if (this.#bodyFill === 0 && avail >= want) {
        frames.push(this.#view(chunk, off, off + want));
        off += want;
        this.#state = State.SizeHeader;
        continue;
      }
      const take = Math.min(want, avail);
      if (this.#copy) this.#append(chunk.subarray(off, off + take));
      else this.#gather(chunk, off, take);
      off += take;
      if (this.#bodyFill === this.#expected) {
        const body = this.#copy ? this.#body! : this.#joinPieces();
        this.#body = null;
        this.#bodyFill = 0;
        this.#state = State.SizeHeader;
        frames.push(body.length === this.#expected ? body : body.subarray(0, this.#expected));
      }
    }
    return frames;
  }

  #append(piece: Uint8Array): void {
    const need = this.#bodyFill + piece.length;
    let body = this.#body;
    if (body === null || body.length < need) {
      const cap = Math.min(this.#expected, Math.max(need, body === null ? 64 * 1024 : body.length * 2));
      const grown = Buffer.allocUnsafe(cap);
      if (body !== null) body.copy(grown, 0, 0, this.#bodyFill);
      this.#body = body = grown;
    }
    body.set(piece, this.#bodyFill);
    this.#bodyFill = need;
  }

  /** Keeps a piece of a body (no copyFrames): large pieces as views, small ones staged. */
  #gather(chunk: Uint8Array, start: number, length: number): void {
    if (length >= MIN_VIEW_PIECE) {
      this.#flushStage();
      this.#pieces.push(chunk.subarray(start, start + length));
    } else {
      let stage = this.#stage;
      if (stage === null || stage.length - this.#stageFill < length) {
        this.#flushStage();
        // A new stage holds at least 4 KiB, at most 64 KiB, and never more than the
        // bytes received so far: memory stays within twice what arrived (plus 4 KiB).
        const size = Math.min(this.#expected - this.#bodyFill, Math.max(length, STAGE_MIN, Math.min(STAGE_MAX, this.#bodyFill + length)));
        this.#stage = stage = Buffer.allocUnsafe(size);
      }
      stage.set(chunk.subarray(start, start + length), this.#stageFill);
      this.#stageFill += length;
    }
    this.#bodyFill += length;
  }

  #flushStage(): void {
    if (this.#stage !== null && this.#stageFill > 0) this.#pieces.push(this.#stage.subarray(0, this.#stageFill));
    this.#stage = null;
    this.#stageFill = 0;
  }

  /** The gathered body in one buffer of its own (one copy of each piece). */
  #joinPieces(): Buffer {
    this.#flushStage();
    const pieces = this.#pieces;
    this.#pieces = [];
    // Pieces that lie end to end in one buffer (a large chunk handed on in slices, as a
    // byte source does with a WebSocket message) are already the body: a view of them.
    const first = pieces[0]!;
    let end = first.byteOffset + first.length;
    let contiguous = true;
    for (let i = 1; i < pieces.length && contiguous; i++) {
      const p = pieces[i]!;
      contiguous = p.buffer === first.buffer && p.byteOffset === end;
      end += p.length;
    }
    if (contiguous) return Buffer.from(first.buffer, first.byteOffset, this.#bodyFill);
    const body = Buffer.allocUnsafe(this.#bodyFill);
    let at = 0;
    for (const p of pieces) {
      body.set(p, at);
      at += p.length;
    }
    return body;
  }

  #view(chunk: Uint8Array, start: number, end: number): Buffer {
    if (this.#copy) return Buffer.from(chunk.subarray(start, end));
    return Buffer.from(chunk.buffer, chunk.byteOffset + start, end - start);
  }

  #fail(err: ProtocolError): ProtocolError {
    this.#state = State.Failed;
    this.#error = err;
    this.#body = null;
    this.#bodyFill = 0;
    this.#pieces = [];
    this.#stage = null;
    this.#stageFill = 0;
    this.#headerFill = 0;
    return err;
  }
}

/** Pieces at least this long are kept as views of their chunk; shorter ones are staged (copied). */
const MIN_VIEW_PIECE = 4096;
const STAGE_MIN = 4096;
const STAGE_MAX = 64 * 1024;

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) >>> 0) + (b[off + 1]! << 16) + (b[off + 2]! << 8) + b[off + 3]!;
}
