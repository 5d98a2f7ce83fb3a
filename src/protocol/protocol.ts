import { createHash } from 'node:crypto';
import { toBase58 } from './base58.js';
import { protocol_version } from './constants.js';
import { CodecScratch } from './scratch.js';

/**
 * A py2p protocol: nodes with different subnet or encryption refuse each
 * other. The id is base_58(SHA-256(utf8(subnet + encryption + "0.2"))), the
 * two fields joined without a separator (so ("a","bc") and ("ab","c") collide,
 * as in py2p).
 */
export class Protocol {
  #id: string | undefined;
  #scratch: CodecScratch | undefined;

  constructor(
    /** The subnet name: nodes of another subnet are refused. */
    readonly subnet: string,
    /** The encryption: 'Plaintext', 'SSL' or 'Ed25519'. */
    readonly encryption: string,
  ) {
    Object.freeze(this);
  }

  /** The protocol id (base_58 of SHA-256 of subnet, encryption and protocol version), compared in every handshake. */
  get id(): string {
    return (this.#id ??= toBase58(
      createHash('sha256').update(this.subnet + this.encryption + protocol_version, 'utf8').digest(),
    ));
  }

  /**
   * The working space of the messages built and read under this protocol (digest and
   * base_58 buffers, the last time's base_58, a zlib engine for a message compressed
   * without one): theirs, not a module's. Made when first asked for.
   */
  get scratch(): CodecScratch {
    return (this.#scratch ??= new CodecScratch());
  }

  /** True when `other` has the same subnet and encryption. */
  equals(other: Protocol): boolean {
    return this.subnet === other.subnet && this.encryption === other.encryption;
  }

  /** The Python-like form, `protocol(subnet="…", encryption="…")`. */
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
/** base.py's default protocol under rx2p's name: subnet '' and 'Plaintext'. */
export const defaultProtocol = default_protocol;
