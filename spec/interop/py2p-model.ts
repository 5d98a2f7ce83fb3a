// py2p 0.2's receive path as a model, so that CI can check every frame rx2p writes to a
// py2p peer without py2p. Read from the release's py_src/mesh.py (mesh_connection.
// found_terminator, mesh_socket.handle_msg and its __handle_* methods, waterfall) and
// py_src/base.py (pathfinding_message.feed_string, decompress_string, process_string):
// which packets each flag and subflag indexes, what makes it raise (an exception in the
// daemon loop is recorded in daemon.exceptions and the sending peer is dropped), and what
// makes it write to every peer. The live spec (live-soak.spec.ts) runs the real thing.
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** py2p's compression list (base.compression, lzma present). */
export const PY2P_METHODS = ['gzip', 'bz2', 'lzma'];

/** What py2p 0.2 does with one frame. */
export type Outcome =
  /** An exception in the daemon loop: recorded, and the peer that sent the frame dropped. */
  | { kind: 'raises'; error: string }
  /** It shuts the connection down (a handshake for another protocol). */
  | { kind: 'disconnects'; why: string }
  /** It writes to every peer: its routing table (`request *`) or a flood of this message (waterfall()). */
  | { kind: 'writes-to-all'; what: 'routing-table' | 'flood'; subflag: string }
  /** It answers on this connection only. */
  | { kind: 'answers'; what: string }
  /** It dials the addresses of a peers list (connect() raises where one refuses). */
  | { kind: 'dials'; addrs: Array<[string, number]> }
  /** Queued for its user (a whisper). */
  | { kind: 'queued' }
  /** Read and dropped, or applied to the connection (compression list, peer id). */
  | { kind: 'ignored'; why: string };

/** The state of one py2p 0.2 node and of its connection to the peer that writes the frames. */
export interface Py2pState {
  protocolId: string;
  /** py2p's clock, seconds. */
  now: number;
  /** Ids in its routing table. */
  routingTable: Set<string>;
  /** Ids of messages in its waterfalls deque. */
  waterfalls: Set<string>;
  /** The connection's compression list, as the peer's handshake (or a renegotiation) set it. */
  compression: string[];
  /** The connection's last_sent: py2p sets it on every whisper or broadcast it writes (its handshake is one). */
  hasLastSent: boolean;
  /** len(outgoing) < max_outgoing: peers lists are followed. */
  dialsPeers: boolean;
}

class PyError extends Error {}

function fromBase58(b: Buffer): number {
  let n = 0;
  const s = b.toString('utf8'); // .decode(): a non-UTF-8 time raises too
  if (Buffer.from(s, 'utf8').compare(b) !== 0) throw new PyError('UnicodeDecodeError in from_base_58');
  for (const c of s) {
    const d = BASE58.indexOf(c);
    if (d < 0) throw new PyError('ValueError: substring not found (from_base_58)');
    n = n * 58 + d;
  }
  return n;
}

function toBase58(n: bigint): string {
  let s = '';
  while (n > 0n) {
    s = BASE58[Number(n % 58n)] + s;
    n /= 58n;
  }
  return s;
}

/** pathfinding_message.id: base_58 of SHA-384 over the payload and the base_58 time. */
export function py2pId(payload: Buffer[], time: number): string {
  const h = createHash('sha384');
  for (const p of payload) h.update(p);
  h.update(toBase58(BigInt(time)));
  return toBase58(BigInt(`0x${h.digest('hex')}`));
}

/** base.process_string: the packets of a plain body, or undefined where py2p's parse fails (struct.error, IndexError). */
function processString(body: Buffer): Buffer[] | undefined {
  let processed = 0;
  let expected = body.length;
  const lens: number[] = [];
  while (processed !== expected) {
    if (processed + 4 > body.length) return undefined; // struct.unpack on fewer than 4 bytes
    const n = body.readUInt32BE(processed);
    lens.push(n);
    processed += 4;
    expected -= n;
    if (processed > expected && processed !== expected) return undefined; // runs past: struct.error
  }
  const packets: Buffer[] = [];
  let start = processed;
  for (const n of lens) {
    packets.push(body.subarray(start, start + n));
    start += n;
  }
  return packets;
}

/** json.loads of a packet (after .decode()), or a PyError. */
function jsonOf(b: Buffer | undefined, where: string): unknown {
  if (b === undefined) throw new PyError(`IndexError: list index out of range (${where})`);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b));
  } catch {
    throw new PyError(`ValueError: bad JSON (${where})`);
  }
}

function at(p: Buffer[], i: number, where: string): Buffer {
  const v = p[i];
  if (v === undefined) throw new PyError(`IndexError: list index out of range (${where} reads packet ${i} of ${p.length})`);
  return v;
}

/** A JSON list of strings, as py2p's `[algo.encode() for algo in …]` needs. */
function methodsOf(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new PyError(`TypeError/AttributeError: ${where} is not a list of strings`);
  for (const m of v) if (typeof m !== 'string') throw new PyError(`AttributeError: ${where} holds a non-string`);
  return v as string[];
}

/**
 * What py2p 0.2 does with one frame body (the bytes after the 4-byte size header) from
 * the connection `st` describes; `st` is updated as py2p would update it.
 */
export function py2pReceives(body: Buffer, st: Py2pState): Outcome {
  try {
    return receive(body, st);
  } catch (e) {
    if (e instanceof PyError) return { kind: 'raises', error: e.message };
    throw e;
  }
}

function receive(body: Buffer, st: Py2pState): Outcome {
  // decompress_string: each method both sides know, in the peer's order; plain if all fail.
  let plain = body;
  for (const m of st.compression.filter((c) => PY2P_METHODS.includes(c))) {
    if (m !== 'gzip') continue; // rx2p never writes bz2 or lzma (it does not advertise them)
    try {
      plain = inflateSync(body);
      break;
    } catch {
      // compression_fail: the plain bytes are parsed
    }
  }
  const packets = processString(plain);
  if (packets === undefined || packets.length < 4) {
    // feed_string failed: py2p renegotiates, but first formats intersect(compression, …)[0],
    // which raises where the peer named no method py2p knows.
    if (!st.compression.some((c) => PY2P_METHODS.includes(c))) throw new PyError('IndexError in the "Failed to decode" message (no common method)');
    return { kind: 'answers', what: 'renegotiate compression [] and resend (it could not read the frame)' };
  }
  const [type, , wireId, timePacket] = packets as [Buffer, Buffer, Buffer, Buffer];
  const payload = packets.slice(4);
  const time = fromBase58(timePacket);
  const flag = type.toString('latin1');
  let handler: 'connection' | 'sender-id' = 'connection';
  if (flag === 'waterfall') {
    if (st.waterfalls.has(wireId.toString('latin1'))) return { kind: 'ignored', why: 'waterfall already captured' };
    // py2p 0.2's age test is inverted: a waterfall younger than 60 s is dropped.
    if (time > st.now - 60) return { kind: 'ignored', why: 'waterfall "expired" (younger than 60 s)' };
    handler = 'sender-id'; // reply_object = packets[1]: a bytes id, not a connection
  } else if (flag === 'renegotiate') {
    const what = at(packets, 4, 'renegotiate').toString('latin1');
    if (what === 'compression') {
      const methods = methodsOf(jsonOf(packets[5], 'renegotiate compression'), 'renegotiate compression');
      const changed = methods.join('\0') !== st.compression.join('\0');
      st.compression = methods;
      return changed ? { kind: 'answers', what: 'renegotiate compression (its list)' } : { kind: 'ignored', why: 'compression list unchanged' };
    }
    if (what === 'resend') {
      if (!st.hasLastSent) throw new PyError('TypeError: send() missing msg_type (resend with no last_sent)');
      return { kind: 'answers', what: 'resend: its last whisper or broadcast to this peer, dated anew' };
    }
    // any other renegotiate falls through to handle_msg
  }
  return handleMsg(payload, time, st, handler);
}

function handleMsg(p: Buffer[], time: number, st: Py2pState, handler: 'connection' | 'sender-id'): Outcome {
  const subflag = at(p, 0, 'handle_msg').toString('latin1');
  const noConnection = (what: string) => {
    if (handler === 'sender-id') throw new PyError(`AttributeError: 'bytes' object has no attribute '${what}' (an old waterfall's handler is its sender id)`);
  };
  switch (subflag) {
    case 'handshake': {
      noConnection('sock');
      if (at(p, 2, 'handshake').toString('latin1') !== st.protocolId) return { kind: 'disconnects', why: 'handshake for another protocol' };
      const id = at(p, 1, 'handshake').toString('latin1');
      jsonOf(p[3], 'handshake addr');
      st.compression = methodsOf(jsonOf(p[4], 'handshake compression'), 'handshake compression');
      const again = st.routingTable.has(id);
      st.routingTable.add(id);
      return { kind: 'answers', what: again ? 'its peers list, again (a second handshake)' : 'its peers list' };
    }
    case 'peers': {
      const list = jsonOf(p[1], 'peers');
      if (!Array.isArray(list)) throw new PyError('TypeError: peers list is not a list');
      const addrs: Array<[string, number]> = [];
      for (const entry of list) {
        if (!Array.isArray(entry) || entry.length !== 2) throw new PyError('ValueError: a peers entry is not (addr, id)');
        const [addr, id] = entry as [unknown, unknown];
        if (!st.dialsPeers || !addr) continue;
        if (!Array.isArray(addr) || addr.length < 2 || typeof addr[0] !== 'string' || typeof addr[1] !== 'number') throw new PyError('TypeError/IndexError: a peers address is not [host, port]');
        if (typeof id !== 'string') throw new PyError('AttributeError: a peers id is not a string');
        if (st.routingTable.has(id)) continue;
        addrs.push([addr[0], addr[1]]);
      }
      return addrs.length === 0 ? { kind: 'ignored', why: 'peers list: nothing new to dial' } : { kind: 'dials', addrs };
    }
    case 'response':
      // Only for a request py2p made itself (message.reply() to a sender it is not connected to).
      at(p, 1, 'response');
      return { kind: 'ignored', why: 'response to no request of its own' };
    case 'request': {
      at(p, 1, 'request');
      const target = at(p, 2, 'request').toString('latin1');
      if (st.routingTable.has(target)) {
        noConnection('send');
        return { kind: 'answers', what: 'broadcast response with the target\'s address' };
      }
      if (target === '*') return { kind: 'writes-to-all', what: 'routing-table', subflag };
      return { kind: 'ignored', why: 'request for an id it does not know' };
    }
    case 'whisper':
      return { kind: 'queued' };
    default: {
      // waterfall(): a message whose id it has not seen goes to every peer (and its user).
      const id = py2pId(p, time);
      if (st.waterfalls.has(id)) return { kind: 'ignored', why: 'not rebroadcasting (id seen)' };
      st.waterfalls.add(id);
      return { kind: 'writes-to-all', what: 'flood', subflag };
    }
  }
}
