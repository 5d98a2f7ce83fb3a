// Signed broadcasts of the authenticated protocol. The origin appends one packet to
// the payload, the trailer; relays pass the message on unchanged, so the origin's
// signature travels with every copy. The trailer carries the origin's raw public key
// because the origin need not be a direct peer: a receiver checks that it hashes to
// the sender id, then the signature.
//
// The origin signs batches: the messages it sends in one tick (at most signatureBatch
// of them) are the leaves of a Merkle tree, and one Ed25519 signature covers its root.
// Each message carries the signature, its index, the batch size and the sibling hashes
// from its leaf to the root, so it is verified on its own; a receiver that verified the
// root once (for an earlier message of the batch) only hashes the path for the others.
// Origin proof is unchanged (each message is bound to a signed root); what a batch of
// one costs is one signature per message, as without batches.
//
// Trailer: public key (32) ‖ signature (64) ‖ count (u16) ‖ index (u16) ‖ path (32 each,
// ceil(log2(count)) of them, leaf level first).
//
// One encoding per signed message: the leaf binds the batch size and the message's
// index, so a leaf has one place in one tree and one path to the root (another would
// be a SHA-256 collision); the signature is checked strictly (strict.ts: no second
// encoding of it); the key must hash to the sender. A relay can change no byte of a
// trailer and keep it valid, so what de-duplication keys on (payload with trailer, and
// time) names one signed message, and no altered copy is ever new.
import * as nodeCrypto from 'node:crypto';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { strictVerify } from './strict.js';
import { toBase58 } from '../protocol/base58.js';
import type { Identity } from './identity.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, idOfPublicKey, publicKeyFromRaw } from './identity.js';

/** Key, signature, count and index: the trailer of a batch of one. */
export const TRAILER_HEAD_BYTES = PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 4;
/** The largest batch the protocol allows (8 path hashes, 256 bytes). */
export const MAX_BATCH = 256;
const HASH_BYTES = 32;
const MESSAGE_CONTEXT = Buffer.from('rx2p Ed25519 message v2\0', 'latin1');
const BATCH_CONTEXT = Buffer.from('rx2p Ed25519 batch v2\0', 'latin1');
/** The leaf that fills a batch up to a power of two (no message hashes to it). */
const PAD_LEAF = createHash('sha256').update('rx2p Ed25519 batch padding v1').digest();
const INNER = Buffer.from([1]);
// node:crypto's one-shot hash() (Node >= 20.12), read through the namespace as
// message.ts does; scratch buffers for what it hashes (the actor is single-threaded).
const oneShotHash = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;
const SCRATCH = Buffer.allocUnsafe(16 * 1024);
const NODE_SCRATCH = Buffer.allocUnsafe(1 + 2 * HASH_BYTES);

/**
 * A message's leaf: SHA-256 over a context label, the batch size and the message's
 * index in it, the protocol id, the sender, the time (its base_58 packet) and the
 * payload packets before the trailer, each with its length. Not the message type: a
 * relay changes broadcast to waterfall.
 */
export function messageDigest(protocolId: string, sender: Uint8Array, time58: string, packets: readonly Uint8Array[], count = 1, index = 0): Buffer {
  let size = MESSAGE_CONTEXT.length + 4 + protocolId.length + 1 + 12 + sender.length + time58.length;
  for (const p of packets) size += 4 + p.length;
  if (oneShotHash !== undefined && size <= SCRATCH.length) {
    // Small messages (nearly all): one buffer and node:crypto's one-shot hash, about a
    // third of the cost of a Hash object fed piece by piece.
    let at = MESSAGE_CONTEXT.copy(SCRATCH, 0);
    at = SCRATCH.writeUInt16BE(count, at);
    at = SCRATCH.writeUInt16BE(index, at);
    at += SCRATCH.write(protocolId, at, 'latin1');
    SCRATCH[at++] = 0;
    at = SCRATCH.writeUInt32BE(sender.length, at);
    at += Buffer.from(sender.buffer, sender.byteOffset, sender.byteLength).copy(SCRATCH, at);
    at = SCRATCH.writeUInt32BE(time58.length, at);
    at += SCRATCH.write(time58, at, 'latin1');
    at = SCRATCH.writeUInt32BE(packets.length, at);
    for (const p of packets) {
      at = SCRATCH.writeUInt32BE(p.length, at);
      SCRATCH.set(p, at);
      at += p.length;
    }
    return oneShotHash('sha256', SCRATCH.subarray(0, at), 'buffer') as unknown as Buffer;
  }
  const h = createHash('sha256');
  const head = Buffer.allocUnsafe(4);
  h.update(MESSAGE_CONTEXT);
  head.writeUInt16BE(count, 0);
  head.writeUInt16BE(index, 2);
  h.update(head);
  h.update(protocolId, 'latin1');
  h.update('\0', 'latin1');
  head.writeUInt32BE(sender.length, 0);
  h.update(head).update(sender);
  head.writeUInt32BE(time58.length, 0);
  h.update(head).update(time58, 'latin1');
  head.writeUInt32BE(packets.length, 0);
  h.update(head);
  for (const p of packets) {
    head.writeUInt32BE(p.length, 0);
    h.update(head).update(p);
  }
  return h.digest();
}

function inner(left: Buffer, right: Buffer): Buffer {
  if (oneShotHash !== undefined) {
    NODE_SCRATCH[0] = 1;
    left.copy(NODE_SCRATCH, 1);
    right.copy(NODE_SCRATCH, 1 + HASH_BYTES);
    return oneShotHash('sha256', NODE_SCRATCH, 'buffer') as unknown as Buffer;
  }
  return createHash('sha256').update(INNER).update(left).update(right).digest();
}

/** Path hashes a batch of `count` messages carries: ceil(log2(count)). */
export function pathLength(count: number): number {
  let k = 0;
  while (1 << k < count) k++;
  return k;
}

/** What the origin signs for a batch: a context label, the batch size and the root. */
export function signedRoot(count: number, root: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BATCH_CONTEXT.length + 2 + HASH_BYTES);
  BATCH_CONTEXT.copy(out, 0);
  out.writeUInt16BE(count, BATCH_CONTEXT.length);
  root.copy(out, BATCH_CONTEXT.length + 2);
  return out;
}

/** One message of a batch the origin signs: its time and its payload packets (trailer not included). */
export interface BatchItem {
  time: number;
  packets: readonly Uint8Array[];
}

/** The trailers of a batch of messages this node originates (one signature for all). */
export function signBatch(identity: Identity, protocolId: string, items: readonly BatchItem[]): Buffer[] {
  const count = items.length;
  if (count < 1 || count > MAX_BATCH) throw new RangeError(`a batch holds 1..${MAX_BATCH} messages, not ${count}`);
  const sender = Buffer.from(identity.id, 'latin1');
  const k = pathLength(count);
  let lastTime = -1;
  let time58 = '';
  const levels: Buffer[][] = [items.map((it, index) => {
    if (it.time !== lastTime) time58 = toBase58((lastTime = it.time));
    return messageDigest(protocolId, sender, time58, it.packets, count, index);
  })];
  while (levels[0]!.length < 1 << k) levels[0]!.push(PAD_LEAF);
  for (let l = 0; l < k; l++) {
    const below = levels[l]!;
    const up: Buffer[] = [];
    for (let i = 0; i < below.length; i += 2) up.push(inner(below[i]!, below[i + 1]!));
    levels.push(up);
  }
  const root = levels[k]![0]!;
  const signature = sign(null, signedRoot(count, root), identity.privateKey);
  return items.map((_, index) => {
    const out = Buffer.allocUnsafe(TRAILER_HEAD_BYTES + k * HASH_BYTES);
    identity.rawPublicKey.copy(out, 0);
    signature.copy(out, PUBLIC_KEY_BYTES);
    out.writeUInt16BE(count, PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
    out.writeUInt16BE(index, PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 2);
    for (let l = 0, i = index; l < k; l++, i >>= 1) levels[l]![i ^ 1]!.copy(out, TRAILER_HEAD_BYTES + l * HASH_BYTES);
    return out;
  });
}

/** The trailer of one message signed alone. */
export function signTrailer(identity: Identity, protocolId: string, time: number, packets: readonly Uint8Array[]): Buffer {
  return signBatch(identity, protocolId, [{ time, packets }])[0]!;
}

export interface Trailer {
  publicKey: Buffer;
  signature: Buffer;
  count: number;
  index: number;
  path: Buffer;
}

/** The trailer's fields, shape-checked (no crypto), or why it is unusable. */
export function readTrailer(t: Buffer): Trailer | string {
  if (t.length < TRAILER_HEAD_BYTES) return 'missing';
  const count = t.readUInt16BE(PUBLIC_KEY_BYTES + SIGNATURE_BYTES);
  const index = t.readUInt16BE(PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 2);
  if (count < 1 || count > MAX_BATCH || index >= count) return 'bad batch position';
  if (t.length !== TRAILER_HEAD_BYTES + pathLength(count) * HASH_BYTES) return 'bad batch path';
  return {
    publicKey: t.subarray(0, PUBLIC_KEY_BYTES),
    signature: t.subarray(PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES + SIGNATURE_BYTES),
    count, index, path: t.subarray(TRAILER_HEAD_BYTES),
  };
}

/**
 * The root a message's leaf and path lead to. `nodes`, if given, receives every node
 * met on the way (the leaf, the siblings, the nodes computed, the root).
 */
export function rootOf(leaf: Buffer, index: number, path: Buffer, nodes?: Buffer[]): Buffer {
  let node = leaf;
  for (let at = 0, i = index; at < path.length; at += HASH_BYTES, i >>= 1) {
    const sibling = path.subarray(at, at + HASH_BYTES);
    nodes?.push(node, sibling);
    node = (i & 1) === 0 ? inner(node, sibling) : inner(sibling, node);
  }
  nodes?.push(node);
  return node;
}

interface KnownKey {
  key: KeyObject;
  id: string;
  /** The id as latin1 bytes, to compare with a sender packet in place. */
  idBytes: Buffer;
}

/**
 * Public keys met in signed messages, with their ids (making a KeyObject costs about
 * as much as a verification, the id a SHA-384 and a base_58), and the batches already
 * verified, each as the tree nodes met so far by position (so the other messages of a
 * batch cost no verification, and most of them one hash of their path or none). A
 * message of a known batch is in it if its path, hashed up from its leaf, meets the
 * node known at that position, and every sibling above is the one known there: then
 * its path is the one path from its leaf to the verified root (another would be a
 * SHA-256 collision), so no altered trailer passes. Nodes are kept in sibling pairs, so
 * above any known node the siblings are known. Both bounded; the oldest go first.
 */
export class SenderKeys {
  private readonly known = new Map<string, KnownKey>();
  private readonly batches = new Map<string, Map<number, Buffer>>();
  constructor(private readonly max: number, private readonly maxBatches: number) {}

  /**
   * The key and id of `raw`, if its id is `sender` (checked by the caller on a cache
   * hit); undefined if it is not. A key that is not the sender's costs a hash and is
   * not kept: a peer cannot fill the cache, nor cost a KeyObject, with keys of no one.
   * Throws for a key strict Ed25519 refuses (small order, non-canonical).
   */
  get(raw: Buffer, sender?: (id: Buffer) => boolean): KnownKey | undefined {
    const k = raw.toString('latin1');
    let entry = this.known.get(k);
    if (entry === undefined) {
      const id = idOfPublicKey(raw);
      const idBytes = Buffer.from(id, 'latin1');
      if (sender !== undefined && !sender(idBytes)) return undefined;
      entry = { key: publicKeyFromRaw(raw), id, idBytes };
      if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value!);
      this.known.set(k, entry);
    }
    return entry;
  }

  /**
   * Whether a message with this trailer and leaf is in a batch verified before: true if
   * its path leads to that batch's root through the known nodes (which it then joins),
   * false if the batch is known and it does not, undefined if no batch of this
   * signature was verified.
   */
  inVerifiedBatch(t: Trailer, leaf: Buffer): boolean | undefined {
    const nodes = this.batches.get(batchKey(t));
    if (nodes === undefined) return undefined;
    const k = t.path.length / HASH_BYTES;
    const met: Array<[number, Buffer]> = [];
    let node = leaf;
    for (let l = 0, i = t.index; ; l++, i >>= 1) {
      const have = nodes.get(position(l, i));
      if (have !== undefined) {
        if (!have.equals(node)) return false;
        // Above a known node, the path must be the known siblings: one encoding.
        for (let m = l, j = i; m < k; m++, j >>= 1) {
          const sibling = nodes.get(position(m, j ^ 1));
          if (sibling === undefined || !sibling.equals(t.path.subarray(m * HASH_BYTES, (m + 1) * HASH_BYTES))) return false;
        }
        for (const [at, n] of met) nodes.set(at, n);
        return true;
      }
      if (l >= k) return false; // the root is always known: not reached
      const sibling = t.path.subarray(l * HASH_BYTES, (l + 1) * HASH_BYTES);
      met.push([position(l, i), node], [position(l, i ^ 1), Buffer.from(sibling)]);
      node = (i & 1) === 0 ? inner(node, sibling) : inner(sibling, node);
    }
  }

  /** A batch whose signature verified, with the nodes rootOf met on the way from the message's leaf (pairs, then the root). */
  rememberBatch(t: Trailer, met: readonly Buffer[]): void {
    if (t.count === 1) return; // no other message will ask
    if (this.batches.size >= this.maxBatches) this.batches.delete(this.batches.keys().next().value!);
    const nodes = new Map<number, Buffer>();
    let l = 0;
    for (let i = t.index; 2 * l + 1 < met.length; l++, i >>= 1) {
      nodes.set(position(l, i), met[2 * l]!);
      nodes.set(position(l, i ^ 1), Buffer.from(met[2 * l + 1]!));
    }
    nodes.set(position(l, 0), met[met.length - 1]!);
    this.batches.set(batchKey(t), nodes);
  }

  /** Forgets the verified batches only (keys stay). */
  forgetBatches(): void {
    this.batches.clear();
  }

  clear(): void {
    this.known.clear();
    this.batches.clear();
  }
}

/** A tree node's key: its level and its index in the level (at most 2^8 levels of 2^16). */
function position(level: number, index: number): number {
  return level * 0x10000 + index;
}

function batchKey(t: Trailer): string {
  return t.publicKey.toString('latin1') + t.signature.toString('latin1') + t.count;
}

/** Checks a signature strictly (strict.ts); false for any failure. */
export function verifySignature(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  return strictVerify(key, data, signature);
}
