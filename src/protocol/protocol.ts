import { createHash } from 'node:crypto';
import { toBase58 } from './base58.js';
import { protocol_version } from './constants.js';

/**
 * A py2p protocol: nodes with different subnet or encryption refuse each
 * other. The id is base_58(SHA-256(utf8(subnet + encryption + "0.2"))), the
 * two fields joined without a separator (so ("a","bc") and ("ab","c") collide,
 * as in py2p).
 */
export class Protocol {
  #id: string | undefined;

  constructor(readonly subnet: string, readonly encryption: string) {
    Object.freeze(this);
  }

  get id(): string {
    return (this.#id ??= toBase58(
      createHash('sha256').update(this.subnet + this.encryption + protocol_version, 'utf8').digest(),
    ));
  }

  equals(other: Protocol): boolean {
    return this.subnet === other.subnet && this.encryption === other.encryption;
  }

  toString(): string {
    return `protocol(subnet=${JSON.stringify(this.subnet)}, encryption=${JSON.stringify(this.encryption)})`;
  }
}

/** Factory with py2p's call shape: protocol(subnet, encryption). */
export function protocol(subnet: string, encryption: string): Protocol {
  return new Protocol(subnet, encryption);
}

/** py2p base.default_protocol: empty subnet, Plaintext. */
export const default_protocol: Protocol = new Protocol('', 'Plaintext');
export const defaultProtocol = default_protocol;
