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
import { fromBase58, latin1ToBase58, toBase58 } from './base58.js';
import { assertSupported, compress, compression, decompress, getUTC, intersect, mayBeCompressed } from './compression.js';
import {
  BadPacketHeaderError,
  BadSizeHeaderError,
  DecompressionFailedError,
  FieldTooLargeError,
  FrameTooLargeError,
  MalformedMessageError,
  NotBytesError,
  TooManyPacketsError,
  describeType,
} from './errors.js';
import { MAX_WIRE_FRAME_BYTES } from './framing.js';
import { base_58 } from './constants.js';
import { flags } from './flags.js';
import type { Protocol } from './protocol.js';

/** Bounds applied when decoding untrusted bytes. */
export interface CodecLimits {
  /** Largest body (wire message without its 4-byte header). */
  maxFrameBytes: number;
  /** Largest body after decompression (decompression-bomb guard). */
  maxDecompressedBytes: number;
  /** Most packets in one message (type, sender, id and time included). */
  maxPackets: number;
  /**
   * Longest time packet, in characters, checked before it is base_58 decoded (decoding
   * is quadratic in the length). A unix time is 6 characters; default 16.
   */
  maxTimeChars?: number;
}

const DEFAULT_MAX_TIME_CHARS = 16;

/** The codec's default bounds: 16 MiB frames and inflated bodies, 10,000 packets, 16-character time packets. */
export const defaultLimits: Readonly<CodecLimits> = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxDecompressedBytes: 16 * 1024 * 1024,
  maxPackets: 10_000,
  maxTimeChars: DEFAULT_MAX_TIME_CHARS,
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
let presetIdKey: (msg: PathfindingMessage, key: string) => void;
let presetDedup: (msg: PathfindingMessage, key: string) => void;

/**
 * Sets a message's dedupKey, computed elsewhere (off the event loop, for a large
 * payload) from the same bytes: SHA-256 of the payload packets then time58, as a
 * latin1 string of the digest. The caller vouches for it, as for fromParts' idKey.
 */
export function presetDedupKey(msg: PathfindingMessage, key: string): void {
  presetDedup(msg, key);
}

// The wire constructor's hand-off: set by fromBody() just before it calls the
// constructor, which adopts and clears them (a record would cost an allocation).
let wireBody: Buffer | undefined;
let wireCount = 0;
let wireTime = 0;
let wireTimeBig: bigint | undefined;

/** The last time base_58 encoded for a message built here (see time58). */
let lastTime = -1;
let lastTime58 = '';

const NO_PACKETS: readonly PacketInput[] = Object.freeze([]);
/** The compression list of a message with none (shared, so frozen). */
const NO_METHODS: readonly string[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);

/** A py2p 0.2 message as on the wire (py2p's pathfinding_message): message type, sender id, time and packets, with the codec that builds, compresses, parses and relays it. */
export class PathfindingMessage {
  /** The protocol of the connection the message was read from or is built for. */
  readonly protocol: Protocol;
  /** The methods this message may be under (the connection's list), as given. Do not mutate. */
  readonly compression: string[];
  /** Method used to compress `.string`, or null: see negotiateCompression(). */
  readonly compressionUsed: string | null;
  /** Set by feedString: methods were given but none decompressed the body, which parsed as plaintext. */
  compressionFail = false;

  #msgTypeBytes: Buffer | undefined;
  #senderBytes: Buffer | undefined;
  #payload: Buffer[] | undefined;
  #time: bigint | undefined;
  /** The time as a double (exact up to 2^53). */
  #timeNumber = 0;
  #time58: string | undefined;
  #id: string | undefined;
  /** contentKey, once computed (a py2p peer's broadcast is checked, then noted). */
  #contentKey: string | undefined;
  #idKey: string | undefined;
  #dedupKey: string | undefined;
  #msgType: string | undefined;
  #sender: string | undefined;
  #packets: Buffer[] | undefined;
  #string: Buffer | undefined;
  // A message parsed from the wire keeps its plain body and reads its packets from it
  // when asked: a duplicate is dropped without a Buffer per packet.
  #body: Buffer | undefined;
  #count = 0;
  /** Offsets in #body of the sender, id, time and first payload packet. */
  #senderAt = 0;
  #idAt = 0;
  #timeAt = 0;
  #payloadAt = 0;
  /** The time packet is what base_58 gives for the time (no leading "1"s). */
  #canonicalTime = false;
  /** #body's type packet is not this message's type (#msgTypeBytes and #msgType are). */
  #typeApart = false;

  static {
    presetId = (msg, id) => {
      msg.#id = id;
    };
    presetIdKey = (msg, key) => {
      msg.#idKey = key;
    };
    presetDedup = (msg, key) => {
      msg.#dedupKey = key;
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
    // Taken first, so that nothing thrown below can leave it for the next message.
    const body = wireBody;
    wireBody = undefined;
    this.protocol = protocol;
    this.compression = compressions && compressions.length ? [...compressions] : (NO_METHODS as string[]);
    this.compressionUsed = this.compression.length ? negotiateCompression(this.compression) : null;
    if (body !== undefined) {
      this.#adopt(body, wireCount);
      return;
    }
    if (!Array.isArray(payload)) throw new NotBytesError(describeType(payload));
    this.#msgTypeBytes = toPacket(msgType);
    this.#senderBytes = toPacket(sender);
    this.#payload = payload.map(toPacket);
    if (typeof time === 'number' && Number.isSafeInteger(time) && time >= 0) {
      // A time in a double stays one: its bigint is made only if asked for (time).
      this.#timeNumber = time;
    } else {
      this.#time = time === undefined ? BigInt(getUTC()) : toTime(time);
      this.#timeNumber = Number(this.#time);
    }
  }

  #adopt(body: Buffer, count: number): void {
    this.#body = body;
    this.#count = count;
    let at = 4 * count;
    this.#senderAt = at += body.readUInt32BE(0);
    this.#idAt = at += body.readUInt32BE(4);
    this.#timeAt = at += body.readUInt32BE(8);
    this.#payloadAt = at + body.readUInt32BE(12);
    const big = wireTimeBig;
    wireTimeBig = undefined;
    if (big === undefined) {
      this.#timeNumber = wireTime;
      this.#canonicalTime = true;
    } else {
      this.#time = big;
      this.#timeNumber = Number(big);
    }
  }

  /** The msg_type packet as sent. */
  get msgTypeBytes(): Buffer {
    return (this.#msgTypeBytes ??= this.#body!.subarray(4 * this.#count, this.#senderAt));
  }

  /** The sender packet as sent. */
  get senderBytes(): Buffer {
    return (this.#senderBytes ??= this.#body!.subarray(this.#senderAt, this.#idAt));
  }

  /** The payload packets. Do not mutate the array or the Buffers: id and string are cached. */
  get payload(): Buffer[] {
    if (this.#payload === undefined) {
      const body = this.#body!;
      const out = new Array<Buffer>(this.#count - 4);
      let at = this.#payloadAt;
      for (let i = 4; i < this.#count; i++) {
        const end = at + body.readUInt32BE(4 * i);
        out[i - 4] = body.subarray(at, end);
        at = end;
      }
      this.#payload = out;
    }
    return this.#payload;
  }

  /** Unix seconds. A bigint because py2p's time is an unbounded int. */
  get time(): bigint {
    return (this.#time ??= BigInt(this.#timeNumber));
  }

  /** The time as a number (exact up to 2^53; beyond, the nearest double). */
  get timeNumber(): number {
    return this.#timeNumber;
  }

  /** The msg_type, decoded as latin1 so that any bytes round-trip (flags are ASCII). Cached. */
  get msgType(): string {
    if (this.#msgType === undefined) {
      const b = this.#body;
      this.#msgType = b === undefined ? this.msgTypeBytes.toString('latin1') : internFlag(b, 4 * this.#count, this.#senderAt);
    }
    return this.#msgType;
  }

  /** The sender id, decoded as latin1 so that any bytes round-trip (ids are ASCII). Cached. */
  get sender(): string {
    if (this.#sender === undefined) {
      const b = this.#body;
      this.#sender = b === undefined ? this.senderBytes.toString('latin1') : b.toString('latin1', this.#senderAt, this.#idAt);
    }
    return this.#sender;
  }

  /** Whether the sender packet is these bytes (a wire message: compared in place, no string made). */
  senderIs(id: Uint8Array): boolean {
    const b = this.#body;
    if (b === undefined) return this.senderBytes.equals(id);
    const at = this.#senderAt;
    const n = this.#idAt - at;
    if (n !== id.length) return false;
    // Ids differ early: a loop here costs less than a call into Buffer.compare.
    for (let i = 0; i < n; i++) if (b[at + i] !== id[i]) return false;
    return true;
  }

  /** Total bytes of the payload packets. */
  get payloadBytes(): number {
    const b = this.#body;
    if (b !== undefined) return b.length - this.#payloadAt;
    let n = 0;
    for (const p of this.payload) n += p.length;
    return n;
  }

  /** The first payload packet (the subflag) as latin1, or undefined if there is none. Cached flags are shared strings. */
  get subflag(): string | undefined {
    const b = this.#body;
    if (b === undefined) return this.payload[0]?.toString('latin1');
    if (this.#count <= 4) return undefined;
    return internFlag(b, this.#payloadAt, this.#payloadAt + b.readUInt32BE(16));
  }

  /** The time packet as on the wire: base_58 text of the unix time. */
  get time58(): string {
    if (this.#time58 === undefined) {
      if (this.#canonicalTime) this.#time58 = this.#body!.toString('latin1', this.#timeAt, this.#payloadAt);
      else if (this.#timeNumber === lastTime && Number.isSafeInteger(lastTime)) this.#time58 = lastTime58;
      else {
        // Messages built in one second share their time: its base_58 is made once
        // (a time beyond 2^53 is not exact as a number, and is not cached).
        this.#time58 = lastTime58 = Number.isSafeInteger(this.#timeNumber) ? toBase58(this.#timeNumber) : toBase58(this.time);
        lastTime = this.#timeNumber;
      }
    }
    return this.#time58;
  }

  /**
   * SHA-384(payload ‖ time_58), the digest the id encodes, as a 48-character latin1
   * string: equal for two messages exactly when their ids are (base_58 is a
   * bijection on 48-byte digests), without the cost of base_58. De-duplication keys
   * on it. Cached.
   */
  get idKey(): string {
    if (this.#idKey === undefined) {
      const b = this.#body;
      if (b !== undefined && this.#canonicalTime) {
        // The payload packets lie end to end at the end of the body, and the time
        // packet is its base_58: hash the two regions without cutting packets out.
        this.#idKey = digestRegions('sha384', b, false, 0, 0, this.#payloadAt, b.length, this.#timeAt, this.#payloadAt, 0, 0);
      } else {
        this.#idKey = digestOf('sha384', [...this.payload, this.time58]);
      }
    }
    return this.#idKey;
  }

  /**
   * SHA-256(payload ‖ time_58) as a 32-character latin1 string: equal for two
   * messages exactly when their ids are (both hash the same bytes, and neither has a
   * known collision), at less than half the cost of SHA-384 on CPUs with SHA
   * instructions. De-duplication keys on it; the id proper is computed only when
   * asked for. Cached.
   */
  get dedupKey(): string {
    if (this.#dedupKey === undefined) {
      const b = this.#body;
      this.#dedupKey = b !== undefined && this.#canonicalTime
        ? digestRegions('sha256', b, false, 0, 0, this.#payloadAt, b.length, this.#timeAt, this.#payloadAt, 0, 0)
        : digestOf('sha256', [...this.payload, this.time58]);
    }
    return this.#dedupKey;
  }

  /** The id packet as it came on the wire (a message parsed from the wire), else the id. */
  get wireId(): string {
    const b = this.#body;
    return b === undefined ? this.id : b.toString('latin1', this.#idAt, this.#timeAt);
  }

  /**
   * The last `n` characters of wireId, without making the whole string (rx2p's repair
   * keys on them); the computed id's when the id packet is shorter than that.
   */
  wireIdTail(n: number): string {
    const b = this.#body;
    if (b !== undefined && this.#timeAt - this.#idAt >= n) return b.toString('latin1', this.#timeAt - n, this.#timeAt);
    const id = this.id;
    return id.length >= n ? id.slice(id.length - n) : id.padStart(n, '1');
  }

  /**
   * SHA-1 of the sender and the payload packets with their lengths: what a message
   * says and who first said it, without its type, id or time. Two copies of one
   * message that py2p re-timed (new time, so a new id) have the same content key.
   * A latin1 string of the raw digest.
   */
  get contentKey(): string {
    return (this.#contentKey ??= this.computeContentKey());
  }

  private computeContentKey(): string {
    const b = this.#body;
    if (b !== undefined) {
      // sender length, sender, packet count, the payload's length headers, payload.
      return digestRegions('sha1', b, true, this.#idAt - this.#senderAt, this.#count - 4,
        this.#senderAt, this.#idAt, 16, 4 * this.#count, this.#payloadAt, b.length);
    }
    const payload = this.payload;
    const sender = this.senderBytes;
    const head = Buffer.allocUnsafe(8 + 4 * payload.length);
    head.writeUInt32BE(sender.length, 0);
    head.writeUInt32BE(payload.length, 4);
    for (let i = 0; i < payload.length; i++) head.writeUInt32BE(payload[i]!.length, 8 + 4 * i);
    return digestOf('sha1', [head.subarray(0, 4), sender, head.subarray(4), ...payload]);
  }

  /** base_58(SHA-384(payload ‖ time_58)), cached. */
  get id(): string {
    return (this.#id ??= latin1ToBase58(this.idKey));
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
        this.#string = this.#packets === undefined && this.#body === undefined
          ? serializePackets([this.#msgTypeBytes!, this.#senderBytes!, this.id, this.time58, ...this.#payload!], 4)
          : serializePackets(this.packets, 4);
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
    if (this.#idKey !== undefined) presetIdKey(copy, this.#idKey);
    return copy;
  }

  /**
   * The wire message to pass this one on as `msgType` (same sender, time and id),
   * compressed with `method` (or plain for null). A message parsed from the wire
   * whose time packet is canonical is passed on as it came, with only its type
   * packet replaced: no re-serialization and no base_58 of the id. Its id packet
   * is then the one received, which every py2p 0.2 and rx2p node ignores and
   * recomputes from payload and time. Otherwise the message is rebuilt.
   */
  relay(msgType: string, method: string | null): Buffer {
    const b = this.#body;
    if (b === undefined && msgType === this.msgType && method === this.compressionUsed) return this.string;
    const typeAt = 4 * this.#count;
    if (b !== undefined && this.#canonicalTime && msgType.length === this.#senderAt - typeAt) {
      let out: Buffer;
      if (method === null) {
        out = Buffer.allocUnsafe(4 + b.length);
        out.set(b, 4);
        out.write(msgType, 4 + typeAt, 'latin1');
      } else {
        const plain = Buffer.from(b);
        plain.write(msgType, typeAt, 'latin1');
        const body = compress(plain, method);
        out = Buffer.allocUnsafe(4 + body.length);
        out.set(body, 4);
      }
      if (out.length - 4 > MAX_WIRE_FRAME_BYTES) throw new FrameTooLargeError(out.length - 4, MAX_WIRE_FRAME_BYTES);
      out.writeUInt32BE(out.length - 4, 0);
      return out;
    }
    return PathfindingMessage.fromParts({
      protocol: this.protocol, msgType, sender: this.senderBytes, payload: this.payload,
      time: this.time, compressions: method ? [method] : [], idKey: this.idKey,
    }).string;
  }

  /**
   * This message with bytes of its own: a message parsed from the wire holds views
   * into the socket chunk it came in (up to 64 KiB, shared with other frames), which
   * a message kept for the user would pin. Returns this when there is no such chunk
   * to release (its buffer is not much larger than the message).
   */
  compacted(): PathfindingMessage {
    const b = this.#body;
    if (b !== undefined) {
      if (b.buffer.byteLength <= 2 * b.length + 1024) return this;
      return this.#rebind(Buffer.from(b));
    }
    const p = this.payload;
    if (p.length === 0) return this;
    let size = 0;
    for (const x of p) size += x.length;
    if (p[0]!.buffer.byteLength <= 2 * size + 1024) return this;
    const own = Buffer.allocUnsafe(size);
    const views: Buffer[] = [];
    let off = 0;
    for (const x of p) {
      own.set(x, off);
      views.push(own.subarray(off, off + x.length));
      off += x.length;
    }
    return PathfindingMessage.fromParts({
      protocol: this.protocol, msgType: Buffer.from(this.msgTypeBytes), sender: Buffer.from(this.senderBytes),
      payload: views, time: this.time, compressions: this.compression, idKey: this.#idKey, id: this.#id,
    });
  }

  /**
   * relay(msgType, null) as two pieces that are the frame end to end: a new head (the
   * size header, the packet headers and the new type) and a view of the rest of the
   * body as received. For a large message, whose body need not be copied to be passed
   * on. Undefined where relay() would rebuild the message.
   */
  relayPieces(msgType: string): [Buffer, Buffer] | undefined {
    const b = this.#body;
    const typeAt = 4 * this.#count;
    if (b === undefined || !this.#canonicalTime || msgType.length !== this.#senderAt - typeAt) return undefined;
    if (b.length > MAX_WIRE_FRAME_BYTES) throw new FrameTooLargeError(b.length, MAX_WIRE_FRAME_BYTES);
    const head = Buffer.allocUnsafe(4 + this.#senderAt);
    head.writeUInt32BE(b.length, 0);
    b.copy(head, 4, 0, typeAt);
    head.write(msgType, 4 + typeAt, 'latin1');
    return [head, b.subarray(this.#senderAt)];
  }

  /**
   * relay(msgType, null) and compacted() in one allocation: the plain frame that
   * passes this message on as `msgType`, and this message over that frame's body,
   * which holds the same packets but for the type (this message's own type is kept
   * apart). Undefined where relay() would rebuild the message rather than copy its
   * body (not parsed from the wire, a non-canonical time, a type of another length).
   */
  relayAndCompact(msgType: string): { frame: Buffer; message: PathfindingMessage } | undefined {
    const b = this.#body;
    if (b === undefined || !this.#canonicalTime || msgType.length !== this.#senderAt - 4 * this.#count) return undefined;
    const frame = this.relay(msgType, null);
    const type = this.msgType;
    const message = this.#rebind(frame.subarray(4));
    message.#msgType = type;
    message.#msgTypeBytes = this.#typeApart ? this.#msgTypeBytes : flagBytes(type);
    message.#typeApart = true;
    return { frame, message };
  }

  /** The same wire message over another copy of its body (what it computed so far is kept). */
  #rebind(body: Buffer): PathfindingMessage {
    wireBody = body;
    wireCount = this.#count;
    wireTime = this.#timeNumber;
    wireTimeBig = this.#canonicalTime ? undefined : this.time;
    const copy = new PathfindingMessage(this.protocol, EMPTY, EMPTY, NO_PACKETS, this.compression);
    copy.compressionFail = this.compressionFail;
    copy.#idKey = this.#idKey;
    copy.#dedupKey = this.#dedupKey;
    copy.#id = this.#id;
    copy.#msgType = this.#msgType;
    copy.#sender = this.#sender;
    if (this.#typeApart) {
      copy.#msgTypeBytes = this.#msgTypeBytes;
      copy.#typeApart = true;
    }
    return copy;
  }

  /** A one-line summary for logs: `pathfinding_message(type=…, sender=…, time=…, payload=N packets)`. */
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
    /** The raw digest behind the id (PathfindingMessage.idKey): vouched for like id. */
    idKey?: string;
  }): PathfindingMessage {
    const msg = new PathfindingMessage(parts.protocol, parts.msgType, parts.sender, parts.payload, parts.compressions, parts.time);
    if (parts.id !== undefined) presetId(msg, parts.id);
    if (parts.idKey !== undefined) presetIdKey(msg, parts.idKey);
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
    const msg = PathfindingMessage.fromBody(protocol, plain, compressions, lim);
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
    const buf = toPacket(string);
    const count = countPackets(buf, resolveLimits(limits));
    const packets = new Array<Buffer>(count);
    let off = 4 * count;
    for (let i = 0; i < count; i++) {
      const end = off + buf.readUInt32BE(4 * i);
      packets[i] = buf.subarray(off, end);
      off = end;
    }
    return packets;
  }

  /**
   * processString then fromPackets in one step, without a Buffer per packet: the
   * message reads its packets from `body` when asked for them (so `body` must not
   * change while the message is in use).
   */
  static fromBody(protocol: Protocol, body: Uint8Array, compressions: readonly string[] | null = null, limits?: Partial<CodecLimits>): PathfindingMessage {
    const buf = toPacket(body);
    const lim = resolveLimits(limits);
    const count = countPackets(buf, lim);
    if (count < 4) {
      throw new MalformedMessageError(`a message needs at least 4 packets (type, sender, id, time), got ${count}`);
    }
    const timeAt = 4 * count + buf.readUInt32BE(0) + buf.readUInt32BE(4) + buf.readUInt32BE(8);
    const timeEnd = timeAt + buf.readUInt32BE(12);
    const t = canonicalTime(buf, timeAt, timeEnd);
    if (t < 0) wireTimeBig = decodeTime(buf.subarray(timeAt, timeEnd), lim);
    else wireTime = t;
    wireBody = buf;
    wireCount = count;
    return new PathfindingMessage(protocol, EMPTY, EMPTY, NO_PACKETS, compressions);
  }

  /**
   * Builds a message from parsed packets (the last step of feedString):
   * at least 4 packets, time decoded from base_58, id recomputed.
   */
  static fromPackets(protocol: Protocol, packets: readonly Buffer[], compressions: readonly string[] | null = null, limits?: Partial<CodecLimits>): PathfindingMessage {
    if (packets.length < 4) {
      throw new MalformedMessageError(`a message needs at least 4 packets (type, sender, id, time), got ${packets.length}`);
    }
    const time = decodeTime(packets[3]!, resolveLimits(limits));
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

const SCRATCH_VIEWS: Buffer[] = [];

/** Copies buf[start, end) into HASH_SCRATCH at `at`; returns the offset after it. Short regions byte by byte (Buffer.copy makes a view first). */
function copyRegion(buf: Buffer, start: number, end: number, at: number): number {
  const n = end - start;
  if (n <= 48) {
    for (let i = 0; i < n; i++) HASH_SCRATCH[at + i] = buf[start + i]!;
    return at + n;
  }
  return at + buf.copy(HASH_SCRATCH, at, start, end);
}

/**
 * The digest of three regions of `buf`, with `head1` and `head2` as uint32be before
 * the first and the second when `heads` is true: the pieces
 * are copied into a scratch buffer and hashed once, without a view per piece.
 * A region [0, 0) is empty.
 */
function digestRegions(
  algorithm: string, buf: Buffer, heads: boolean, head1: number, head2: number,
  a0: number, a1: number, b0: number, b1: number, c0: number, c1: number,
): string {
  const size = (heads ? 8 : 0) + (a1 - a0) + (b1 - b0) + (c1 - c0);
  if (oneShotHash === undefined || size > HASH_SCRATCH.length) {
    const h = createHash(algorithm);
    const u32 = (n: number) => { const x = Buffer.allocUnsafe(4); x.writeUInt32BE(n, 0); h.update(x); };
    if (heads) u32(head1);
    h.update(buf.subarray(a0, a1));
    if (heads) u32(head2);
    h.update(buf.subarray(b0, b1));
    h.update(buf.subarray(c0, c1));
    return h.digest('binary');
  }
  let off = 0;
  if (heads) off = HASH_SCRATCH.writeUInt32BE(head1, off);
  off = copyRegion(buf, a0, a1, off);
  if (heads) off = HASH_SCRATCH.writeUInt32BE(head2, off);
  off = copyRegion(buf, b0, b1, off);
  off = copyRegion(buf, c0, c1, off);
  // Views of the scratch buffer by length, for small lengths: one fewer object per hash.
  const view = off <= 2048 ? (SCRATCH_VIEWS[off] ??= HASH_SCRATCH.subarray(0, off)) : HASH_SCRATCH.subarray(0, off);
  return oneShotHash(algorithm, view, 'binary');
}

/** SHA-384 of the packets then the time: the raw digest behind a message id. */
function sha384Key(payload: readonly Buffer[], time58: string): string {
  return digestOf('sha384', [...payload, time58]);
}

/**
 * [n x uint32be length][packets...], optionally after `headroom` spare bytes. A packet
 * given as a string is written as latin1 (ids and times: ASCII), without a Buffer of its own.
 */
function serializePackets(packets: ReadonlyArray<Buffer | string>, headroom: number): Buffer {
  let size = headroom + 4 * packets.length;
  for (const p of packets) size += p.length;
  const out = Buffer.allocUnsafe(size);
  let h = headroom;
  let d = headroom + 4 * packets.length;
  for (const p of packets) {
    out.writeUInt32BE(p.length, h);
    h += 4;
    if (typeof p === 'string') out.write(p, d, 'latin1');
    else out.set(p, d);
    d += p.length;
  }
  return out;
}

/**
 * py2p 0.2's packet rule: length headers are read until they and the lengths they
 * announce add up to the body exactly. Returns the packet count; anything else is
 * BadPacketHeaderError.
 */
function countPackets(buf: Buffer, lim: CodecLimits): number {
  const total = buf.length;
  let count = 0;
  let headerEnd = 0; // py2p's `processed`
  let expected = total; // py2p's `expected`: total minus the announced lengths
  while (headerEnd !== expected) {
    if (headerEnd + 4 > total) {
      throw new BadPacketHeaderError(`packet length header at offset ${headerEnd} runs past the body (${total} bytes)`);
    }
    if (count >= lim.maxPackets) throw new TooManyPacketsError(lim.maxPackets);
    expected -= buf.readUInt32BE(headerEnd);
    headerEnd += 4;
    count++;
    // py2p would keep reading "headers" until it ran off the end; the outcome is the same.
    if (headerEnd > expected) {
      throw new BadPacketHeaderError(`packet lengths announce more than the body holds (${total} bytes)`);
    }
  }
  return count;
}

/** The time packet's value, its length checked first (base_58 decoding is quadratic in it). */
function decodeTime(packet: Buffer, lim: CodecLimits): bigint {
  const max = lim.maxTimeChars ?? DEFAULT_MAX_TIME_CHARS;
  if (packet.length > max) throw new FieldTooLargeError('time packet', packet.length, max);
  return fromBase58(packet);
}

const B58_DIGIT = new Int8Array(256).fill(-1);
for (let i = 0; i < base_58.length; i++) B58_DIGIT[base_58.charCodeAt(i)] = i;

/**
 * The time packet's value when it is in canonical form, the one base_58 writes (no
 * leading "1"s, at most 9 digits, so it fits a double exactly), else -1 (the
 * caller then decodes it in full, with fromBase58's checks and errors).
 */
function canonicalTime(buf: Buffer, start: number, end: number): number {
  if (end - start > 9 || (end > start && buf[start] === 0x31)) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = B58_DIGIT[buf[i]!]!;
    if (d < 0) return -1;
    v = v * 58 + d;
  }
  return v;
}

/** The flags a type or subflag packet usually holds, by length: compared in place, shared strings. */
const FLAG_BY_LENGTH = new Map<number, string[]>();
for (const f of Object.values(flags)) {
  const list = FLAG_BY_LENGTH.get(f.length);
  if (list) list.push(f);
  else FLAG_BY_LENGTH.set(f.length, [f]);
}

const FLAG_BYTES = new Map<string, Buffer>();

/** A type's bytes, of its own (not a view into a socket chunk); known flags are shared. */
function flagBytes(type: string): Buffer {
  const known = FLAG_BY_LENGTH.get(type.length)?.includes(type);
  if (!known) return Buffer.from(type, 'latin1');
  let b = FLAG_BYTES.get(type);
  if (b === undefined) FLAG_BYTES.set(type, (b = Buffer.from(type, 'latin1')));
  return b;
}

/** buf[start, end) as latin1, returning the flag's own string when it is one (no new string). */
function internFlag(buf: Buffer, start: number, end: number): string {
  const candidates = FLAG_BY_LENGTH.get(end - start);
  if (candidates !== undefined) {
    outer: for (const f of candidates) {
      for (let i = 0; i < f.length; i++) if (buf[start + i] !== f.charCodeAt(i)) continue outer;
      return f;
    }
  }
  return buf.toString('latin1', start, end);
}
