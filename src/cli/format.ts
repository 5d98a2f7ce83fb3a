// What the `rx2p` command prints: pure functions from messages and events to a JSON
// record or a human line, so both output modes show the same facts.
import type { Message } from '../protocol/user-message.js';

/** One received message as the command prints it (`--json` writes it as is). */
export interface MessageRecord {
  type: 'message';
  /** The original sender's node id. */
  sender: string;
  /** The message id (base_58 of SHA-384 over payload and time). */
  id: string;
  /** Unix seconds, as stamped by the sender. */
  time: number;
  /** 'broadcast' for a flooded message, 'whisper' for one sent to this node only. */
  subflag: string;
  /** The packets after the subflag, decoded as UTF-8. */
  packets: string[];
  /** The same packets in base64, present only when some packet is not valid UTF-8. */
  packetsBase64?: string[];
  /** Present (true) only in the authenticated protocol (--auth): the sender is proven. */
  verified?: true;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(b: Uint8Array): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

export function messageRecord(m: Message): MessageRecord {
  const [subflag, ...packets] = m.packets;
  const record: MessageRecord = {
    type: 'message',
    sender: m.sender,
    id: m.id,
    time: m.time,
    subflag: subflag?.toString('latin1') ?? '',
    packets: packets.map((p) => p.toString('utf8')),
  };
  if (!packets.every(isUtf8)) record.packetsBase64 = packets.map((p) => p.toString('base64'));
  if (m.verified) record.verified = true;
  return record;
}

/**
 * Characters a terminal acts on rather than shows: C0 controls (ESC, CR, LF, BEL, ...),
 * DEL, C1 controls (0x9b is a one-byte CSI), Unicode line and paragraph separators, and
 * the bidi marks, embeddings, overrides and isolates that reorder what follows them.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Text from a peer made safe for a terminal: the characters above are written as
 * `\x1b`, `\u202e` and so on, so that what a peer sent is one line that cannot move
 * the cursor, restyle or retitle the terminal, or reorder the line around it.
 */
export function safeText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** A node id shortened for display (made safe: ids come from peers); the full id is in `/peers`. */
export function shortId(id: string): string {
  return safeText(id.length > 12 ? `${id.slice(0, 10)}…` : id);
}

/** "[14:03:59] 5hHk3B8qZx… (whisper): hello" (time is local, from the sender's stamp); one line, whatever the peer sent. */
export function formatMessage(r: MessageRecord): string {
  const t = new Date(r.time * 1000);
  const hms = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const kind = r.subflag === 'broadcast' ? '' : ` (${safeText(r.subflag)})`;
  return `[${hms}] ${shortId(r.sender)}${kind}: ${safeText(r.packets.join(' '))}`;
}
