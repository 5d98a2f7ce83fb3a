// Whispers and py2p's request/response route: a whisper to a peer not connected goes
// out as a broadcast request; the peer that knows the target answers with its address,
// and the whisper follows over a new connection.
import { createHash } from 'node:crypto';
import { flags } from '../protocol/flags.js';
import { toBase58 } from '../protocol/base58.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { MalformedControlError, RequestTimeoutError, TooManyRequestsError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import { dial } from './dial.js';
import { latin1, parseAddr } from './fields.js';
import { broadcastFromHere } from './flood.js';
import { peerListJson } from './handshake.js';
import type { Packet, RouterState, Settle } from './state.js';

export function whisper(s: RouterState, target: string, packets: Packet[], done: Settle<void>): void {
  const conn = s.routingTable.get(target);
  if (conn) {
    s.sendTo(conn, flags.whisper, [flags.whisper, ...packets]);
    return done.resolve();
  }
  const o = s.options;
  if (s.requests.size >= o.maxPendingRequests) return done.reject(new TooManyRequestsError(o.maxPendingRequests));
  s.host.print(0, "You aren't connected to the original sender. This reply is not guaranteed, but we're trying to make a connection and put the message through.");
  const digest = createHash('sha384').update(target).update(s.host.id()).update(String(s.utc())).update(String(++s.requestSerial)).digest();
  const requestId = toBase58(digest);
  s.requests.set(requestId, { target, packets, expiresAt: s.now() + o.requestTimeoutMs, done });
  broadcastFromHere(s, [requestId, target], flags.request, flags.broadcast);
}

/** A request: '*' asks for this node's peers list; otherwise for the address of a node. */
export function onRequest(s: RouterState, conn: Connection | undefined, p: Buffer[]): void {
  if (!conn || p.length < 2) return;
  const requestId = latin1(p[1]!);
  if (requestId === '*') {
    s.sendTo(conn, flags.whisper, [flags.peers, peerListJson(s)]);
    return;
  }
  if (p.length < 3) return;
  const target = latin1(p[2]!);
  const addr = target === s.host.id() ? s.host.outAddr() : s.routingTable.get(target)?.addr;
  if (addr) s.sendTo(conn, flags.broadcast, [flags.response, requestId, pyJsonDumps([addr, target])]);
}

/** A response to one of this node's requests: dial the address it names, then whisper. */
export function onResponse(s: RouterState, p: Buffer[], conn: Connection | undefined): void {
  if (p.length < 3) return;
  const requestId = latin1(p[1]!);
  const pending = s.requests.get(requestId);
  if (!pending) return;
  let addr: [string, number];
  let id: string;
  try {
    const body = JSON.parse(p[2]!.toString()) as unknown;
    if (!Array.isArray(body) || body.length !== 2 || typeof body[1] !== 'string') throw new Error('not [addr, id]');
    addr = parseAddr(body[0]);
    id = body[1];
  } catch (err) {
    return s.recordError(new MalformedControlError('response', (err as Error).message), conn?.id);
  }
  if (id !== pending.target) return;
  s.host.print(1, `Response received for request id ${requestId}`);
  s.requests.delete(requestId);
  // Once connected, the reply goes through the actor's input like any other command.
  const send = () => s.command({ type: 'whisper', id, packets: pending.packets, done: pending.done });
  dial(s, addr[0], addr[1], id, { resolve: send, reject: pending.done.reject });
}

/** Fails the requests no route turned up for in requestTimeoutMs. */
export function expireRequests(s: RouterState, now: number): void {
  for (const [rid, r] of s.requests) {
    if (now > r.expiresAt) {
      s.requests.delete(rid);
      r.done.reject(new RequestTimeoutError(r.target, s.options.requestTimeoutMs));
    }
  }
}
