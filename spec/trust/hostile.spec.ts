// The authenticated protocol against peers that lie: stolen ids, replayed proofs, a
// TLS-terminating man in the middle, forged and unsigned broadcasts (first-hand and
// relayed), outsiders, and nodes of the py2p protocols. Real TLS sockets on 127.0.0.1.
import { expect } from 'chai';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import {
  AuthRefusedError, ConnectionClosedError, ProofError, SessionMismatchError, generateIdentity, NotAdmittedError, PathfindingMessage, generateSelfSignedCert, Protocol, ProtocolMismatchError, type MeshEvent, type Message,
  type MeshSocket, type MeshOptions,
} from '../../src/index.js';
import { link, waitFor } from '../helpers.js';
import { expectTypedErrors, hostileHarness } from '../hostile/harness.js';
import { AuthPeer, authProtocol } from './auth-peer.js';
import { signBatch } from '../../src/trust/signed-message.js';

interface Watched {
  messages: Message[];
  connected: string[];
}

describe('authenticated protocol: hostile peers', function () {
  this.timeout(30_000);
  const { nodes } = hostileHarness('trust');
  const peers: AuthPeer[] = [];
  const watched = new Map<MeshSocket, Watched>();
  afterEach(() => {
    for (const p of peers.splice(0)) p.destroy();
    for (const n of watched.keys()) expectTypedErrors(n);
    watched.clear();
  });

  async function make(o: MeshOptions = {}): Promise<MeshSocket> {
    const node = await nodes.make({ protocol: authProtocol, ...o });
    const w: Watched = { messages: [], connected: [] };
    node.messages$.subscribe((m) => w.messages.push(m));
    node.events$.subscribe((e: MeshEvent) => { if (e.type === 'peer-connected') w.connected.push(e.id); });
    watched.set(node, w);
    return node;
  }
  const seen = (node: MeshSocket) => watched.get(node)!;
  const errors = (node: MeshSocket, code: string) => node.stats.errors[code] ?? 0;
  async function peer(node: MeshSocket, o: Parameters<typeof AuthPeer.connect>[1] = {}): Promise<AuthPeer> {
    const p = await AuthPeer.connect(node.outAddr[1], o);
    peers.push(p);
    return p;
  }
  /** A peer that proved its key to node and is in its routing table. */
  async function provenPeer(node: MeshSocket): Promise<AuthPeer> {
    const p = await peer(node);
    await p.prove();
    await waitFor(() => node.routingTable.has(p.id), 5_000, 'proof accepted');
    return p;
  }
  /**
   * The end marker for "nothing happened": a peer proven after the refused ones, whose
   * whisper node delivers. The node handles frames, events and deliveries in order, so
   * once the marker is delivered whatever the refused peers could have caused has shown.
   */
  async function endMarker(node: MeshSocket): Promise<AuthPeer> {
    const before = seen(node).messages.length;
    const marker = await provenPeer(node);
    await marker.send('whisper', ['whisper', 'end marker']);
    await waitFor(() => seen(node).messages.length > before && seen(node).messages.at(-1)!.text(1) === 'end marker', 5_000, 'the end marker');
    return marker;
  }

  it('refuses a stolen id without its key: its own key (ERR_AUTH_IDENTITY) or the victim\'s public key (ERR_AUTH_PROOF), before any event', async () => {
    const victim = await make();
    const node = await make();
    // Claims the victim's id, proves with its own key: the key does not hash to the id.
    const thief = await peer(node, { claimId: victim.id });
    await thief.send('whisper', ['whisper', 'before any proof']);
    await thief.prove();
    await thief.waitClosed();
    expect(errors(node, 'ERR_AUTH_IDENTITY')).to.equal(1);
    // Claims the victim's id and shows its public key, but can only sign with its own.
    const thief2 = await peer(node, { claimId: victim.id });
    await waitFor(() => thief2.nodeHello !== undefined, 5_000, 'hello');
    const honestShape = thief2.validProof(node.id);
    await thief2.sendProof([victim.identity!.rawPublicKey, honestShape[1]!]);
    await thief2.waitClosed();
    expect(errors(node, 'ERR_AUTH_PROOF')).to.equal(1);
    const marker = await endMarker(node);
    expect([...node.routingTable.keys()]).to.deep.equal([marker.id]);
    expect(seen(node).connected).to.deep.equal([marker.id]);
    expect(seen(node).messages.map((m) => [m.text(1), m.sender])).to.deep.equal([['end marker', marker.id]]);
    expect(thief.nodeProof, 'the node never proves itself to a dialler that failed').to.equal(undefined);
  });

  it('refuses a proof replayed from another connection (it is bound to its TLS session)', async () => {
    const node = await make();
    const first = await provenPeer(node);
    const proof = first.sentProof!;
    first.destroy();
    await waitFor(() => !node.routingTable.has(first.id), 5_000, 'first connection gone');
    // Same id, same (once valid) proof bytes, another TLS session.
    const replayer = await peer(node, { claimId: first.id, autoProof: false });
    await waitFor(() => replayer.nodeHello !== undefined, 5_000, 'hello');
    await replayer.sendProof(proof);
    await replayer.waitClosed();
    expect(errors(node, 'ERR_AUTH_PROOF')).to.equal(1);
    expect(node.routingTable.size).to.equal(0);
    expect(seen(node).connected).to.deep.equal([first.id]);
  });

  it('detects a TLS-terminating proxy between two nodes (man in the middle): ERR_AUTH_SESSION at the dialler, not a refusal; no event either side', async () => {
    const a = await make();
    const b = await make();
    const { proxy, port, close } = await tlsProxy(b.outAddr[1]);
    try {
      const err = await a.connect('127.0.0.1', port).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(SessionMismatchError);
      expect(err).not.to.be.instanceOf(AuthRefusedError);
      expect((err as SessionMismatchError).code).to.equal('ERR_AUTH_SESSION');
      await waitFor(() => errors(b, 'ERR_AUTH_PROOF') === 1, 5_000, 'b refuses the proof');
      // The end marker: a direct link, the first and only peer each side then sees.
      await link(b, a);
      expect([...a.routingTable.keys()]).to.deep.equal([b.id]);
      expect([...b.routingTable.keys()]).to.deep.equal([a.id]);
      expect(seen(a).connected).to.deep.equal([b.id]);
      expect(seen(b).connected).to.deep.equal([a.id]);
      expect(proxy.relayed, 'the proxy did carry the handshake').to.be.greaterThan(0);
    } finally {
      await close();
    }
  });

  it('the same proxy goes unnoticed between two SSL nodes (what the authenticated protocol adds)', async () => {
    const ssl = new Protocol('mesh', 'SSL');
    const a = await nodes.make({ protocol: ssl });
    const b = await nodes.make({ protocol: ssl });
    const { port, close } = await tlsProxy(b.outAddr[1]);
    try {
      expect(await a.connect('127.0.0.1', port)).to.equal(true);
      await waitFor(() => b.routingTable.has(a.id), 5_000, 'b sees a through the proxy');
    } finally {
      await close();
    }
  });

  it('drops first-hand broadcasts with a missing, wrong or foreign signature, then the peer that sent them', async () => {
    const node = await make();
    const honest = await make();
    await link(node, honest);
    const p = await provenPeer(node);
    // Control: a valid signed broadcast goes through, verified, to both.
    await p.sendSigned('broadcast', p.identity, ['broadcast', 'genuine']);
    await waitFor(() => seen(honest).messages.length === 1, 5_000, 'genuine message relayed');
    expect(seen(node).messages[0]!.verified).to.equal(true);
    expect(seen(honest).messages[0]!.sender).to.equal(p.id);
    const other = generateIdentity();
    await p.sendSigned('broadcast', p.identity, ['broadcast', 'unsigned'], { trailer: null });
    await p.sendSigned('broadcast', p.identity, ['broadcast', 'tampered'], { tamper: true });
    await p.sendSigned('broadcast', other, ['broadcast', 'in another name'], { signer: p.identity });
    await waitFor(() => node.stats.badSignatures === 3, 5_000, 'three bad signatures');
    expect(p.closed, 'three offences are tolerated (maxBadSignatures 3)').to.equal(false);
    await p.sendSigned('broadcast', p.identity, ['broadcast', 'garbage sig'], { trailer: Buffer.concat([p.identity.rawPublicKey, randomBytes(64)]) });
    await p.waitClosed();
    expect(errors(node, 'ERR_AUTH_SIGNATURE')).to.equal(4);
    expect(errors(node, 'ERR_AUTH_TOO_MANY_BAD_SIGNATURES')).to.equal(1);
    // The end marker: a signed broadcast of another peer, relayed to honest after whatever
    // node would have relayed of p's (one node, one connection to honest: in order).
    const q = await provenPeer(node);
    await q.sendSigned('broadcast', q.identity, ['broadcast', 'end marker']);
    await waitFor(() => seen(honest).messages.some((m) => m.text(1) === 'end marker'), 5_000, 'the end marker at honest');
    expect(seen(node).messages.map((m) => m.text(1))).to.deep.equal(['genuine', 'end marker']);
    expect(seen(honest).messages.map((m) => m.text(1))).to.deep.equal(['genuine', 'end marker']);
    expect(honest.stats.badSignatures, 'nothing bad was relayed').to.equal(0);
  });

  it('spends at most maxBadSignatures + 1 verifications on a peer that floods forged signatures', async () => {
    const node = await make();
    const p = await provenPeer(node);
    const time = Math.floor(Date.now() / 1000);
    const frames: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const trailer = Buffer.concat([p.identity.rawPublicKey, randomBytes(64), Buffer.from([0, 1, 0, 0])]);
      frames.push(new PathfindingMessage(p.protocol, 'broadcast', p.id, ['broadcast', `forged ${i}`, trailer], [], time).string);
    }
    await p.write(Buffer.concat(frames));
    await p.waitClosed();
    expect(node.stats.signaturesVerified, 'verifications spent').to.equal(4);
    expect(errors(node, 'ERR_AUTH_TOO_MANY_BAD_SIGNATURES')).to.equal(1);
    expect(seen(node).messages).to.deep.equal([]);
  });

  it('drops relayed (waterfall) forgeries in an honest origin\'s name before delivering or relaying them', async () => {
    const origin = await make();
    const b = await make();
    const c = await make();
    await link(b, c);
    const p = await provenPeer(b);
    const id = origin.identity!;
    await p.sendSigned('waterfall', id, ['broadcast', 'wrong key'], { signer: p.identity });
    await p.sendSigned('waterfall', id, ['broadcast', 'bad signature'], { trailer: Buffer.concat([id.rawPublicKey, randomBytes(64)]) });
    await p.sendSigned('waterfall', id, ['broadcast', 'no signature'], { trailer: null });
    await waitFor(() => b.stats.badSignatures === 3, 5_000, 'three forgeries refused');
    // A genuine message of origin's, relayed by p unchanged, still goes through b to c.
    await p.sendSigned('waterfall', id, ['broadcast', 'relayed genuine']);
    // The genuine one is the end marker: sent after the forgeries on the same path p-b-c.
    await waitFor(() => seen(c).messages.length === 1, 5_000, 'genuine relayed message');
    expect(seen(b).messages.map((m) => [m.text(1), m.sender, m.verified])).to.deep.equal([['relayed genuine', origin.id, true]]);
    expect(seen(c).messages.map((m) => [m.text(1), m.sender, m.verified])).to.deep.equal([['relayed genuine', origin.id, true]]);
    expect(c.stats.badSignatures).to.equal(0);
    expect(c.stats.signaturesVerified).to.equal(1);
  });

  it('drops a message that claims a place in a verified batch it is not in', async () => {
    const node = await make();
    const p = await provenPeer(node);
    const time = Math.floor(Date.now() / 1000);
    const items = ['one', 'two'].map((t) => ({ time, packets: [Buffer.from('broadcast'), Buffer.from(t)] }));
    const trailers = signBatch(p.identity, p.protocol.id, items);
    await p.send('broadcast', [...items[0]!.packets, trailers[0]!], p.id, time);
    await waitFor(() => seen(node).messages.length === 1, 5_000, 'the genuine first of the batch');
    // The second trailer of the verified batch, on another payload: the root differs.
    await p.send('broadcast', [Buffer.from('broadcast'), Buffer.from('forged'), trailers[1]!], p.id, time);
    await waitFor(() => node.stats.badSignatures === 1, 5_000, 'the forgery refused');
    expect(node.stats.signaturesVerified).to.equal(1);
    await p.send('broadcast', [...items[1]!.packets, trailers[1]!], p.id, time);
    await waitFor(() => seen(node).messages.length === 2, 5_000, 'the genuine second, without a verification');
    expect(node.stats.signaturesVerified).to.equal(1);
    expect(seen(node).messages.map((m) => m.text(1))).to.deep.equal(['one', 'two']);
  });

  it('drops a whisper naming a sender other than the connection\'s proven peer', async () => {
    const node = await make();
    const p = await provenPeer(node);
    await p.send('whisper', ['whisper', 'as someone else'], generateIdentity().id);
    await p.send('whisper', ['whisper', 'as itself']);
    await waitFor(() => seen(node).messages.length === 1, 5_000, 'the honest whisper');
    expect(errors(node, 'ERR_AUTH_SENDER')).to.equal(1);
    expect(seen(node).messages.map((m) => [m.text(1), m.sender])).to.deep.equal([['as itself', p.id]]);
  });

  it('refuses a key outside the allow-list; the outsider learns nothing but the refusal', async () => {
    const member = generateIdentity();
    const node = await make({ allow: [member.publicKey] });
    const outsider = await peer(node);
    await outsider.prove();
    await outsider.waitClosed();
    expect(errors(node, 'ERR_AUTH_NOT_ADMITTED')).to.equal(1);
    // At most the handshake every dialler gets (the node may close before it is flushed).
    expect(outsider.frames.every((f) => f.subflag === 'handshake'), 'nothing but the handshake').to.equal(true);
    expect(outsider.nodeProof).to.equal(undefined);
    const x = await make();
    const err = await x.connect('127.0.0.1', node.outAddr[1]).then(() => undefined, (e: Error) => e);
    expect(err).to.be.instanceOf(AuthRefusedError);
    const m = await make({ identity: member.privateKey });
    expect(await m.connect('127.0.0.1', node.outAddr[1])).to.equal(true);
    await waitFor(() => node.routingTable.has(m.id), 5_000, 'member admitted');
    expect(seen(node).connected).to.deep.equal([m.id]);
    // A dialler with an allow-list proves itself only to a node on it.
    const picky = await make({ allow: [member.publicKey] });
    const refusedBy = await picky.connect('127.0.0.1', x.outAddr[1]).then(() => undefined, (e: Error) => e);
    expect(refusedBy).to.be.instanceOf(NotAdmittedError);
    expect(x.routingTable.size).to.equal(0);
  });

  it('asks the admit callback about each proven peer, and refuses whom it refuses', async () => {
    const asked: string[] = [];
    const banned = generateIdentity();
    const node = await make({ admit: (p) => { asked.push(p.id); return p.id !== banned.id; } });
    const bad = await make({ identity: banned.privateKey });
    const good = await make();
    expect(await bad.connect('127.0.0.1', node.outAddr[1]).then(() => 'joined', (e: Error) => e.constructor.name)).to.equal('AuthRefusedError');
    expect(await good.connect('127.0.0.1', node.outAddr[1])).to.equal(true);
    expect(asked).to.deep.equal([banned.id, good.id]);
    expect(errors(node, 'ERR_AUTH_NOT_ADMITTED')).to.equal(1);
  });

  it('admits only holders of the network key', async () => {
    const networkKey = randomBytes(32);
    const node = await make({ networkKey });
    const member = await make({ networkKey });
    const wrongKey = await make({ networkKey: randomBytes(32) });
    const noKey = await make();
    expect(await member.connect('127.0.0.1', node.outAddr[1])).to.equal(true);
    // The dialler checks the acceptor's MAC before it sends its own: a wrong key (or
    // none) fails there, at the dialler, and the acceptor never completes either.
    for (const outsider of [wrongKey, noKey]) {
      const err = await outsider.connect('127.0.0.1', node.outAddr[1]).then(() => undefined, (e: Error) => e);
      expect(err).to.satisfy((e: Error) => e instanceof NotAdmittedError || e instanceof ProofError);
    }
    expect(errors(wrongKey, 'ERR_AUTH_NOT_ADMITTED')).to.equal(1);
    expect(errors(noKey, 'ERR_AUTH_PROOF')).to.equal(1);
    // The end marker: node holds no connection awaiting its handshake or proof, so no
    // outsider can complete one later.
    await waitFor(() => node.awaitingIds.every((c) => c.closed), 5_000, 'the outsiders\' connections closed at node');
    expect(seen(node).connected).to.deep.equal([member.id]);
    expect(node.routingTable.size).to.equal(1);
  });

  it('refuses nodes of the py2p protocols by protocol id (SSL rx2p, a py2p-style handshake over TLS), and Plaintext at TLS', async () => {
    const node = await make();
    const sslNode = await nodes.make({ protocol: new Protocol('mesh', 'SSL') });
    const err = await sslNode.connect('127.0.0.1', node.outAddr[1]).then(() => undefined, (e: Error) => e);
    // Each side refuses the other's handshake; the dialler may see the close first.
    expect(err).to.satisfy((e: Error) => e instanceof ProtocolMismatchError || e instanceof ConnectionClosedError);
    await waitFor(() => errors(node, 'ERR_PROTOCOL_MISMATCH') === 1, 5_000, 'the node refuses the SSL node');
    // py2p 0.2's own protocol id (mesh, Plaintext) in a handshake over TLS.
    const py2pLike = await peer(node, { protocol: new Protocol('mesh', 'Plaintext') });
    await py2pLike.waitClosed();
    await waitFor(() => errors(node, 'ERR_PROTOCOL_MISMATCH') === 2, 5_000, 'the node refuses the py2p-style handshake');
    const plain = await nodes.make({ protocol: new Protocol('mesh', 'Plaintext') });
    const refused = await plain.connect('127.0.0.1', node.outAddr[1]).then(() => undefined, (e: Error) => e);
    expect(refused, 'a Plaintext dialler never gets a handshake').to.be.instanceOf(Error);
    await waitFor(() => errors(node, 'ERR_TLS') + errors(node, 'ERR_HANDSHAKE_TIMEOUT') >= 1, 15_000, 'TLS refusal');
    expect(node.routingTable.size).to.equal(0);
    expect(seen(node).connected).to.deep.equal([]);
  });
});

/**
 * A TLS-terminating proxy: accepts TLS with a certificate of its own and opens TLS to
 * the target, passing the bytes both ways (what a man in the middle does).
 */
async function tlsProxy(targetPort: number): Promise<{ proxy: { relayed: number }; port: number; close: () => Promise<void> }> {
  const pair = generateSelfSignedCert('proxy');
  const state = { relayed: 0 };
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: pair.cert, key: pair.key }, (client) => {
    const upstream = tls.connect({ host: '127.0.0.1', port: targetPort, rejectUnauthorized: false });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => { sockets.delete(s); client.destroy(); upstream.destroy(); });
    }
    client.on('data', (b: Buffer) => { state.relayed += b.length; upstream.write(b); });
    upstream.on('data', (b: Buffer) => { state.relayed += b.length; client.write(b); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { proxy: state, port, close };
}
