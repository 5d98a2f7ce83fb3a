// The network key of the authenticated protocol: a secret shared by the members, of
// which each proves knowledge with an HMAC of its handshake transcript. An HMAC lets
// whoever holds it test guesses offline, so the key must not be guessable: 32 random
// bytes (rx2p --network-key-new writes them). A passphrase is refused.
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** A network key is 32 bytes; given as text, 64 hex digits. */
export const NETWORK_KEY_BYTES = 32;

/**
 * The key's bytes: 64 hex digits (what a key file holds, surrounding whitespace
 * ignored) are decoded, anything else is taken as it is. Refused (InvalidArgumentError)
 * unless it is at least 32 bytes that look random: not all printable text (a
 * passphrase; 32 random bytes are all printable once in about 10^14) and at least 16
 * different byte values (32 random bytes have about 30).
 */
export function networkKeyBytes(key: string | Uint8Array): Buffer {
  let bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  const text = bytes.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex');
  const fault = bytes.length < NETWORK_KEY_BYTES ? `${bytes.length} bytes`
    : bytes.every((b) => b >= 0x20 && b < 0x7f) ? 'printable text (a passphrase?)'
    : new Set(bytes).size < 16 ? 'too few different bytes'
    : undefined;
  if (fault !== undefined) {
    throw new InvalidArgumentError(`option networkKey must be ${NETWORK_KEY_BYTES} random bytes (or their 64 hex digits; rx2p --network-key-new FILE writes one), got ${fault}`);
  }
  return bytes;
}

/** A new network key, as a key file holds it: 64 hex digits and a newline. */
export function newNetworkKeyText(): string {
  return `${randomBytes(NETWORK_KEY_BYTES).toString('hex')}\n`;
}
