import { map, type OperatorFunction } from 'rxjs';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';
import { BadPacketHeaderError, MalformedMessageError, type ProtocolError } from '../protocol/errors.js';
import type { Protocol } from '../protocol/protocol.js';
import type { InflatedFrame } from './inflate.js';

/** A decoded frame: the message (and whether its body was sent uncompressed against the negotiation), or the bytes and the error of a body that did not parse. */
export type ParsedFrame =
  | { ok: true; msg: PathfindingMessage; compressionFail: boolean }
  | { ok: false; raw: Buffer; error: ProtocolError };

/**
 * Decompressed bodies → pathfinding messages. A body whose packet headers do not add
 * up is passed on as a value, not an error: py2p answers it with a compression reset
 * and a resend request instead of hanging up. Anything else ends the stream.
 */
export function parseMessage(protocol: Protocol, limits: CodecLimits): OperatorFunction<InflatedFrame, ParsedFrame> {
  return map((frame): ParsedFrame => {
    try {
      // inflate() has decompressed already: what is left of feedString is fromBody.
      const msg = PathfindingMessage.fromBody(protocol, frame.body, null, limits);
      msg.compressionFail = frame.compressionFail;
      return { ok: true, msg, compressionFail: frame.compressionFail };
    } catch (err) {
      if (err instanceof BadPacketHeaderError || err instanceof MalformedMessageError) {
        return { ok: false, raw: frame.raw, error: err };
      }
      throw err;
    }
  });
}
