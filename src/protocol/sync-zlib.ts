// The synchronous zlib engine: pako, byte for byte CPython's zlib.compress() (zlib
// 1.2.13) on every gzip golden vector. Its deflate and inflate states are kept between
// calls by the instance, never by the module: whoever owns one decides how long it
// lives (src/streams/zlib-codec.ts lets go of its states once idle). The format
// decisions are ./zlib-format.ts's.
import {
  ZStream,
  Z_BUF_ERROR,
  Z_DEFAULT_STRATEGY,
  Z_FINISH,
  Z_NO_FLUSH,
  Z_OK,
  Z_STREAM_END,
  deflate,
  zlibDeflate,
  zlibDeflateInit2,
  zlibDeflateReset,
  zlibDeflateResetKeep,
  zlibInflate,
  zlibInflateInit2,
  zlibInflateReset,
} from 'pako';
import { DecompressedTooLargeError, DecompressionFailedError } from './errors.js';
import {
  DEFLATE_LEVEL,
  DEFLATE_MEM_LEVEL,
  DEFLATE_WINDOW_BITS,
  INFLATE_WINDOW_BITS,
  deflateBound,
  type ZlibEngine,
} from './zlib-format.js';

const NOTHING = new Uint8Array(0);
const MIN_CHUNK = 16 * 1024;
const MAX_CHUNK = 4 * 1024 * 1024;
/** A message that inflates to at most this many bytes costs one copy of its output and no other allocation. */
const SCRATCH_BYTES = 64 * 1024;

/**
 * pako's deflate and inflate, with one deflate state and one inflate state reset for
 * each call rather than built anew (building a deflate state allocates and zeroes
 * about 256 KiB, most of the cost of a small message; a reset state compresses exactly
 * as a new one, zlib's deflateReset contract), and one 64 KiB scratch output. About
 * 350 KiB while held; release() lets go of them.
 */
export class SyncZlib implements ZlibEngine {
  #deflater: ZStream | undefined;
  #inflater: ZStream | undefined;
  #scratch: Uint8Array<ArrayBuffer> | undefined;

  /** Lets go of the states and the scratch (the next call builds new ones). */
  release(): void {
    this.#deflater = undefined;
    this.#inflater = undefined;
    this.#scratch = undefined;
  }

  /** A zlib stream of `data` at level 6, as py2p's compress(). */
  deflate(data: Uint8Array): Buffer {
    let strm = this.#deflater;
    if (strm === undefined) {
      strm = new ZStream();
      // level 6, 32 KiB window, memLevel 8, default strategy, zlib's classic hash:
      // byte-identical to CPython's zlib.compress() (zlib 1.2.13) on every gzip golden
      // vector. Not required by py2p, which inflates any valid stream, but it keeps
      // wire bytes comparable.
      if (zlibDeflateInit2(strm, DEFLATE_LEVEL, 8, DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY, true) !== Z_OK) return oneShotDeflate(data);
      this.#deflater = strm;
    } else if (!resetDeflate(strm)) {
      this.#deflater = undefined;
      return oneShotDeflate(data);
    }
    const n = data.length;
    const bound = deflateBound(n);
    const out = Buffer.allocUnsafe(bound);
    strm.input = data;
    strm.next_in = 0;
    strm.avail_in = n;
    strm.output = out;
    strm.next_out = 0;
    strm.avail_out = bound;
    const status = zlibDeflate(strm, Z_FINISH);
    const produced = strm.next_out;
    // Let go of the caller's bytes and the output until the next message.
    strm.input = NOTHING;
    strm.output = NOTHING;
    if (status !== Z_STREAM_END) {
      this.#deflater = undefined;
      return oneShotDeflate(data);
    }
    return out.subarray(0, produced);
  }

  /** Inflates a zlib or gzip body, stopping as soon as the output passes maxBytes. */
  inflate(data: Uint8Array, maxBytes: number, method: string): Buffer {
    let strm = this.#inflater;
    // Taken while in use: a throw below leaves it out, and the next call builds a new one.
    this.#inflater = undefined;
    if (strm === undefined) {
      strm = new ZStream();
      if (zlibInflateInit2(strm, INFLATE_WINDOW_BITS) !== Z_OK) throw new DecompressionFailedError(method, 'inflateInit2 failed');
    } else if (zlibInflateReset(strm) !== Z_OK) {
      throw new DecompressionFailedError(method, 'inflateReset failed');
    }
    strm.input = data;
    strm.next_in = 0;
    strm.avail_in = data.length;
    const chunks: Uint8Array[] = [];
    let total = 0;
    let chunkSize = Math.min(Math.max(data.length * 4, MIN_CHUNK), 256 * 1024);
    let first = true;
    for (;;) {
      // Never allocate more than one byte past the cap: that byte proves the overflow.
      let output: Uint8Array<ArrayBuffer>;
      if (first) output = (this.#scratch ??= new Uint8Array(SCRATCH_BYTES)).subarray(0, Math.max(1, Math.min(SCRATCH_BYTES, maxBytes + 1)));
      else output = new Uint8Array(Math.max(1, Math.min(chunkSize, maxBytes + 1 - total)));
      const size = output.length;
      strm.output = output;
      strm.next_out = 0;
      strm.avail_out = size;
      const inBefore = strm.avail_in;
      const status = zlibInflate(strm, Z_NO_FLUSH);
      const produced = strm.next_out;
      if (produced > 0) {
        // The scratch is reused: what it holds is copied out.
        chunks.push(first ? output.slice(0, produced) : produced === size ? output : output.subarray(0, produced));
        total += produced;
        if (total > maxBytes) throw new DecompressedTooLargeError(method, maxBytes);
      }
      first = false;
      if (status === Z_STREAM_END) break; // trailing input is ignored, as zlib.decompress does
      if (status !== Z_OK && status !== Z_BUF_ERROR) {
        throw new DecompressionFailedError(method, strm.msg || `inflate status ${status}`);
      }
      if (strm.avail_in === 0 && strm.avail_out > 0) {
        throw new DecompressionFailedError(method, 'incomplete or truncated stream');
      }
      if (produced === 0 && strm.avail_in === inBefore) {
        throw new DecompressionFailedError(method, 'no progress');
      }
      if (chunkSize < MAX_CHUNK) chunkSize *= 2;
    }
    strm.input = NOTHING;
    strm.output = NOTHING;
    this.#inflater = strm;
    if (chunks.length === 1) {
      const only = chunks[0]!;
      return Buffer.from(only.buffer, only.byteOffset, only.byteLength);
    }
    return Buffer.concat(chunks, total);
  }
}

/**
 * zlib's deflateReset(). pako's clears the 64 KiB hash head one element at a time in
 * a JS loop, 20 µs here, two thirds of a small message's whole cost; this clears it
 * with fill() and sets the other fields its lm_init() sets (the level's parameters
 * are left as the first init set them). Tests check that a reset state compresses
 * byte for byte like a new one. If pako's state ever lacks these fields, its own
 * reset is used.
 */
function resetDeflate(strm: ZStream): boolean {
  const s = strm.state as DeflateStateFields | undefined;
  if (!s || !(s.head instanceof Uint16Array) || typeof s.strstart !== 'number' || typeof s.ins_h !== 'number') {
    return zlibDeflateReset(strm) === Z_OK;
  }
  if (zlibDeflateResetKeep(strm) !== Z_OK) return false;
  s.head.fill(0);
  s.strstart = 0;
  s.block_start = 0;
  s.lookahead = 0;
  s.insert = 0;
  s.match_length = s.prev_length = 2; // MIN_MATCH - 1
  s.match_available = 0;
  s.ins_h = 0;
  return true;
}

/** The fields of pako's deflate state that its lm_init() resets. */
interface DeflateStateFields {
  head: Uint16Array;
  strstart: number;
  block_start: number;
  lookahead: number;
  insert: number;
  match_length: number;
  prev_length: number;
  match_available: number;
  ins_h: number;
}

function oneShotDeflate(data: Uint8Array): Buffer {
  const out = deflate(data, { level: DEFLATE_LEVEL, legacyHash: true });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
