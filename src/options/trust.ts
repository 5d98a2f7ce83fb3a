// The authenticated protocol's options (docs/trust.md): the node key, who is admitted,
// the network key, signature bounds and batches. Part of the options table
// (src/options/table.ts, src/options.ts).
import { InvalidArgumentError } from '../errors.js';
import { allowListIds, type AdmitPolicy, type AllowEntry } from '../trust/admission.js';
import { generateIdentity, loadIdentity, type Identity, type IdentityInput } from '../trust/identity.js';
import { networkKeyBytes } from '../trust/network-key.js';
import { isAuthenticated } from '../trust/protocol.js';
import { MAX_BATCH } from '../trust/signed-message.js';
import type { Protocol } from '../protocol/protocol.js';
import { int, opt, type GivenOptions } from './table.js';

/** The authenticated protocol: identity, admission, network key, signatures. */
export const trustOptions = {
  /**
   * Authenticated protocol (encryption 'Ed25519'): this node's Ed25519 private key (a
   * KeyObject, or PEM / PKCS#8 DER); its node id is base_58(SHA-384(public key)).
   * Default: a new key per socket (a new id each run; the command's --identity keeps one).
   */
  identity: opt<IdentityInput, Identity | undefined>(identityOf),
  /**
   * Authenticated protocol: the peers admitted, as node ids or public keys (PEM,
   * KeyObject, 32 raw bytes). Default: any peer that proves its key (and `admit` allows).
   */
  allow: opt<Iterable<AllowEntry>, ReadonlySet<string> | undefined>((v) => (v === undefined ? undefined : allowListIds(v))),
  /** Authenticated protocol: a custom admission policy, asked about each peer whose proof verified. */
  admit: opt<AdmitPolicy>(checkAdmit),
  /**
   * Authenticated protocol: a secret shared by the members: 32 random bytes, or their
   * 64 hex digits (a passphrase is refused: see trust/network-key.ts). The acceptor's
   * proof carries an HMAC of its transcript under it, then the dialler's: a node
   * without it cannot join.
   */
  networkKey: opt<string | Uint8Array, Buffer | undefined>(networkKeyOf),
  /**
   * Authenticated protocol: a peer that passes this node more than this many
   * messages failing signature verification (or naming another sender on a direct
   * message) is dropped. An honest peer relays nothing it has not verified. Default 3.
   */
  maxBadSignatures: int(3),
  /** Authenticated protocol: public keys of message origins kept ready for verification, at most. Default 4,096. */
  senderKeyCacheSize: int(4_096, 1),
  /**
   * Authenticated protocol: signed batches whose signature was verified, kept (with the
   * nodes of their Merkle trees met so far, at most 2 x signatureBatch each) so that
   * their other messages cost no verification. Default 256.
   */
  verifiedBatchCacheSize: int(256, 1),
  /**
   * Authenticated protocol: the broadcasts send() is given in one tick are signed
   * together, at most this many under one signature (a Merkle tree; each message
   * carries its path, 32 bytes per doubling): a receiver verifies one signature per
   * batch instead of one per message. 1 signs each message alone. At most 256. Default 32.
   */
  signatureBatch: int(32, 1, MAX_BATCH),
  /**
   * Authenticated protocol, with an allow-list: a broadcast or waterfall whose origin is
   * not on the list is dropped (counted in stats.unadmittedOrigins), whoever relayed
   * it. False delivers messages of any origin whose signature verifies. Without an
   * allow-list there is nothing to check. Default true.
   */
  admitOrigins: opt<boolean, boolean>((v, given) => given.allow !== undefined && v !== false),
};

/** The node key: given, or generated for an authenticated protocol; undefined otherwise. */
function identityOf(given: IdentityInput | undefined, o: GivenOptions): Identity | undefined {
  if (given !== undefined) return loadIdentity(given);
  const protocol = (o.protocol ?? o.prot) as Protocol | undefined;
  return protocol && isAuthenticated(protocol) ? generateIdentity() : undefined;
}

function checkAdmit(admit: AdmitPolicy | undefined): AdmitPolicy | undefined {
  if (admit !== undefined && typeof admit !== 'function') throw new InvalidArgumentError('option admit must be a function');
  return admit;
}

function networkKeyOf(key: string | Uint8Array | undefined): Buffer | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) throw new InvalidArgumentError('option networkKey must be a string or bytes');
  return networkKeyBytes(key);
}
