import { expect } from 'chai';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  AUTH_ENCRYPTION, generateIdentity, idOfPublicKey, identityPem, InvalidArgumentError, loadIdentity, MeshSocket, parseAllowFile,
  allowListIds, Protocol, toBase58, publicKeyFromRaw, HandshakeTimeoutError, type MeshEvent,
} from '../../src/index.js';
import { readProof } from '../../src/trust/proof.js';
import { readTrailer, signBatch, rootOf, messageDigest, signedRoot } from '../../src/trust/signed-message.js';
import { Nodes, waitFor } from '../helpers.js';
import { AuthPeer } from './auth-peer.js';

describe('authenticated protocol: keys, ids and formats', () => {
  it('derives the id as base_58(SHA-384(raw public key)) and loads the same key from PEM, DER and KeyObject', () => {
    const identity = generateIdentity();
    expect(identity.rawPublicKey).to.have.length(32);
    expect(identity.id).to.equal(toBase58(createHash('sha384').update(identity.rawPublicKey).digest()));
    expect(idOfPublicKey(identity.rawPublicKey)).to.equal(identity.id);
    const pem = identityPem(identity);
    const der = identity.privateKey.export({ format: 'der', type: 'pkcs8' });
    for (const input of [pem, Buffer.from(pem), der, identity.privateKey]) expect(loadIdentity(input).id).to.equal(identity.id);
    expect(publicKeyFromRaw(identity.rawPublicKey).equals(identity.publicKey)).to.equal(true);
  });

  it('refuses what is not an Ed25519 private key, and bad trust options, with InvalidArgumentError', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const pub = generateIdentity().publicKey;
    for (const bad of [rsa, pub, 'not a key', Buffer.from([1, 2, 3])]) expect(() => loadIdentity(bad)).to.throw(InvalidArgumentError);
    const protocol = new Protocol('mesh', AUTH_ENCRYPTION);
    expect(() => new MeshSocket('127.0.0.1', 0, { protocol, networkKey: 'short' })).to.throw(InvalidArgumentError, /networkKey/);
    expect(() => new MeshSocket('127.0.0.1', 0, { protocol, signatureBatch: 257 })).to.throw(InvalidArgumentError, /signatureBatch/);
    expect(() => new MeshSocket('127.0.0.1', 0, { protocol, allow: ['not base58 0OIl'] })).to.throw(InvalidArgumentError, /allow/);
  });

  it('reads allow-list files: ids, PEM public keys, comments', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const pem = b.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const entries = parseAllowFile(`# members\n${a.id}\n\n${pem}\n`);
    expect(entries).to.have.length(2);
    expect([...allowListIds(entries)]).to.deep.equal([a.id, b.id]);
    expect(() => parseAllowFile('-----BEGIN PUBLIC KEY-----\nabc\n')).to.throw(InvalidArgumentError);
  });

  it('shape-checks proofs and trailers before any crypto, and a batch path leads to its signed root', () => {
    expect(readProof([Buffer.from('rx2p-proof')], false)).to.be.a('string');
    expect(readProof([Buffer.from('rx2p-proof'), Buffer.alloc(31), Buffer.alloc(64)], false)).to.match(/public key/);
    expect(readTrailer(Buffer.alloc(10))).to.equal('missing');
    const id = generateIdentity();
    const items = Array.from({ length: 5 }, (_, i) => ({ time: 1_800_000_000, packets: [Buffer.from('broadcast'), Buffer.from(`m${i}`)] }));
    const trailers = signBatch(id, 'proto', items);
    const roots = trailers.map((t, i) => {
      const r = readTrailer(t);
      if (typeof r === 'string') throw new Error(r);
      expect(r.count).to.equal(5);
      expect(r.index).to.equal(i);
      expect(r.path).to.have.length(3 * 32);
      return rootOf(messageDigest('proto', Buffer.from(id.id, 'latin1'), toBase58(1_800_000_000), items[i]!.packets, 5, i), i, r.path).toString('hex');
    });
    expect(new Set(roots).size).to.equal(1);
    const bad = Buffer.from(trailers[0]!);
    bad.writeUInt16BE(9, 96 + 2); // index past the count
    expect(readTrailer(bad)).to.equal('bad batch position');
    expect(signedRoot(5, Buffer.alloc(32)).length).to.be.greaterThan(32);
  });

  describe('a peer that never proves its key', () => {
    const nodes = new Nodes();
    afterEach(() => nodes.closeAll());

    it('is dropped at handshakeTimeoutMs with HandshakeTimeoutError, never in the routing table, no event', async () => {
      const node = await nodes.make({ protocol: new Protocol('mesh', AUTH_ENCRYPTION), handshakeTimeoutMs: 300, sweepIntervalMs: 50 });
      const events: MeshEvent[] = [];
      node.events$.subscribe((e) => events.push(e));
      const silent = await AuthPeer.connect(node.outAddr[1], { autoProof: false });
      try {
        await waitFor(() => silent.nodeHello !== undefined, 5_000, 'hello');
        await silent.waitClosed();
        expect(node.routingTable.size).to.equal(0);
        expect(events.filter((e) => e.type !== 'error')).to.deep.equal([]);
        expect(events.some((e) => e.type === 'error' && e.error instanceof HandshakeTimeoutError)).to.equal(true);
      } finally {
        silent.destroy();
      }
    });
  });
});
