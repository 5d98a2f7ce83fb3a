// Whispers and py2p's request/response route: a whisper to a peer not connected goes
// out as a broadcast request; the peer that knows the target answers with its address,
// and the whisper follows over a new connection.
import { createHash } from 'node:crypto';
import { flags } from '../protocol/flags.js';
import { toBase58 } from '../protocol/base58.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { MalformedControlError, NoRouteError, RequestTimeoutError, TooManyRequestsError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import { dial } from './dial.js';
import { MAX_ID_CHARS, parseResponse } from '../protocol/bounds.js';
import { latin1 } from './fields.js';
import { broadcastFromHere } from './flood.js';
import { isListed, peerListJson } from './handshake.js';
import type { Packet, RouterState, Settle } from './state.js';

export function whisper(s: RouterState, target: string, packets: Packet[], done: Settle<void>): void {
  const conn = s.routingTable.get(target);
  if (conn) {
    s.sendTo(conn, flags.whisper, [flags.whisper, ...packets]);
    return done.resolve();
  }
  for (const route of s.stages.routeWhisper) {
    const routed = route(s, target, packets);
    if (routed === true) return done.resolve();
    if (routed instanceof Error) return done.reject(routed);
  }
  // A browser dials WebSocket URLs only: the TCP address a response names is of no use to it.
  if (s.host.followPeersLists === false) return done.reject(new NoRouteError(target, 'not connected, and no connected rx2p node is'));
  const o = s.options;
  // One request broadcast per target at a time: later whispers wait for its answer.
  for (const r of s.requests.values()) {
    if (r.target !== target) continue;
    r.followers ??= [];
    if (r.followers.length >= o.maxPendingRequests) return done.reject(new TooManyRequestsError(o.maxPendingRequests));
    r.followers.push({ packets, done });
    return;
  }
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
  // A request id or target longer than an id is no one's: not echoed back.
  if (p[1]!.length > MAX_ID_CHARS || (p.length >= 3 && p[2]!.length > MAX_ID_CHARS)) {
    return s.recordError(new MalformedControlError('request', 'request id or target longer than an id'), conn.id);
  }
  const requestId = latin1(p[1]!);
  if (requestId === '*') {
    s.sendTo(conn, flags.whisper, [flags.peers, peerListJson(s)]);
    return;
  }
  if (p.length < 3) return;
  const target = latin1(p[2]!);
  const known = s.routingTable.get(target);
  // A browser cannot be dialled: no address is given for it, by its nodes or by itself.
  const own = s.host.followPeersLists === false ? undefined : s.host.outAddr();
  const addr = target === s.host.id() ? own : known && isListed(known) ? known.addr : undefined;
  if (addr) s.sendTo(conn, flags.broadcast, [flags.response, requestId, pyJsonDumps([addr, target])]);
}

/** A response to one of this node's requests: dial the address it names, then whisper. */
export function onResponse(s: RouterState, p: Buffer[], conn: Connection | undefined): void {
  if (p.length < 3 || p[1]!.length > MAX_ID_CHARS) return;
  const requestId = latin1(p[1]!);
  const pending = s.requests.get(requestId);
  if (!pending) return;
  let addr: [string, number];
  let id: string;
  try {
    ({ addr, id } = parseResponse(p[2], s.options));
  } catch (err) {
    return s.recordError(new MalformedControlError('response', (err as Error).message), conn?.id);
  }
  if (id !== pending.target) return;
  s.host.print(1, `Response received for request id ${requestId}`);
  s.requests.delete(requestId);
  // Once connected, the reply goes through the actor's input like any other command.
  const all = [{ packets: pending.packets, done: pending.done }, ...(pending.followers ?? [])];
  const send = () => { for (const w of all) s.command({ type: 'whisper', id, packets: w.packets, done: w.done }); };
  dial(s, addr[0], addr[1], id, { resolve: send, reject: (err) => { for (const w of all) w.done.reject(err); } });
}

/** Fails the requests no route turned up for in requestTimeoutMs. */
export function expireRequests(s: RouterState, now: number): void {
  for (const [rid, r] of s.requests) {
    if (now > r.expiresAt) {
      s.requests.delete(rid);
      r.done.reject(new RequestTimeoutError(r.target, s.options.requestTimeoutMs));
      for (const w of r.followers ?? []) w.done.reject(new RequestTimeoutError(r.target, s.options.requestTimeoutMs));
    }
  }
}
