// Bounds the router applies to a handshaken peer's messages before handling them (the
// field parsers themselves are pure, in src/protocol/bounds.ts).
import { MAX_ID_CHARS } from '../protocol/bounds.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { MalformedControlError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import type { RouterState } from './state.js';

/**
 * True (and recorded) when a message's sender is longer than a node id: it is no
 * node's, and is neither delivered nor passed on. py2p never sends one.
 */
export function refusedSender(s: RouterState, conn: Connection, msg: PathfindingMessage): boolean {
  const n = msg.senderBytes.length;
  if (n <= MAX_ID_CHARS) return false;
  s.recordError(new MalformedControlError('message', `sender of ${n} bytes is longer than a node id`), conn.id);
  return true;
}
