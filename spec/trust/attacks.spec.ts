// The authenticated protocol against a member with a valid key and against crafted
// keys, written as the attacker: its own TLS connections, frames, proofs and trailers
// (AuthPeer), one case for each finding of issue 19: re-delivery through trailer
// malleability, suppression by de-dup poisoning, a universal (small-order) id, origins
// no one admitted, an oracle for the network key, identity files; and the man in the
// middle (hostile.spec.ts: ERR_AUTH_SESSION). Real TLS sockets on 127.0.0.1.
import { expect } from 'chai';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { randomBytes, sign } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import {
  AuthRefusedError, generateIdentity, generateSelfSignedCert, InvalidArgumentError, MeshSocket, PathfindingMessage,
  type Identity, type Message, type MeshOptions,
} from '../../src/index.js';
import { createSecretFile, identityFromFile, identityPem, idOfPublicKey, publicKeyFromRaw } from '../../src/trust/identity.js';
import { PROOF_SUBFLAG } from '../../src/trust/proof.js';
import { publicKeyFault, signatureFault, strictVerify } from '../../src/trust/strict.js';
import { networkKeyBytes } from '../../src/trust/network-key.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { prng } from '../prng.js';
import { Proc, Procs } from '../cli/proc.js';
import { AuthPeer, authProtocol } from './auth-peer.js';

const HEAD = 32 + 64 + 4;
/** The group order L, little-endian. */
const L = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/** A 32-byte little-endian a + b (no overflow for the values used here). */
function addLE(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(32);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const v = a[i]! + b[i]! + carry;
    out[i] = v & 0xff;
    carry = v >> 8;
  }
  return out;
}

/** A trailer with S replaced by S + L: the same signature, non-canonically encoded. */
function withSPlusL(trailer: Buffer): Buffer {
  const t = Buffer.from(trailer);
  addLE(trailer.subarray(64, 96), L).copy(t, 64);
  return t;
}

/**
 * Every re-encoding of a genuine trailer a relay can make: another index (same path),
 * each path hash replaced, S + L, another batch size. Each would give a new message id.
 */
function malleated(trailer: Buffer, random: () => number): Buffer[] {
  const out: Buffer[] = [];
  const count = trailer.readUInt16BE(96);
  const index = trailer.readUInt16BE(98);
  for (let j = 0; j < count; j++) {
    if (j === index) continue;
    const t = Buffer.from(trailer);
    t.writeUInt16BE(j, 98);
    out.push(t);
  }
  for (let at = HEAD; at < trailer.length; at += 32) {
    const t = Buffer.from(trailer);
    for (let i = 0; i < 32; i++) t[at + i] = Math.floor(random() * 256);
    out.push(t);
  }
  out.push(withSPlusL(trailer));
  const other = Buffer.from(trailer);
  other.writeUInt16BE(count === 8 ? 7 : count + 1 > 8 ? 8 : count, 96);
  if (!other.equals(trailer)) out.push(other);
  return out;
}

const broadcastsIn = (p: AuthPeer) => p.frames.filter((f) => (f.msgType === 'broadcast' || f.msgType === 'waterfall') && f.payload.length >= 3);

/** Re-sends `msg` from `peer` as a waterfall with another trailer and/or sender, keeping its time. */
function resend(peer: AuthPeer, msg: PathfindingMessage, opts: { trailer?: Buffer; sender?: string } = {}): Promise<void> {
  const payload = [...msg.payload];
  if (opts.trailer) payload[payload.length - 1] = opts.trailer;
  return peer.send('waterfall', payload, opts.sender ?? msg.sender, msg.timeNumber);
}

describe('authenticated protocol: attacks by members and crafted keys (issue 19)', function () {
  this.timeout(30_000);
  const nodes = new Nodes();
  const peers: AuthPeer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await nodes.closeAll();
  });
  const make = (o: MeshOptions = {}) => nodes.make({ protocol: authProtocol, ...o });
  /** Text -> deliveries at node, each checked to come verified from `origin` when given. */
  function deliveries(node: MeshSocket): { count: Map<string, number>; all: Message[] } {
    const count = new Map<string, number>();
    const all: Message[] = [];
    node.messages$.subscribe((m) => {
      all.push(m);
      const t = m.packets[1]!.toString();
      count.set(t, (count.get(t) ?? 0) + 1);
    });
    return { count, all };
  }
  /** A raw member: proves `identity` to node and is in its routing table. */
  async function member(node: MeshSocket, identity: Identity, o: Parameters<typeof AuthPeer.connect>[1] = {}): Promise<AuthPeer> {
    const p = await AuthPeer.connect(node.outAddr[1], { identity, ...o });
    peers.push(p);
    await p.prove();
    await waitFor(() => node.routingTable.has(p.id), 5_000, 'the member is admitted');
    return p;
  }

  it('1. trailer malleability: altered indexes, paths, S + L and batch sizes are never new; each genuine message once at the victim and downstream, every altered copy charged', async () => {
    const random = prng(19);
    const origin = await make();
    const victim = await make({ maxBadSignatures: 1_000_000 });
    const downstream = await make();
    await link(victim, downstream);
    const mallory = generateIdentity();
    const fromOrigin = await member(origin, mallory);
    const toVictim = await member(victim, mallory);
    const atVictim = deliveries(victim);
    const atDownstream = deliveries(downstream);
    // Eight broadcasts in one tick: one signed batch of eight (three path hashes each).
    for (let i = 0; i < 8; i++) origin.send(`m${i}`);
    await waitFor(() => broadcastsIn(fromOrigin).length === 8, 5_000, 'the batch at mallory');
    let altered = 0;
    for (const msg of broadcastsIn(fromOrigin)) {
      const trailer = msg.payload[msg.payload.length - 1]!;
      expect(trailer.readUInt16BE(96)).to.equal(8);
      const variants = malleated(trailer, random);
      // Altered copies before the genuine one (no signature of this batch verified yet),
      // the genuine one, then altered copies again (the batch is verified now) and replays.
      for (const t of variants) await resend(toVictim, msg, { trailer: t });
      await resend(toVictim, msg);
      for (const t of malleated(trailer, random)) await resend(toVictim, msg, { trailer: t });
      for (let r = 0; r < 3; r++) await resend(toVictim, msg);
      altered += 2 * variants.length;
    }
    await waitFor(() => atDownstream.all.length >= 8 && victim.stats.badSignatures >= altered, 5_000, 'deliveries and charges');
    // The end marker: mallory's own broadcast after every copy on the same connection, and
    // relayed by the victim to downstream after anything it relayed of them.
    await toVictim.sendSigned('broadcast', mallory, ['broadcast', 'end marker']);
    await waitFor(() => atDownstream.count.has('end marker'), 5_000, 'the end marker downstream');
    const expected = new Map(Array.from({ length: 8 }, (_, i) => [`m${i}`, 1]));
    expected.set('end marker', 1);
    expect(atVictim.count).to.deep.equal(expected);
    expect(atDownstream.count).to.deep.equal(expected);
    expect(atVictim.all.every((m) => m.verified && m.sender === (m.text(1) === 'end marker' ? mallory.id : origin.id))).to.equal(true);
    expect(victim.stats.badSignatures, 'every altered copy charged').to.equal(altered);
    expect(victim.stats.signaturesVerified, 'one verification for the genuine batch (and one for the marker), none for S + L').to.be.at.most(2 + altered);
    expect(downstream.stats.badSignatures).to.equal(0);
    // With the default limit the relay is cut off after its fourth altered copy.
    const strict = await make();
    const toStrict = await member(strict, mallory);
    const msg = broadcastsIn(fromOrigin)[0]!;
    for (const t of malleated(msg.payload[msg.payload.length - 1]!, random)) await resend(toStrict, msg, { trailer: t });
    await toStrict.waitClosed();
    expect(strict.stats.errors.ERR_AUTH_TOO_MANY_BAD_SIGNATURES).to.equal(1);
  });

  it('2. de-dup poisoning: a copy with another sender sent ahead of the genuine one (and of the honest path) never suppresses it: 12/12 once each', async () => {
    // The honest path origin - honest - h2 - h3 - victim, held to that shape by the
    // allow-lists (peer discovery would link the victim to the origin directly); mallory
    // is one hop from both ends. admitOrigins is off: only neighbours are listed.
    const [o, h1, h2, h3, v, mallory] = Array.from({ length: 6 }, () => generateIdentity());
    const shaped = (me: Identity, ...neighbours: Identity[]) => make({ identity: me.privateKey, allow: neighbours.map((n) => n.id), admitOrigins: false, maxBadSignatures: 1_000_000 });
    const origin = await shaped(o!, h1!, mallory!);
    const honest = await shaped(h1!, o!, h2!);
    const second = await shaped(h2!, h1!, h3!);
    const third = await shaped(h3!, h2!, v!);
    const victim = await shaped(v!, h3!, mallory!);
    await link(origin, honest);
    await link(honest, second);
    await link(second, third);
    await link(third, victim);
    const fromOrigin = await member(origin, mallory!);
    const toVictim = await member(victim, mallory!);
    const atVictim = deliveries(victim);
    let poisoned = 0;
    // Mallory answers each broadcast as it is parsed: copies naming itself, the honest
    // relay and a made-up id as sender, then the genuine copy, which it relays too.
    const relayed = new Set<PathfindingMessage>();
    fromOrigin.onFrame = (msg) => {
      if (msg.msgType !== 'broadcast' || msg.payload.length < 3 || msg.payload[1]?.toString() === 'end marker') return;
      relayed.add(msg);
      for (const sender of [mallory!.id, honest.id, generateIdentity().id]) {
        void resend(toVictim, msg, { sender });
        poisoned++;
      }
      void resend(toVictim, msg);
    };
    for (let i = 0; i < 12; i++) {
      origin.send(`g${i}`);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => atVictim.all.length >= 12 && relayed.size === 12, 10_000, '12 deliveries');
    // End markers on both paths to the victim: mallory's own broadcast after every copy it
    // wrote, and the origin's along the honest path (mallory does not relay that one).
    await toVictim.sendSigned('broadcast', mallory!, ['broadcast', 'mallory end marker']);
    origin.send('end marker');
    await waitFor(() => atVictim.count.has('mallory end marker') && atVictim.count.has('end marker'), 10_000, 'both end markers at the victim');
    const expected = new Map(Array.from({ length: 12 }, (_, i) => [`g${i}`, 1]));
    expected.set('mallory end marker', 1).set('end marker', 1);
    expect(atVictim.count).to.deep.equal(expected);
    expect(atVictim.all.every((m) => m.verified && m.sender === (m.text(1) === 'mallory end marker' ? mallory!.id : origin.id))).to.equal(true);
    // A poisoned copy that arrives ahead of the genuine one is verified, fails and is
    // charged; one that arrives after it is a copy of a message seen (dropped, no
    // verification). Either way nothing poisoned is remembered.
    const ahead = victim.stats.badSignatures;
    const after = victim.stats.duplicates;
    expect(ahead, 'some poisoned copies did arrive first').to.be.greaterThan(0);
    expect(ahead + after).to.be.at.least(poisoned);
    expect(victim.stats.signaturesVerified - ahead, 'one verification per genuine batch (and the markers)').to.be.at.most(14);
    console.log(`      poisoning: ${poisoned} poisoned copies, ${ahead} ahead of the genuine one (charged), 12/12 delivered once`);
  });

  it('3. a universal id: the small-order key 01 00..00 (and every other point of small order) is refused as a proof and as an origin', async () => {
    const universal = Buffer.alloc(32);
    universal[0] = 1;
    const universalSig = Buffer.alloc(64);
    universalSig[0] = 1; // R = identity, S = 0
    const universalId = idOfPublicKey(universal);
    // OpenSSL's equation alone is what accepted it; the strict checks refuse key and signature.
    expect(publicKeyFault(universal)).to.match(/small order/);
    expect(signatureFault(universalSig)).to.match(/small order/);
    const node = await make();
    // As a peer: a proof under the universal key.
    const thief = await AuthPeer.connect(node.outAddr[1], { claimId: universalId, autoProof: false });
    peers.push(thief);
    await waitFor(() => thief.nodeHello !== undefined, 5_000, 'hello');
    await thief.sendProof([universal, universalSig]);
    await thief.waitClosed();
    expect(node.stats.errors.ERR_AUTH_PROOF).to.equal(1);
    expect(node.routingTable.size).to.equal(0);
    // As an origin, relayed by a member: a broadcast in the universal id's name.
    const honest = await make();
    await link(node, honest);
    const at = deliveries(honest);
    const relay = await member(node, generateIdentity());
    const time = Math.floor(Date.now() / 1000);
    const trailer = Buffer.concat([universal, universalSig, Buffer.from([0, 1, 0, 0])]);
    await relay.send('broadcast', ['broadcast', 'in everyone\'s name', trailer], universalId, time);
    await waitFor(() => node.stats.badSignatures === 1, 5_000, 'the forgery charged');
    // The end marker: the relay's own broadcast, after the forgery on the same path.
    await relay.sendSigned('broadcast', relay.identity, ['broadcast', 'end marker']);
    await waitFor(() => at.all.length > 0, 5_000, 'the end marker at honest');
    expect(at.all.map((m) => [m.text(1), m.sender])).to.deep.equal([['end marker', relay.id]]);
  });

  it('3. strict Ed25519 vectors: the eight small-order points, non-canonical keys, S >= L, R of small order; strictVerify agrees with noble (zip215 false)', () => {
    expect(ED25519_TORSION_SUBGROUP).to.have.length(8);
    for (const hex of ED25519_TORSION_SUBGROUP) {
      expect(publicKeyFault(Buffer.from(hex, 'hex')), hex).to.match(/small order/);
      expect(() => publicKeyFromRaw(Buffer.from(hex, 'hex'))).to.throw(InvalidArgumentError, /small order/);
      expect(() => new MeshSocket('127.0.0.1', 0, { protocol: authProtocol, allow: [Buffer.from(hex, 'hex')] }), 'allow-list entry').to.throw(InvalidArgumentError, /small order/);
      const sig = Buffer.concat([Buffer.from(hex, 'hex'), Buffer.alloc(32)]);
      expect(signatureFault(sig), `R = ${hex}`).to.match(/small order/);
    }
    // y >= p: p, p + 1 (non-canonical 0 and 1) and 2^255 - 1, with either sign bit.
    const p = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');
    for (const add of [0, 1, 18]) {
      const y = Buffer.from(p);
      y[0] = y[0]! + add;
      for (const sign of [0, 0x80]) {
        const key = Buffer.from(y);
        key[31] = (key[31]! & 0x7f) | sign;
        expect(publicKeyFault(key), key.toString('hex')).to.match(/non-canonical/);
      }
    }
    const random = prng(3);
    // Random 32-byte strings: where noble's strict decoding finds a point not of small
    // order, the key is accepted; where it finds none, no signature verifies under it.
    let points = 0;
    for (let i = 0; i < 64; i++) {
      const raw = Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256)));
      let point: ReturnType<typeof ed25519.Point.fromBytes> | undefined;
      try {
        point = ed25519.Point.fromBytes(raw, false);
      } catch {
        point = undefined;
      }
      if (point !== undefined && !point.isSmallOrder()) {
        points++;
        expect(publicKeyFault(raw), raw.toString('hex')).to.equal(undefined);
      } else if (publicKeyFault(raw) === undefined) {
        let key: ReturnType<typeof publicKeyFromRaw>;
        try {
          key = publicKeyFromRaw(raw);
        } catch {
          continue;
        }
        const sig = Buffer.concat([ed25519.Point.BASE.toBytes(), Buffer.alloc(31), Buffer.from([1])]);
        expect(strictVerify(key, Buffer.from('m'), sig)).to.equal(false);
      }
    }
    expect(points).to.be.greaterThan(10);
    for (let i = 0; i < 24; i++) {
      const id = generateIdentity();
      const message = Buffer.from(Array.from({ length: 1 + (i % 40) }, () => Math.floor(random() * 256)));
      const good = sign(null, message, id.privateKey);
      expect(publicKeyFault(id.rawPublicKey)).to.equal(undefined);
      const key = publicKeyFromRaw(id.rawPublicKey);
      const cases: Array<[Buffer, Buffer]> = [
        [message, good],
        [message, Buffer.concat([good.subarray(0, 32), addLE(good.subarray(32), L)])], // S + L
        [Buffer.concat([message, Buffer.from([1])]), good],
        [message, Buffer.concat([good.subarray(0, 32), L])], // S = L
      ];
      for (const [m, s] of cases) {
        expect(strictVerify(key, m, s)).to.equal(ed25519.verify(s, m, id.rawPublicKey, { zip215: false }));
      }
      expect(strictVerify(key, message, good)).to.equal(true);
      expect(signatureFault(Buffer.concat([good.subarray(0, 32), L]))).to.match(/S >= L/);
    }
  });

  it('4. origins under admission: a member relaying broadcasts of five keys no one admitted delivers none (admitOrigins false relaxes it)', async () => {
    const mallory = generateIdentity();
    const origin = generateIdentity();
    const strictNode = await make({ allow: [mallory.id, origin.id] });
    const relaxed = await make({ allow: [mallory.id, origin.id], admitOrigins: false });
    for (const node of [strictNode, relaxed]) {
      const at = deliveries(node);
      const relay = await member(node, mallory);
      const fresh = Array.from({ length: 5 }, () => generateIdentity());
      for (const [i, key] of fresh.entries()) await relay.sendSigned('broadcast', key, ['broadcast', `fresh${i}`]);
      await relay.sendSigned('broadcast', origin, ['broadcast', 'listed']);
      await relay.sendSigned('broadcast', mallory, ['broadcast', 'own']);
      if (node === strictNode) {
        // 'own' is the end marker: sent last on the same connection.
        await waitFor(() => at.count.has('own') && (node.stats.unadmittedOrigins ?? 0) === 5, 5_000, 'listed delivered, fresh dropped');
        expect(at.all.map((m) => m.text(1))).to.deep.equal(['listed', 'own']);
        expect(node.stats.errors.ERR_AUTH_NOT_ADMITTED).to.equal(5);
        expect(node.stats.badSignatures, 'the relay is not charged').to.equal(0);
        expect(node.routingTable.has(mallory.id)).to.equal(true);
      } else {
        await waitFor(() => at.all.length === 7, 5_000, 'all delivered');
        expect(node.stats.unadmittedOrigins ?? 0).to.equal(0);
      }
    }
  });

  it('5. no oracle: a node dialling an outsider that claims a listed id gives it a proof without any MAC; an outsider dialling in gets no proof at all', async () => {
    const networkKey = randomBytes(32);
    const listed = generateIdentity();
    const node = await make({ networkKey, allow: [listed.id] });
    // The outsider listens, and answers the node's handshake claiming the listed id.
    const pair = generateSelfSignedCert('outsider');
    const got: PathfindingMessage[] = [];
    const sockets = new Set<tls.TLSSocket>();
    const server = tls.createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.3' }, (sock) => {
      sockets.add(sock);
      sock.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const frame = buf.subarray(0, 4 + buf.readUInt32BE(0));
          buf = buf.subarray(frame.length);
          const msg = PathfindingMessage.feedString(authProtocol, frame, false, []);
          got.push(msg);
          if (msg.subflag === 'handshake') {
            sock.write(new PathfindingMessage(authProtocol, 'whisper', listed.id, ['handshake', listed.id, authProtocol.id, '["127.0.0.1", 1]', '[]'], [], Math.floor(Date.now() / 1000)).string);
          }
          if (msg.subflag === PROOF_SUBFLAG) sock.end(); // it cannot answer: it has no key of the listed id
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const err = await node.connect('127.0.0.1', port).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(AuthRefusedError);
      const proof = got.find((m) => m.subflag === PROOF_SUBFLAG)!;
      expect(proof.payload.map((b) => b.length), 'key and signature only').to.deep.equal([PROOF_SUBFLAG.length, 32, 64]);
      expect(got.map((m) => m.subflag)).to.deep.equal(['handshake', PROOF_SUBFLAG]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
    // Outsiders dialling in: the listed id with its own key, the listed public key with
    // a signature it cannot make, a valid key not on the list: nothing but the handshake.
    const attempts: AuthPeer[] = [];
    const a1 = await AuthPeer.connect(node.outAddr[1], { claimId: listed.id });
    await a1.prove();
    const a2 = await AuthPeer.connect(node.outAddr[1], { claimId: listed.id });
    await waitFor(() => a2.nodeHello !== undefined, 5_000, 'hello');
    await a2.sendProof([listed.rawPublicKey, a2.validProof(node.id)[1]!]);
    const a3 = await AuthPeer.connect(node.outAddr[1]);
    await a3.prove();
    attempts.push(a1, a2, a3);
    peers.push(...attempts);
    for (const a of attempts) await a.waitClosed();
    // (a2 is told its proof does not verify for this session: no proof, no MAC.)
    for (const a of attempts) expect(a.frames.map((f) => f.subflag).filter((f) => f !== 'rx2p-refused')).to.deep.equal(['handshake']);
    expect(node.routingTable.size).to.equal(0);
    // The listed member with the key joins (the MACs are exchanged in turn).
    const real = await make({ networkKey, identity: listed.privateKey, allow: [node.id] });
    expect(await real.connect('127.0.0.1', node.outAddr[1])).to.equal(true);
    await waitFor(() => node.routingTable.has(listed.id), 5_000, 'the member joins');
  });

  it('5. without an allow-list the acceptor\'s MAC goes to any dialler with a key, so a network key must be 32 random bytes: passphrases are refused', async () => {
    for (const weak of ['correct horse battery staple', 'correct horse battery staple 1234', Buffer.alloc(32), Buffer.alloc(40, 7), 'short']) {
      expect(() => networkKeyBytes(weak), String(weak)).to.throw(InvalidArgumentError, /32 random bytes/);
      expect(() => new MeshSocket('127.0.0.1', 0, { protocol: authProtocol, networkKey: weak })).to.throw(InvalidArgumentError);
    }
    const key = randomBytes(32);
    expect(networkKeyBytes(key)).to.deep.equal(key);
    expect(networkKeyBytes(`${key.toString('hex')}\n`)).to.deep.equal(key);
    const node = await make({ networkKey: key });
    const connected: string[] = [];
    node.events$.subscribe((e) => { if (e.type === 'peer-connected') connected.push(e.id); });
    const p = await AuthPeer.connect(node.outAddr[1]);
    peers.push(p);
    await p.prove();
    await waitFor(() => p.nodeProof !== undefined, 5_000, 'the acceptor\'s answer');
    expect(p.nodeProof!.payload).to.have.length(4); // subflag, key, signature, MAC
    // The end marker: a second proof on the same connection, which the node refuses and
    // closes on; it handled the first one (and whatever it led to) before.
    await p.prove();
    await p.waitClosed();
    expect(node.stats.errors.ERR_AUTH_PROOF, 'the second proof refused').to.equal(1);
    expect(connected, 'no MAC back: not admitted').to.deep.equal([]);
    expect(node.routingTable.size, 'no MAC back: not admitted').to.equal(0);
  });

  describe('6. identity files', () => {
    let dir = '';
    beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'rx2p-idfile-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses a dangling symlink, a symlink to a key, a directory and a group- or world-readable key, each with a clear message and no new identity', () => {
      const dangling = join(dir, 'dangling.pem');
      symlinkSync(join(dir, 'nowhere.pem'), dangling);
      expect(() => identityFromFile(dangling)).to.throw(InvalidArgumentError, /symbolic link/);
      expect(existsSync(join(dir, 'nowhere.pem'))).to.equal(false);
      const real = join(dir, 'real.pem');
      writeFileSync(real, identityPem(generateIdentity()), { mode: 0o600 });
      const link2 = join(dir, 'link.pem');
      symlinkSync(real, link2);
      expect(() => identityFromFile(link2)).to.throw(InvalidArgumentError, /symbolic link/);
      const sub = join(dir, 'sub');
      mkdirSync(sub);
      expect(() => identityFromFile(sub)).to.throw(InvalidArgumentError, /not a regular file/);
      for (const mode of [0o644, 0o640, 0o604]) {
        chmodSync(real, mode);
        expect(() => identityFromFile(real)).to.throw(InvalidArgumentError, /readable by group or others.*chmod 600/);
      }
      chmodSync(real, 0o600);
      expect(identityFromFile(real).id).to.be.a('string');
      expect(readdirSync(dir).sort()).to.deep.equal(['dangling.pem', 'link.pem', 'real.pem', 'sub']);
    });

    it('creates a new file atomically: four processes at once all get the one identity, mode 0600, no temporary file left', async () => {
      const file = join(dir, 'node.pem');
      const script = `import { identityFromFile } from ${JSON.stringify(join(process.cwd(), 'src/trust/identity.ts'))}; process.stdout.write(identityFromFile(${JSON.stringify(file)}).id);`;
      const run = () => new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
      });
      const ids = await Promise.all([run(), run(), run(), run()]);
      expect(new Set(ids).size).to.equal(1);
      expect(ids[0]).to.equal(identityFromFile(file).id);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(readdirSync(dir)).to.deep.equal(['node.pem']);
      expect(createSecretFile(file, 'other')).to.equal(false);
      expect(readFileSync(file, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/);
    });

    it('rx2p --network-key-new writes 32 random bytes (hex, mode 0600) and never overwrites; --network-key refuses a readable file and a passphrase', async () => {
      const procs = new Procs();
      try {
        const file = join(dir, 'net.key');
        const first = procs.add(Proc.rx2p('--network-key-new', file));
        expect((await first.exitWithin(15_000)).code).to.equal(0);
        const text = readFileSync(file, 'utf8');
        expect(text).to.match(/^[0-9a-f]{64}\n$/);
        expect(statSync(file).mode & 0o777).to.equal(0o600);
        const again = procs.add(Proc.rx2p('--network-key-new', file));
        expect((await again.exitWithin(15_000)).code).to.equal(1);
        expect(readFileSync(file, 'utf8')).to.equal(text);
        chmodSync(file, 0o644);
        const readable = procs.add(Proc.rx2p('--auth', '--network-key', file, '--no-stdin'));
        expect((await readable.exitWithin(15_000)).code).to.equal(1);
        expect(readable.stderr).to.match(/chmod 600/);
        const weak = join(dir, 'weak.key');
        writeFileSync(weak, 'correct horse battery staple\n', { mode: 0o600 });
        const passphrase = procs.add(Proc.rx2p('--auth', '--network-key', weak, '--no-stdin'));
        expect((await passphrase.exitWithin(15_000)).code).to.equal(1);
        expect(passphrase.stderr).to.match(/32 random bytes/);
      } finally {
        await procs.killAll();
      }
    });
  });
});
