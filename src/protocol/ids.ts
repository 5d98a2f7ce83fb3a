import { createHash } from 'node:crypto';
import { toBase58 } from './base58.js';
import { user_salt } from './constants.js';

/** The [host, port] a node advertises, which enters its id. */
export type OutAddr = readonly [host: string, port: number];

// Characters Python's str.isprintable() rejects: categories Cc, Cf, Cs, Co, Cn,
// Zl, Zp and Zs except the ASCII space. (Cn follows this Node's Unicode version.)
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python 3 repr() of a str. */
export function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(cp, 2);
    else if (cp < 0x7f) out += ch;
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      out += cp <= 0xff ? '\\x' + hex(cp, 2) : cp <= 0xffff ? '\\u' + hex(cp, 4) : '\\U' + hex(cp, 8);
    } else out += ch;
  }
  return out + quote;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * Python 3 str() of an (address, port) tuple or list, e.g. "('127.0.0.1', 4444)".
 * py2p hashes this text into the node id, so it must match byte for byte.
 */
export function pythonStr(outAddr: OutAddr, kind: 'tuple' | 'list' = 'tuple'): string {
  const [host, port] = outAddr;
  if (typeof host !== 'string' || !Number.isSafeInteger(port)) {
    throw new TypeError('outAddr must be [host: string, port: integer]');
  }
  const inner = `${pythonRepr(host)}, ${port}`;
  return kind === 'list' ? `[${inner}]` : `(${inner})`;
}

/**
 * A py2p node id: base_58(SHA-384(utf8(str(out_addr)) + protocol id + salt)).
 * `kind` is the Python type out_addr had on the py2p side ('list' when it was
 * given as a list). Like every base_58 id it is not padded.
 */
export function nodeId(
  outAddr: OutAddr,
  protocolId: string,
  salt: string | Uint8Array = user_salt,
  kind: 'tuple' | 'list' = 'tuple',
): string {
  const h = createHash('sha384');
  h.update(pythonStr(outAddr, kind), 'utf8');
  h.update(protocolId, 'utf8');
  if (typeof salt === 'string') h.update(salt, 'utf8');
  else h.update(salt);
  return toBase58(h.digest());
}
