// py2p 0.2's pathfinding_message: the unit on the wire.
//
//   [4-byte body length] [n x 4-byte packet length] [packet 1] ... [packet n]
//
// packets = [msg_type, sender, id, time_58, ...payload]; the body may be
// compressed as a whole. id = base_58(SHA-384(payload concatenated ‖ time_58)):
// type, sender, packet boundaries and compression do not enter it. On receipt
// py2p ignores the id packet (it recomputes it) and re-encodes the time.
//
// Encoding and decoding mirror each other: the constructor and its getters
// (id, packets, string) are the encoder; feedString = sanitizeString ->
// decompressString -> processString -> fromPackets is the decoder.
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { fromBase58, toBase58 } from './base58.js';
import { assertSupported, compress, compression, decompress, getUTC, intersect, mayBeCompressed } from './compression.js';
import {
  BadPacketHeaderError,
  BadSizeHeaderError,
  DecompressionFailedError,
  FrameTooLargeError,
  MalformedMessageError,
  NotBytesError,
  TooManyPacketsError,
  describeType,
} from './errors.js';
import { MAX_WIRE_FRAME_BYTES } from './framing.js';
import type { Protocol } from './protocol.js';

/** Bounds applied when decoding untrusted bytes. */
export interface CodecLimits {
  /** Largest body (wire message without its 4-byte header). */
  maxFrameBytes: number;
  /** Largest body after decompression (decompression-bomb guard). */
  maxDecompressedBytes: number;
  /** Most packets in one message (type, sender, id and time included). */
  maxPackets: number;
}

export const defaultLimits: Readonly<CodecLimits> = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxDecompressedBytes: 16 * 1024 * 1024,
  maxPackets: 10_000,
});

/** A packet as callers give it: text is UTF-8 encoded (as py2p does with str). */
export type PacketInput = string | Uint8Array;

/** Turns a packet into a Buffer without copying bytes that already are bytes. */
export function toPacket(value: PacketInput): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new NotBytesError(describeType(value));
}

function resolveLimits(limits: Partial<CodecLimits> | undefined): CodecLimits {
  if (limits === undefined || limits === defaultLimits) return defaultLimits;
  // Complete limits (a connection's, or ones resolved here already) are used as they
  // are: feedString resolves once per frame, then passes them to each step.
  if (limits.maxFrameBytes !== undefined && limits.maxDecompressedBytes !== undefined && limits.maxPackets !== undefined) {
    return limits as CodecLimits;
  }
  return { ...defaultLimits, ...limits };
}

function toTime(time: bigint | number): bigint {
  if (typeof time === 'bigint') {
    if (time < 0n) throw new RangeError('message time must be >= 0');
    return time;
  }
  if (!Number.isSafeInteger(time) || time < 0) throw new RangeError(`message time must be a non-negative integer, got ${time}`);
  return BigInt(time);
}

/** First method of this build's preference order that `compressions` names (py2p's compression_used). */
export function negotiateCompression(compressions: readonly string[] | null | undefined): string | null {
  return intersect(compression, compressions)[0] ?? null;
}

let presetId: (msg: PathfindingMessage, id: string) => void;

export class PathfindingMessage {
  readonly protocol: Protocol;
  /** The msg_type packet as sent. */
  readonly msgTypeBytes: Buffer;
  /** The sender packet as sent. */
  readonly senderBytes: Buffer;
  /** Unix seconds. A bigint because py2p's time is an unbounded int. */
  readonly time: bigint;
  /** The methods this message may be under (the connection's list), as given. Do not mutate. */
  readonly compression: string[];
  /** The payload packets. Do not mutate the array or the Buffers: id and string are cached. */
  readonly payload: Buffer[];
  /** Method used to compress `.string`, or null: see negotiateCompression(). */
  readonly compressionUsed: string | null;
  /** Set by feedString: methods were given but none decompressed the body, which parsed as plaintext. */
  compressionFail = false;

  #time58: string | undefined;
  #id: string | undefined;
  #idKey: string | undefined;
  #msgType: string | undefined;
  #sender: string | undefined;
  #packets: Buffer[] | undefined;
  #string: Buffer | undefined;

  static {
    presetId = (msg, id) => {
      msg.#id = id;
    };
  }

  constructor(
    protocol: Protocol,
    msgType: PacketInput,
    sender: PacketInput,
    payload: readonly PacketInput[],
    compressions?: readonly string[] | null,
    time?: bigint | number,
  ) {
    if (!Array.isArray(payload)) throw new NotBytesError(describeType(payload));
    this.protocol = protocol;
    this.msgTypeBytes = toPacket(msgType);
    this.senderBytes = toPacket(sender);
    this.payload = payload.map(toPacket);
    this.time = time === undefined ? BigInt(getUTC()) : toTime(time);
    this.compression = compressions ? [...compressions] : [];
    this.compressionUsed = negotiateCompression(this.compression);
  }

  /** The msg_type, decoded as latin1 so that any bytes round-trip (flags are ASCII). Cached. */
  get msgType(): string {
    return (this.#msgType ??= this.msgTypeBytes.toString('latin1'));
  }

  /** The sender id, decoded as latin1 so that any bytes round-trip (ids are ASCII). Cached. */
  get sender(): string {
    return (this.#sender ??= this.senderBytes.toString('latin1'));
  }

  get time58(): string {
    return (this.#time58 ??= toBase58(this.time));
  }

  /**
   * SHA-384(payload ‖ time_58), the digest the id encodes, as a 48-character latin1
   * string: equal for two messages exactly when their ids are (base_58 is a
   * bijection on 48-byte digests), without the cost of base_58. De-duplication keys
   * on it; idFromKey() turns one back into the id. Cached.
   */
  get idKey(): string {
    return (this.#idKey ??= sha384Key(this.payload, this.time58));
  }

  /** The id an idKey stands for: base_58 of the digest it holds. */
  static idFromKey(key: string): string {
    return toBase58(Buffer.from(key, 'latin1'));
  }

  /** base_58(SHA-384(payload ‖ time_58)), cached. */
  get id(): string {
    return (this.#id ??= toBase58(Buffer.from(this.idKey, 'latin1')));
  }

  /** [msg_type, sender, id, time_58, ...payload] (no length headers). */
  get packets(): Buffer[] {
    return (this.#packets ??= [
      this.msgTypeBytes,
      this.senderBytes,
      Buffer.from(this.id, 'latin1'),
      Buffer.from(this.time58, 'latin1'),
      ...this.payload,
    ]);
  }

  /** The body before compression: packet length headers and packets. */
  get plainBody(): Buffer {
    return this.compressionUsed === null ? this.string.subarray(4) : serializePackets(this.packets, 0);
  }

  /** The whole wire message: 4-byte length header and (compressed) body. Cached. */
  get string(): Buffer {
    if (this.#string === undefined) {
      if (this.compressionUsed === null) {
        this.#string = serializePackets(this.packets, 4);
      } else {
        const body = compress(serializePackets(this.packets, 0), this.compressionUsed);
        const out = Buffer.allocUnsafe(4 + body.length);
        out.set(body, 4);
        this.#string = out;
      }
      const bodyLength = this.#string.length - 4;
      if (bodyLength > MAX_WIRE_FRAME_BYTES) throw new FrameTooLargeError(bodyLength, MAX_WIRE_FRAME_BYTES);
      this.#string.writeUInt32BE(bodyLength, 0);
    }
    return this.#string;
  }

  /** The body as sent (compressed if compressionUsed), without the length header. */
  get nonLenString(): Buffer {
    return this.string.subarray(4);
  }

  /** Body length after compression (py2p's len(msg)). */
  get length(): number {
    return this.string.length - 4;
  }

  /** The 4-byte length header. */
  get len(): Buffer {
    return Buffer.from(this.string.subarray(0, 4));
  }

  /**
   * The same message (type, sender, payload, time, id) for a connection with
   * another compression list; hashing is not repeated.
   */
  withCompressions(compressions: readonly string[] | null): PathfindingMessage {
    const copy = new PathfindingMessage(this.protocol, this.msgTypeBytes, this.senderBytes, this.payload, compressions, this.time);
    if (this.#id !== undefined) presetId(copy, this.#id);
    return copy;
  }

  toString(): string {
    return `pathfinding_message(type=${this.msgType}, sender=${this.sender}, time=${this.time}, payload=${this.payload.length} packets)`;
  }

  // --- encoding fast path -------------------------------------------------

  /**
   * Wire bytes of a message in one call. `compressionUsed` must be a method
   * this build supports (or null); unlike the constructor it is not negotiated.
   */
  static encode(
    protocol: Protocol,
    msgType: PacketInput,
    sender: PacketInput,
    payload: readonly PacketInput[],
    compressionUsed: string | null,
    time?: bigint | number,
  ): Buffer {
    if (compressionUsed !== null) assertSupported(compressionUsed);
    return new PathfindingMessage(protocol, msgType, sender, payload, compressionUsed === null ? [] : [compressionUsed], time).string;
  }

  /**
   * Builds a message from known parts without re-hashing when `id` is given
   * (the caller vouches that it is this payload's and time's id), e.g. when
   * re-sending a waterfall with its original sender and time.
   */
  static fromParts(parts: {
    protocol: Protocol;
    msgType: PacketInput;
    sender: PacketInput;
    payload: readonly PacketInput[];
    time: bigint | number;
    compressions?: readonly string[] | null;
    id?: string;
  }): PathfindingMessage {
    const msg = new PathfindingMessage(parts.protocol, parts.msgType, parts.sender, parts.payload, parts.compressions, parts.time);
    if (parts.id !== undefined) presetId(msg, parts.id);
    return msg;
  }

  // --- decoding -----------------------------------------------------------

  /**
   * Parses a wire message, as py2p's feed_string. A string is UTF-8 encoded
   * first (as py2p does with a str); any other non-bytes value raises
   * NotBytesError. The id packet on the wire is ignored and recomputed, and
   * the time is re-encoded (leading "1"s vanish).
   */
  static feedString(
    protocol: Protocol,
    string: Uint8Array | string,
    sizeless = false,
    compressions: readonly string[] | null = null,
    limits?: Partial<CodecLimits>,
  ): PathfindingMessage {
    const lim = resolveLimits(limits);
    const body = PathfindingMessage.sanitizeString(string, sizeless, lim);
    const [plain, compressionFail] = PathfindingMessage.decompressString(body, compressions, lim);
    const packets = PathfindingMessage.processString(plain, lim);
    const msg = PathfindingMessage.fromPackets(protocol, packets, compressions);
    msg.compressionFail = compressionFail;
    return msg;
  }

  /** Checks and strips the 4-byte size header (unless sizeless). Returns a view, not a copy. */
  static sanitizeString(string: Uint8Array | string, sizeless = false, limits?: Partial<CodecLimits>): Buffer {
    const lim = resolveLimits(limits);
    let buf: Buffer;
    if (typeof string === 'string') buf = Buffer.from(string, 'utf8');
    else if (string instanceof Uint8Array) buf = toPacket(string);
    else throw new NotBytesError(describeType(string));
    if (!sizeless) {
      if (buf.length < 4) throw new BadSizeHeaderError(`size header needs 4 bytes, got ${buf.length}`);
      const stated = buf.readUInt32BE(0);
      if (stated !== buf.length - 4) {
        throw new BadSizeHeaderError(`size header says ${stated} bytes, body has ${buf.length - 4}`);
      }
      buf = buf.subarray(4);
    }
    if (buf.length > lim.maxFrameBytes) throw new FrameTooLargeError(buf.length, lim.maxFrameBytes);
    return buf;
  }

  /**
   * Tries the methods of `compressions` that this build supports, in the
   * order given; the first that succeeds wins. A body no method decompresses
   * comes back unchanged with `true` (py2p's compression_fail). Unknown names
   * are skipped, as py2p's intersect() skips them. A bomb is never treated as
   * a failure: DecompressedTooLargeError propagates.
   */
  static decompressString(
    string: Uint8Array,
    compressions: readonly string[] | null | undefined,
    limits?: Partial<CodecLimits>,
  ): [Buffer, boolean] {
    const lim = resolveLimits(limits);
    const body = toPacket(string);
    let failed = false;
    for (const method of intersect(compressions, compression)) {
      // A body whose header rules the method out fails without an inflate attempt.
      if (!mayBeCompressed(body, method)) {
        failed = true;
        continue;
      }
      try {
        return [decompress(body, method, { maxBytes: lim.maxDecompressedBytes }), false];
      } catch (e) {
        if (!(e instanceof DecompressionFailedError)) throw e;
        failed = true;
      }
    }
    return [body, failed];
  }

  /**
   * Splits a plaintext body into packets (views, no copies), with py2p 0.2's
   * rule: length headers are read until they and the lengths they announce
   * add up to the body exactly. Anything else is BadPacketHeaderError.
   */
  static processString(string: Uint8Array, limits?: Partial<CodecLimits>): Buffer[] {
    const lim = resolveLimits(limits);
    const buf = toPacket(string);
    const total = buf.length;
    const lengths: number[] = [];
    let headerEnd = 0; // py2p's `processed`
    let expected = total; // py2p's `expected`: total minus the announced lengths
    while (headerEnd !== expected) {
      if (headerEnd + 4 > total) {
        throw new BadPacketHeaderError(`packet length header at offset ${headerEnd} runs past the body (${total} bytes)`);
      }
      if (lengths.length >= lim.maxPackets) throw new TooManyPacketsError(lim.maxPackets);
      const n = buf.readUInt32BE(headerEnd);
      lengths.push(n);
      headerEnd += 4;
      expected -= n;
      // py2p would keep reading "headers" until it ran off the end; the outcome is the same.
      if (headerEnd > expected) {
        throw new BadPacketHeaderError(`packet lengths announce more than the body holds (${total} bytes)`);
      }
    }
    const packets = new Array<Buffer>(lengths.length);
    let off = headerEnd;
    for (let i = 0; i < lengths.length; i++) {
      const end = off + lengths[i]!;
      packets[i] = buf.subarray(off, end);
      off = end;
    }
    return packets;
  }

  /**
   * Builds a message from parsed packets (the last step of feedString):
   * at least 4 packets, time decoded from base_58, id recomputed.
   */
  static fromPackets(protocol: Protocol, packets: readonly Buffer[], compressions: readonly string[] | null = null): PathfindingMessage {
    if (packets.length < 4) {
      throw new MalformedMessageError(`a message needs at least 4 packets (type, sender, id, time), got ${packets.length}`);
    }
    const time = fromBase58(packets[3]!);
    return new PathfindingMessage(protocol, packets[0]!, packets[1]!, packets.slice(4), compressions, time);
  }
}

// node:crypto's one-shot hash() (Node >= 20.12) skips the Hash object: for a small
// message, copying it into a scratch buffer and hashing that once is ~3x cheaper
// than createHash + update per packet + digest.
// Read through the namespace: a named import would fail to link on an older Node 20.
const oneShotHash = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;
const HASH_SCRATCH = Buffer.allocUnsafe(16 * 1024);

/**
 * The digest of the concatenated parts (strings as latin1, so give ASCII), as a
 * latin1 string of the raw digest bytes: a compact Map key.
 */
export function digestOf(algorithm: string, parts: ReadonlyArray<Uint8Array | string>): string {
  let size = 0;
  for (const p of parts) size += p.length;
  if (oneShotHash !== undefined && size <= HASH_SCRATCH.length) {
    let off = 0;
    for (const p of parts) {
      if (typeof p === 'string') off += HASH_SCRATCH.write(p, off, 'latin1');
      else {
        HASH_SCRATCH.set(p, off);
        off += p.length;
      }
    }
    return oneShotHash(algorithm, HASH_SCRATCH.subarray(0, off), 'binary');
  }
  const h = createHash(algorithm);
  for (const p of parts) (typeof p === 'string' ? h.update(p, 'latin1') : h.update(p));
  return h.digest('binary');
}

/** SHA-384 of the packets then the time: the raw digest behind a message id. */
function sha384Key(payload: readonly Buffer[], time58: string): string {
  return digestOf('sha384', [...payload, time58]);
}

/** [n x uint32be length][packets...], optionally after `headroom` spare bytes. */
function serializePackets(packets: readonly Buffer[], headroom: number): Buffer {
  let size = headroom + 4 * packets.length;
  for (const p of packets) size += p.length;
  const out = Buffer.allocUnsafe(size);
  let h = headroom;
  let d = headroom + 4 * packets.length;
  for (const p of packets) {
    out.writeUInt32BE(p.length, h);
    h += 4;
    out.set(p, d);
    d += p.length;
  }
  return out;
}
