// py2p 0.2's pathfinding_message: [4-byte body length] [n x 4-byte packet length]
// [packets], packets = [msg_type, sender, id, time_58, ...payload], the body maybe
// compressed as a whole. id = base_58(SHA-384(payload ‖ time_58)); py2p ignores the id
// packet on receipt (it recomputes it) and re-encodes the time. The constructor and its
// getters encode; ./message-read.ts decodes. Every message is built by the constructor
// from its arguments: a parsed one from its body, packet count and time (the wire form).
import { latin1ToBase58 } from './base58.js';
import { getUTC } from './clock.js';
import { digestOf, digestRegions } from './digests.js';
import { NotBytesError, describeType } from './errors.js';
import { flagBytes, internFlag } from './flag-intern.js';
import { toPacket, toTime, type PacketInput } from './limits.js';
import type { Protocol } from './protocol.js';
import { payloadViews, regionEquals, serializePackets } from './wire-parse.js';
import { decompressString, encodeMessage, feedString, fromBody, fromPackets, processString, sanitizeString } from './message-read.js';
import { compressedFrame, contentKeyOf, ownPayload, plainFrame, retypedFrame, retypedPieces, retypedPlainFrame } from './wire-relay.js';
import { negotiateCompression, type ZlibEngine } from './zlib-format.js';

export { defaultLimits, toPacket, type CodecLimits, type PacketInput } from './limits.js';

export { negotiateCompression } from './zlib-format.js';

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
  /** A parsed message's plain body, its packets read from it when asked (a duplicate is dropped without a Buffer per packet). */
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

  constructor(protocol: Protocol, msgType: PacketInput, sender: PacketInput, payload: readonly PacketInput[], compressions?: readonly string[] | null, time?: bigint | number);
  /**
   * The wire form (fromBody, copies of a parsed message): `body` holds `count` packets
   * whose lengths add up (countPackets checked), `time` its time packet's value: a number
   * exactly when that packet is canonical (base_58's text for it), else a bigint.
   * msgType, sender and payload are not read (give empty ones).
   */
  constructor(protocol: Protocol, msgType: PacketInput, sender: PacketInput, payload: readonly PacketInput[], compressions: readonly string[] | null | undefined, time: bigint | number, body: Buffer, count: number);
  constructor(protocol: Protocol, msgType: PacketInput, sender: PacketInput, payload: readonly PacketInput[],
    compressions?: readonly string[] | null, time?: bigint | number, body?: Buffer, count = 0) {
    this.protocol = protocol;
    this.compression = compressions && compressions.length ? [...compressions] : (NO_METHODS as string[]);
    this.compressionUsed = this.compression.length ? negotiateCompression(this.compression) : null;
    if (body !== undefined) {
      this.#body = body;
      this.#count = count;
      let at = 4 * count;
      this.#senderAt = at += body.readUInt32BE(0);
      this.#idAt = at += body.readUInt32BE(4);
      this.#timeAt = at += body.readUInt32BE(8);
      this.#payloadAt = at + body.readUInt32BE(12);
      this.#canonicalTime = typeof time === 'number';
      this.#timeNumber = Number(time);
      if (!this.#canonicalTime) this.#time = time as bigint;
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
    return (this.#payload ??= payloadViews(this.#body!, this.#count, this.#payloadAt));
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
    const b = this.#body;
    return (this.#msgType ??= b === undefined ? this.msgTypeBytes.toString('latin1') : internFlag(b, 4 * this.#count, this.#senderAt));
  }

  /** The sender id, decoded as latin1 so that any bytes round-trip (ids are ASCII). Cached. */
  get sender(): string {
    const b = this.#body;
    return (this.#sender ??= b === undefined ? this.senderBytes.toString('latin1') : b.toString('latin1', this.#senderAt, this.#idAt));
  }

  /** Whether the sender packet is these bytes (a wire message: compared in place, no string made). */
  senderIs(id: Uint8Array): boolean {
    const b = this.#body;
    return b === undefined ? this.senderBytes.equals(id) : regionEquals(b, this.#senderAt, this.#idAt, id);
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
    return (this.#time58 ??= this.#canonicalTime
      ? this.#body!.toString('latin1', this.#timeAt, this.#payloadAt)
      : this.protocol.scratch.time58.text(this.#timeNumber, this.#time));
  }

  /** The payload then the time packet, hashed with `algorithm` (regions of the body when it holds them as they are hashed). */
  #payloadDigest(algorithm: string): string {
    const b = this.#body;
    // The payload packets lie end to end at the end of the body, and the time packet is
    // its base_58: the two regions are hashed without cutting packets out.
    const scratch = this.protocol.scratch;
    if (b !== undefined && this.#canonicalTime) return digestRegions(scratch, algorithm, b, false, 0, 0, this.#payloadAt, b.length, this.#timeAt, this.#payloadAt, 0, 0);
    return digestOf(algorithm, [...this.payload, this.time58], scratch);
  }

  /** SHA-384(payload ‖ time_58), the digest the id encodes, as a latin1 string: equal exactly when the ids are, without base_58. Cached. */
  get idKey(): string {
    return (this.#idKey ??= this.#payloadDigest('sha384'));
  }

  /**
   * SHA-256(payload ‖ time_58) as a latin1 string: equal exactly when the ids are (same
   * bytes hashed), at under half SHA-384's cost. De-duplication keys on it. Cached.
   */
  get dedupKey(): string {
    return (this.#dedupKey ??= this.#payloadDigest('sha256'));
  }

  /** The id packet as it came on the wire (a message parsed from the wire), else the id. */
  get wireId(): string {
    const b = this.#body;
    return b === undefined ? this.id : b.toString('latin1', this.#idAt, this.#timeAt);
  }

  /** The last `n` characters of wireId without making it (rx2p's repair keys on them); the computed id's when the packet is shorter. */
  wireIdTail(n: number): string {
    const b = this.#body;
    if (b !== undefined && this.#timeAt - this.#idAt >= n) return b.toString('latin1', this.#timeAt - n, this.#timeAt);
    const id = this.id;
    return id.length >= n ? id.slice(id.length - n) : id.padStart(n, '1');
  }

  /**
   * SHA-1 of the sender and the payload packets with their lengths (a latin1 string):
   * what a message says and who first said it, so that two copies py2p re-timed match.
   */
  get contentKey(): string {
    if (this.#contentKey === undefined) {
      const b = this.#body;
      // sender length, sender, packet count, the payload's length headers, payload.
      this.#contentKey = b === undefined
        ? contentKeyOf(this.senderBytes, this.payload, this.protocol.scratch)
        : digestRegions(this.protocol.scratch, 'sha1', b, true, this.#idAt - this.#senderAt, this.#count - 4, this.#senderAt, this.#idAt, 16, 4 * this.#count, this.#payloadAt, b.length);
    }
    return this.#contentKey;
  }

  /** base_58(SHA-384(payload ‖ time_58)), cached. */
  get id(): string {
    return (this.#id ??= latin1ToBase58(this.idKey, this.protocol.scratch));
  }

  /** [msg_type, sender, id, time_58, ...payload] (no length headers). */
  get packets(): Buffer[] {
    return (this.#packets ??= [this.msgTypeBytes, this.senderBytes, Buffer.from(this.id, 'latin1'), Buffer.from(this.time58, 'latin1'), ...this.payload]);
  }

  /** The body before compression: packet length headers and packets. */
  get plainBody(): Buffer {
    return this.compressionUsed === null ? this.string.subarray(4) : serializePackets(this.packets, 0);
  }

  /** The whole wire message: 4-byte length header and (compressed) body. Cached. */
  get string(): Buffer {
    return (this.#string ??= this.encodeWith(undefined));
  }

  /** `string`, compressed (when compressionUsed) with `zlib`, an engine that keeps its state between calls (by default the protocol's scratch engine). Cached with string. */
  encodeWith(zlib: ZlibEngine | undefined): Buffer {
    if (this.#string !== undefined) return this.#string;
    if (this.compressionUsed !== null) return (this.#string = compressedFrame(this.packets, this.compressionUsed, zlib ?? this.protocol.scratch.zlib));
    // A message built here is framed from its parts, id and time as latin1 text (no Buffer for them).
    return (this.#string = plainFrame(this.#packets === undefined && this.#body === undefined
      ? [this.#msgTypeBytes!, this.#senderBytes!, this.id, this.time58, ...this.#payload!]
      : this.packets));
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

  /** The same message (type, sender, payload, time, id) for a connection with another compression list; hashing is not repeated. */
  withCompressions(compressions: readonly string[] | null): PathfindingMessage {
    const copy = new PathfindingMessage(this.protocol, this.msgTypeBytes, this.senderBytes, this.payload, compressions, this.time);
    copy.#id = this.#id;
    copy.#idKey = this.#idKey;
    return copy;
  }

  /**
   * The frame that passes this message on as `msgType` (same sender, time, id), under
   * `method` (null: plain) with `zlib`. A parsed message with a canonical time goes on
   * as it came but for its type packet (its id packet is the one received, which py2p
   * and rx2p ignore); any other is rebuilt.
   */
  relay(msgType: string, method: string | null, zlib?: ZlibEngine): Buffer {
    if (this.#body === undefined && msgType === this.msgType && method === this.compressionUsed) return this.encodeWith(zlib);
    if (this.#retypable(msgType)) return retypedFrame(this.#body!, 4 * this.#count, msgType, method, zlib ?? this.protocol.scratch.zlib);
    return PathfindingMessage.fromParts({
      protocol: this.protocol, msgType, sender: this.senderBytes, payload: this.payload,
      time: this.time, compressions: method ? [method] : [], idKey: this.idKey,
    }).encodeWith(zlib);
  }

  /**
   * This message with bytes of its own, rather than views into the socket chunk it came
   * in (up to 64 KiB, which a kept message would pin); this when there is no such chunk.
   */
  compacted(): PathfindingMessage {
    const b = this.#body;
    if (b !== undefined) return b.buffer.byteLength <= 2 * b.length + 1024 ? this : this.#rebind(Buffer.from(b));
    const views = ownPayload(this.payload);
    if (views === undefined) return this;
    return PathfindingMessage.fromParts({
      protocol: this.protocol, msgType: Buffer.from(this.msgTypeBytes), sender: Buffer.from(this.senderBytes),
      payload: views, time: this.time, compressions: this.compression, idKey: this.#idKey, id: this.#id,
    });
  }

  /**
   * relay(msgType, null) as two pieces, end to end: a new head (size header, packet
   * headers, new type) and a view of the rest of the body as received (a large message
   * is passed on without a copy). Undefined where relay() would rebuild the message.
   */
  relayPieces(msgType: string): [Buffer, Buffer] | undefined {
    return this.#retypable(msgType) ? retypedPieces(this.#body!, 4 * this.#count, this.#senderAt, msgType) : undefined;
  }

  /**
   * relay(msgType, null) and compacted() in one allocation: the frame, and this message
   * over that frame's body (its own type kept apart). Undefined where relay() would
   * rebuild the message (not from the wire, a non-canonical time, another type length).
   */
  relayAndCompact(msgType: string): { frame: Buffer; message: PathfindingMessage } | undefined {
    if (!this.#retypable(msgType)) return undefined;
    const frame = retypedPlainFrame(this.#body!, 4 * this.#count, msgType);
    const type = this.msgType;
    const message = this.#rebind(frame.subarray(4));
    message.#msgType = type;
    message.#msgTypeBytes = this.#typeApart ? this.#msgTypeBytes : flagBytes(type);
    message.#typeApart = true;
    return { frame, message };
  }

  /** Whether this is a parsed message whose type packet can be replaced by `msgType` in place (a canonical time, a type of that length). */
  #retypable(msgType: string): boolean {
    return this.#body !== undefined && this.#canonicalTime && msgType.length === this.#senderAt - 4 * this.#count;
  }

  /** The same wire message over another copy of its body (what it computed so far is kept). */
  #rebind(body: Buffer): PathfindingMessage {
    const time = this.#canonicalTime ? this.#timeNumber : this.time;
    const copy = new PathfindingMessage(this.protocol, EMPTY, EMPTY, NO_PACKETS, this.compression, time, body, this.#count);
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

  /** Builds a message from known parts, without hashing when `id` or `idKey` is given (the caller vouches for them). */
  static fromParts(parts: {
    protocol: Protocol; msgType: PacketInput; sender: PacketInput; payload: readonly PacketInput[]; time: bigint | number;
    compressions?: readonly string[] | null; id?: string;
    /** The raw digest behind the id (PathfindingMessage.idKey): vouched for like id. */
    idKey?: string;
  }): PathfindingMessage {
    const msg = new PathfindingMessage(parts.protocol, parts.msgType, parts.sender, parts.payload, parts.compressions, parts.time);
    msg.#id = parts.id;
    msg.#idKey = parts.idKey;
    return msg;
  }

  /** Sets `msg`'s dedupKey, computed elsewhere (off the event loop) from the same bytes; the caller vouches for it, as for fromParts' idKey. */
  static presetDedupKey(msg: PathfindingMessage, key: string): void {
    msg.#dedupKey = key;
  }

  /** Parses a wire message, as py2p's feed_string (see ./message-read.ts). */
  static readonly feedString = feedString;
  /** Checks and strips the 4-byte size header (unless sizeless). Returns a view, not a copy. */
  static readonly sanitizeString = sanitizeString;
  /** py2p's decompress_string: the first supported method of the list that inflates the body wins; `[body, true]` when none does. */
  static readonly decompressString = decompressString;
  /** Splits a plaintext body into packets (views, no copies), with py2p 0.2's rule (BadPacketHeaderError unless the lengths add up). */
  static readonly processString = processString;
  /** processString then fromPackets in one step, without a Buffer per packet (the message reads them from `body`). */
  static readonly fromBody = fromBody;
  /** Builds a message from parsed packets (the last step of feedString): at least 4 packets, time decoded, id recomputed. */
  static readonly fromPackets = fromPackets;
  /** Wire bytes of a message in one call; `compressionUsed` must be a supported method (or null), not negotiated. */
  static readonly encode = encodeMessage;
}
