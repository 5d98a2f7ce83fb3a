// Subflag-level handling (py2p's handle_msg): one registry, one handler per subflag.
// The core registers handshake, peers, request and response here; components register
// theirs when started (repair, the WebSocket directory and its relay, the proofs of the
// authenticated protocol). A message whose subflag nobody registered goes to the user.
import { flags } from '../protocol/flags.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { Message } from '../protocol/user-message.js';
import type { Connection } from '../streams/connection.js';
import { PIECES_FROM_BYTES } from './flood.js';
import { onHandshake, onPeers } from './handshake.js';
import { onRequest, onResponse } from './requests.js';
import type { RouterState } from './state.js';

/** Registers the core protocol's subflags. */
export function registerCoreSubflags(s: RouterState): void {
  // A handshaken peer's repeated or flooded handshake changes nothing; before the
  // handshake, it is the one frame read (besides what a component holding it waits for).
  s.registerSubflag(flags.handshake, { handle: () => true, early: onHandshake });
  s.registerSubflag(flags.peers, {
    handle: (st, msg, conn) => {
      if (conn) onPeers(st, conn, msg.payload);
      return true;
    },
  });
  s.registerSubflag(flags.request, { requests: true, handle: (st, msg, conn) => {
    onRequest(st, conn, msg.payload);
    return true;
  } });
  s.registerSubflag(flags.response, { requests: true, handle: (st, msg, conn) => {
    onResponse(st, msg.payload, conn);
    return true;
  } });
}

/**
 * A whisper, or a broadcast admitted (`relaying`: it is about to be relayed): its
 * subflag's handler, else the user. Returns the plain waterfall frame made while
 * delivering a message about to be relayed, if one was (relay() sends it).
 */
export function handleMessage(s: RouterState, msg: PathfindingMessage, conn: Connection | undefined, relaying: boolean): Buffer | undefined {
  const subflag = msg.subflag;
  if (subflag === undefined) return undefined;
  const handler = s.subflags.get(subflag);
  if (handler !== undefined && handler.handle(s, msg, conn)) return undefined;
  return deliver(s, msg, relaying);
}

/** handleRequest(): the request route's subflags only; true if the message was one. */
export function handleRequestOnly(s: RouterState, msg: PathfindingMessage): boolean {
  const subflag = msg.subflag;
  if (subflag === undefined) return false;
  const handler = s.subflags.get(subflag);
  return handler !== undefined && handler.requests === true && handler.handle(s, msg, undefined);
}

/** A frame from a connection not handshaken yet: only its subflag's early handler hears it. */
export function handleEarly(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
  if (msg.msgType !== flags.whisper) return;
  const subflag = msg.subflag;
  if (subflag === undefined) return;
  s.subflags.get(subflag)?.early?.(s, conn, msg);
}

/**
 * Hands the user a message, with bytes of its own (see compacted()). One about to be
 * relayed shares them with its plain relay frame, returned for relay() to send: one
 * copy of the body instead of two.
 */
function deliver(s: RouterState, msg: PathfindingMessage, relaying: boolean): Buffer | undefined {
  s.stats.delivered++;
  let copy: PathfindingMessage | undefined;
  let frame: Buffer | undefined;
  if (relaying && msg.payloadBytes < PIECES_FROM_BYTES) {
    const shared = msg.relayAndCompact(flags.waterfall);
    if (shared !== undefined) {
      copy = shared.message;
      frame = shared.frame;
    }
  }
  // Where a component proves senders (the authenticated protocol), every message
  // delivered was proven: a broadcast by its origin's signature, a whisper by its connection.
  s.host.deliver(new Message(copy ?? msg.compacted(), s.host.server, s.sendersProven,
    s.trailerPackets !== 0 && (msg.msgType === flags.broadcast || msg.msgType === flags.waterfall) ? s.trailerPackets : 0));
  return frame;
}
