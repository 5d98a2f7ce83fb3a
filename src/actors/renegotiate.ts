// py2p's renegotiation: a frame that does not decode makes both ends stop compressing
// and send their last message again; a peer may also change its compression list.
import { flags } from '../protocol/flags.js';
import { intersect } from '../protocol/compression.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { MalformedControlError, TooManyDecodeFailuresError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import { parseRenegotiation } from '../protocol/bounds.js';
import { latin1 } from './fields.js';
import { fanOut } from './flood.js';
import type { RouterState } from './state.js';

/**
 * A frame whose packets do not add up: py2p's answer is to ask the peer to stop
 * compressing and to send its last message again. This node stops compressing to
 * that peer first, so both frames arrive readable and the exchange converges.
 */
export function onUndecodable(s: RouterState, conn: Connection, error: Error): void {
  const o = s.options;
  s.recordError(error, conn.id ?? conn.remote);
  if (++conn.decodeFailures > o.maxDecodeFailures) return s.drop(conn, new TooManyDecodeFailuresError(o.maxDecodeFailures));
  if (!conn.handshaken) return;
  conn.stopCompressing();
  s.sendTo(conn, flags.renegotiate, [flags.compression, (conn.toldCompression = '[]')]);
  s.sendTo(conn, flags.renegotiate, [flags.resend]);
}

/** A renegotiate frame: [compression, JSON list] or [resend]. */
export function onRenegotiate(s: RouterState, conn: Connection, msg: PathfindingMessage): void {
  const p = msg.payload;
  if (p.length === 0) return;
  const what = latin1(p[0]!);
  if (what === flags.compression) {
    let methods: string[];
    try {
      methods = parseRenegotiation(p[1], s.options);
    } catch (err) {
      return s.recordError(new MalformedControlError('renegotiation', (err as Error).message), conn.id);
    }
    const changed = methods.length !== conn.compression.length || methods.some((m, i) => m !== conn.compression[i]);
    conn.setPeerCompression(methods);
    s.host.print(2, `Compression methods changed to: ${JSON.stringify(methods)}`);
    if (changed) s.sendTo(conn, flags.renegotiate, [flags.compression, (conn.toldCompression = pyJsonDumps(intersect(s.options.compression, methods)))]);
  } else if (what === flags.resend) {
    const last = conn.lastSent;
    if (last) fanOut(s, [conn], last.msgType, last);
  }
}
