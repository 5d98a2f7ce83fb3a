// Bounds on what a peer sends, checked before anything is decoded: every step here
// costs time linear in the bytes it is given, and no more bytes than the bound are
// ever given to a step that is not (base_58 decoding is quadratic in its length).
// Pure functions: the router calls them and turns their errors into its own.
import { fromBase58 } from './base58.js';
import { BadBase58Error, FieldTooLargeError, JsonTooDeepError } from './errors.js';

/**
 * base_58 of a 48-byte SHA-384 digest (a node id, a message id, a request id) is at
 * most 66 characters: a protocol constant, not an option. py2p never sends longer.
 */
export const MAX_ID_CHARS = 66;

/** Bounds on the JSON texts of control messages (handshake, peers, response, renegotiate). */
export interface JsonLimits {
  /** Largest JSON text, in bytes. */
  maxJsonBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxJsonDepth: number;
}

// A 16 MiB JSON text takes JSON.parse about 100 ms: a node would answer no one for
// that long. py2p's control texts are far smaller than the default bound.
/** The default JSON bounds: 256 KiB of text, 16 levels deep. */
export const defaultJsonLimits: Readonly<JsonLimits> = Object.freeze({ maxJsonBytes: 256 * 1024, maxJsonDepth: 16 });

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/**
 * A node id or request id as text, checked: 1 to 66 base_58 characters. The length is
 * checked first, so the alphabet check and any decoding see at most 66 characters.
 */
export function checkId(field: string, bytes: Uint8Array | string): string {
  const n = bytes.length;
  if (n > MAX_ID_CHARS) throw new FieldTooLargeError(field, n, MAX_ID_CHARS);
  if (n === 0) throw new BadBase58Error(`${field} is empty`);
  const text = typeof bytes === 'string' ? bytes : latin1(bytes);
  fromBase58(text); // at most 66 digits: a few microseconds; throws BadBase58Error
  return text;
}

/**
 * Throws unless `bytes` nests at most maxJsonDepth deep. One pass, constant work per
 * byte; brackets inside strings do not count. Whether the text is valid JSON is left
 * to JSON.parse. With `maxItems`, returns the offset of the comma that ends the
 * maxItems-th element of the top-level array (or -1 if it has fewer): the caller may
 * parse that prefix alone. Reads at most maxJsonBytes + 1 bytes; the size bound itself
 * is the caller's (see parseJsonPacket).
 */
export function scanJson(field: string, bytes: Uint8Array, limits: JsonLimits, maxItems = Infinity): number {
  // A prefix longer than maxJsonBytes is refused whatever follows: no need to read past it.
  const n = Math.min(bytes.length, limits.maxJsonBytes + 1);
  let depth = 0;
  let items = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++; // the escaped character, whatever it is
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limits.maxJsonDepth) throw new JsonTooDeepError(field, limits.maxJsonDepth);
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c && depth === 1 && ++items >= maxItems) return i;
  }
  return -1;
}

/**
 * JSON.parse of a packet, after scanJson: the parse is linear and its size bounded by
 * maxJsonBytes. With `maxItems`, a top-level array longer than that is cut to its
 * first maxItems elements before parsing, and only that prefix counts against the size.
 */
export function parseJsonPacket(field: string, bytes: Uint8Array | undefined, limits: JsonLimits, maxItems = Infinity): unknown {
  if (bytes === undefined) throw new SyntaxError(`${field} is missing`);
  // Too large as a whole and not to be cut: refused before the scan.
  if (maxItems === Infinity && bytes.length > limits.maxJsonBytes) throw new FieldTooLargeError(field, bytes.length, limits.maxJsonBytes);
  const cut = scanJson(field, bytes, limits, maxItems);
  const size = cut < 0 ? bytes.length : cut + 1;
  if (size > limits.maxJsonBytes) throw new FieldTooLargeError(field, size, limits.maxJsonBytes);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', 0, cut < 0 ? bytes.length : cut);
  return JSON.parse(cut < 0 ? text : text + ']');
}

/** A [host, port] pair as py2p sends it. */
export function parseAddr(v: unknown): [string, number] {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || v[0].length === 0 || v[0].length > 255
    || !Number.isInteger(v[1]) || v[1] < 0 || v[1] > 65535) {
    throw new Error('address must be [host, port]');
  }
  return [v[0], v[1]];
}

/** Most compression names in one list, and the longest name. */
export const MAX_COMPRESSION_METHODS = 16;
export const MAX_COMPRESSION_NAME_CHARS = 32;

/** A compression list: at most 16 names of at most 32 characters. */
export function parseMethods(v: unknown): string[] {
  if (!Array.isArray(v) || v.length > MAX_COMPRESSION_METHODS
    || v.some((m) => typeof m !== 'string' || m.length > MAX_COMPRESSION_NAME_CHARS)) {
    throw new Error('compression must be a short list of names');
  }
  return v as string[];
}

/** A peer's handshake, parsed and bounded. */
export interface Handshake {
  /** The peer's node id. */
  id: string;
  /** The id of the protocol the peer speaks (compared with this node's). */
  protocolId: string;
  /** The [host, port] the peer advertises. */
  addr: [string, number];
  /** The compression methods (and rx2p capabilities) the peer lists, in its order. */
  methods: string[];
}

/**
 * A handshake's payload [subflag, id, protocol id, address JSON, compression JSON],
 * each field bounded before it is decoded. The protocol id is compared by the caller
 * (it is a SHA-256 in base_58, so held to the id bound as well).
 */
export function parseHandshake(p: readonly Uint8Array[], limits: JsonLimits): Handshake {
  if (p.length < 5) throw new Error(`${p.length} packets, 5 expected`);
  const id = checkId('node id', p[1]!);
  const protocolBytes = p[2]!;
  if (protocolBytes.length > MAX_ID_CHARS) throw new FieldTooLargeError('protocol id', protocolBytes.length, MAX_ID_CHARS);
  const addr = parseAddr(parseJsonPacket('handshake address', p[3], limits));
  const methods = parseMethods(parseJsonPacket('handshake compression list', p[4], limits));
  return { id, protocolId: latin1(protocolBytes), addr, methods };
}

/**
 * The usable entries of a peers list ([[host, port], id] each), at most `maxEntries`
 * of them; malformed entries are skipped, as before. The whole text is bounded first.
 */
export function parsePeersList(bytes: Uint8Array | undefined, limits: JsonLimits, maxEntries: number): Array<{ addr: [string, number]; id: string }> {
  const list = parseJsonPacket('peers list', bytes, limits, maxEntries);
  if (!Array.isArray(list)) throw new Error('not a list');
  const out: Array<{ addr: [string, number]; id: string }> = [];
  const n = Math.min(list.length, maxEntries);
  for (let i = 0; i < n; i++) {
    const entry: unknown = list[i];
    try {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[1] !== 'string') continue;
      out.push({ addr: parseAddr(entry[0]), id: checkId('peer id', entry[1]) });
    } catch {
      // a bad entry is skipped; the others still count
    }
  }
  return out;
}

/** A response's body: [[host, port], id]. */
export function parseResponse(bytes: Uint8Array | undefined, limits: JsonLimits): { addr: [string, number]; id: string } {
  const body = parseJsonPacket('response', bytes, limits);
  if (!Array.isArray(body) || body.length !== 2 || typeof body[1] !== 'string') throw new Error('not [addr, id]');
  return { addr: parseAddr(body[0]), id: checkId('response id', body[1]) };
}

/** A renegotiation's compression list. */
export function parseRenegotiation(bytes: Uint8Array | undefined, limits: JsonLimits): string[] {
  return parseMethods(parseJsonPacket('renegotiation', bytes, limits));
}
