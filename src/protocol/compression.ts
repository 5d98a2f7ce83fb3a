// Compression as py2p 0.2 names it. "gzip" is py2p's flag name, but the bytes
// are zlib.compress() output (RFC 1950); on receipt py2p uses
// zlib.decompress(data, MAX_WBITS | 32), which takes a zlib OR a gzip (RFC 1952)
// wrapper and ignores bytes after the end of the stream.
//
// bz2 and lzma are NOT supported by this build, so they are not advertised:
// - lzma (xz container): the maintained option that installs without scripts,
//   @napi-rs/lzma, only has one-shot decompress(), with no streaming and no
//   output cap, so a small xz bomb would be inflated in full before any check.
//   Pure-JS xz decoders are decode-only; lzma-native needs an install script.
// - bz2: no maintained npm library; compressjs (last release 2015) and the
//   decode-only unbzip2-stream/seek-bzip are not "well kept", and none is native.
// py2p negotiates: a peer only compresses with a method we advertised, so the
// cost is the golden vectors that use bz2/lzma (see spec/protocol).
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
import {
  DecompressedTooLargeError,
  DecompressionFailedError,
  UnknownCompressionError,
  UnsupportedCompressionError,
} from './errors.js';

export { getUTC, intersect, getLanIp, getLanIp as get_lan_ip } from './utils.js';

/** Methods this build supports, in order of preference (py2p prefers gzip, bz2, lzma). */
export const compression: readonly string[] = Object.freeze(['gzip']);

/** Every method py2p 0.2 defines, in its order of preference. */
export const py2pCompressionMethods: readonly string[] = Object.freeze(['gzip', 'bz2', 'lzma']);

const UNSUPPORTED_REASON: Readonly<Record<string, string>> = {
  bz2: 'no maintained npm bzip2 library with a bounded (streaming) decoder',
  lzma: '@napi-rs/lzma has no bounded (streaming) decoder, so an xz bomb could not be refused early',
};

/** Default cap on decompressed output, as `defaultLimits.maxDecompressedBytes`. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;

/** Bounds of one decompression. */
export interface DecompressOptions {
  /** Largest output accepted; beyond it DecompressedTooLargeError. Default 16 MiB. */
  maxBytes?: number;
}

/** Throws UnknownCompressionError or UnsupportedCompressionError unless this build can use `method`. */
export function assertSupported(method: string): void {
  if (method === 'gzip') return;
  if (Object.prototype.hasOwnProperty.call(UNSUPPORTED_REASON, method)) {
    throw new UnsupportedCompressionError(method, UNSUPPORTED_REASON[method]!);
  }
  throw new UnknownCompressionError(method);
}

/** Compresses like py2p's compress(): "gzip" gives a zlib stream at the default level. */
export function compress(data: Uint8Array, method: string): Buffer {
  assertSupported(method);
  return deflateZlib(data);
}

// One deflate state, reset for each message rather than built anew: building one
// allocates and zeroes about 256 KiB, which is most of the cost of a small message.
// A reset state compresses exactly as a new one (zlib's deflateReset contract).
let deflater: ZStream | undefined;
const NOTHING = new Uint8Array(0);

// The states and the scratch below (about 350 KiB) are let go once unused for
// IDLE_RELEASE_MS, so that a node that compressed a few messages does not hold them.
const IDLE_RELEASE_MS = 10_000;
let lastUse = 0;
let releaseTimer: NodeJS.Timeout | undefined;

function used(): void {
  lastUse = Date.now();
  if (releaseTimer === undefined) {
    releaseTimer = setTimeout(releaseIfIdle, IDLE_RELEASE_MS);
    releaseTimer.unref?.(); // a browser's timers are numbers
  }
}

function releaseIfIdle(): void {
  const idle = Date.now() - lastUse;
  if (idle < IDLE_RELEASE_MS) {
    releaseTimer = setTimeout(releaseIfIdle, IDLE_RELEASE_MS - idle);
    releaseTimer.unref?.(); // a browser's timers are numbers
    return;
  }
  releaseTimer = undefined;
  deflater = undefined;
  inflater = undefined;
  scratch = undefined;
}

function deflateZlib(data: Uint8Array): Buffer {
  used();
  let strm = deflater;
  if (strm === undefined) {
    strm = new ZStream();
    // level 6, 32 KiB window, memLevel 8, default strategy, zlib's classic hash:
    // byte-identical to CPython's zlib.compress() (zlib 1.2.13) on every gzip golden
    // vector. Not required by py2p, which inflates any valid stream, but it keeps
    // wire bytes comparable.
    if (zlibDeflateInit2(strm, 6, 8, 15, 8, Z_DEFAULT_STRATEGY, true) !== Z_OK) return oneShotDeflate(data);
    deflater = strm;
  } else if (!resetDeflate(strm)) {
    deflater = undefined;
    return oneShotDeflate(data);
  }
  const n = data.length;
  // zlib's deflateBound() for these settings, plus room to spare.
  const bound = n + (n >>> 12) + (n >>> 14) + (n >>> 25) + 64;
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
    deflater = undefined;
    return oneShotDeflate(data);
  }
  return out.subarray(0, produced);
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
  const out = deflate(data, { level: 6, legacyHash: true });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Decompresses like py2p's decompress(), but stops as soon as the output exceeds maxBytes. */
export function decompress(data: Uint8Array, method: string, opts: DecompressOptions = {}): Buffer {
  assertSupported(method);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
  return inflateBounded(data, maxBytes, method);
}

/**
 * False only when `data` cannot be a `method` stream at all, because its first two
 * bytes are neither a gzip magic nor a zlib header inflate would accept (method 8,
 * window <= 32 KiB, check bits): decompress() would throw DecompressionFailedError.
 * A plaintext body starts with a packet length's high byte, 0x00, so this skips
 * building an inflate state and an error for every uncompressed frame.
 */
export function mayBeCompressed(data: Uint8Array, method: string): boolean {
  if (method !== 'gzip' || data.length < 2) return true;
  const b0 = data[0]!;
  const b1 = data[1]!;
  if (b0 === 0x1f && b1 === 0x8b) return true;
  return (b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0;
}

const MIN_CHUNK = 16 * 1024;
const MAX_CHUNK = 4 * 1024 * 1024;

// One inflate state, reset for each message (it keeps its 32 KiB window), and one
// scratch output: a message that inflates to at most SCRATCH_BYTES costs one copy
// of its output and no other allocation.
const SCRATCH_BYTES = 64 * 1024;
let inflater: ZStream | undefined;
let scratch: Uint8Array<ArrayBuffer> | undefined;

function inflateBounded(data: Uint8Array, maxBytes: number, method: string): Buffer {
  used();
  let strm = inflater;
  // Taken while in use: a throw below leaves it out, and the next call builds a new one.
  inflater = undefined;
  if (strm === undefined) {
    strm = new ZStream();
    // 15 | 32: zlib or gzip header, detected automatically (py2p's MAX_WBITS | 32).
    if (zlibInflateInit2(strm, 15 + 32) !== Z_OK) throw new DecompressionFailedError(method, 'inflateInit2 failed');
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
    if (first) output = (scratch ??= new Uint8Array(SCRATCH_BYTES)).subarray(0, Math.max(1, Math.min(SCRATCH_BYTES, maxBytes + 1)));
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
  inflater = strm;
  if (chunks.length === 1) {
    const only = chunks[0]!;
    return Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  }
  return Buffer.concat(chunks, total);
}
