import { expect } from 'chai';
import { AUTH_ENCRYPTION, generateIdentity, Protocol, type Message, type MeshSocket } from '../../src/index.js';
import { Nodes, link, waitFor } from '../helpers.js';

const auth = new Protocol('mesh', AUTH_ENCRYPTION);

describe('authenticated protocol: meshes', () => {
  const nodes = new Nodes();
  afterEach(() => nodes.closeAll());

  function collect(node: MeshSocket): Message[] {
    const got: Message[] = [];
    node.messages$.subscribe((m) => got.push(m));
    return got;
  }

  it('derives the node id from the public key, the same for the same key', async () => {
    const identity = generateIdentity();
    const a = await nodes.make({ protocol: auth, identity: identity.privateKey });
    expect(a.id).to.equal(identity.id);
    expect(a.identity!.id).to.equal(identity.id);
    const b = await nodes.make({ protocol: auth });
    expect(b.id).to.not.equal(a.id);
  });

  it('delivers a broadcast along a chain a-b-c exactly once, with its sender verified', async () => {
    const a = await nodes.make({ protocol: auth });
    const b = await nodes.make({ protocol: auth });
    const c = await nodes.make({ protocol: auth });
    await link(a, b);
    await link(b, c);
    const atC = collect(c);
    const atA = collect(a);
    a.send('from a', Buffer.from([1, 2, 3]));
    c.send('from c');
    await waitFor(() => atC.length >= 1 && atA.length >= 1, 5000, 'deliveries');
    expect(atC[0]!.sender).to.equal(a.id);
    expect(atC[0]!.verified).to.equal(true);
    expect(atC[0]!.packets.map(String)).to.deep.equal(['broadcast', 'from a', '\u0001\u0002\u0003']);
    expect(atA[0]!.sender).to.equal(c.id);
    expect(atA[0]!.verified).to.equal(true);
    expect(c.stats.signaturesVerified).to.equal(1);
    expect(b.stats.signaturesVerified).to.equal(2);
    expect(b.stats.badSignatures).to.equal(0);
    // End markers, sent after on the same paths: a copy of either would arrive before them.
    a.send('end a');
    c.send('end c');
    await waitFor(() => atC.some((m) => m.text(1) === 'end a') && atA.some((m) => m.text(1) === 'end c'), 5000, 'the end markers');
    expect(atC.map((m) => m.text(1))).to.deep.equal(['from a', 'end a']);
    expect(atA.map((m) => m.text(1))).to.deep.equal(['from c', 'end c']);
  });

  it('settles crossed dials (both nodes dial each other at once) on one proven connection', async () => {
    const a = await nodes.make({ protocol: auth });
    const b = await nodes.make({ protocol: auth });
    const results = await Promise.allSettled([a.connect('127.0.0.1', b.outAddr[1]), b.connect('127.0.0.1', a.outAddr[1])]);
    expect(results.every((r) => r.status === 'fulfilled'), JSON.stringify(results)).to.equal(true);
    await waitFor(() => a.routingTable.size === 1 && b.routingTable.size === 1, 5000, 'one link');
    await waitFor(() => a.routingTable.get(b.id)?.outgoing !== b.routingTable.get(a.id)?.outgoing, 5000, 'both ends keep the same connection');
    const atB = collect(b);
    a.send('once');
    await waitFor(() => atB.length >= 1, 5000, 'delivery');
    a.send('end marker'); // after 'once' on every connection a has to b: a copy would come first
    await waitFor(() => atB.some((m) => m.text(1) === 'end marker'), 5000, 'the end marker');
    expect(atB.map((m) => [m.text(1), m.verified])).to.deep.equal([['once', true], ['end marker', true]]);
  });

  it('delivers whispers from the proven peer and replies through them', async () => {
    const a = await nodes.make({ protocol: auth });
    const b = await nodes.make({ protocol: auth });
    await link(a, b);
    const atB = collect(b);
    await a.whisper(b.id, 'psst');
    await waitFor(() => atB.length === 1, 5000, 'whisper');
    expect(atB[0]!.sender).to.equal(a.id);
    expect(atB[0]!.verified).to.equal(true);
    expect(atB[0]!.packets.map(String)).to.deep.equal(['whisper', 'psst']);
  });

  for (const signatureBatch of [32, 1]) {
    it(`signs a tick's broadcasts ${signatureBatch === 1 ? 'one by one (signatureBatch 1)' : 'together (signatureBatch 32)'}; each arrives verified, in order`, async () => {
      const a = await nodes.make({ protocol: auth, signatureBatch });
      const b = await nodes.make({ protocol: auth });
      const c = await nodes.make({ protocol: auth });
      await link(a, b);
      await link(b, c);
      const atC = collect(c);
      for (let i = 0; i < 100; i++) a.send(`m${i}`);
      await waitFor(() => atC.length === 100, 5000, '100 deliveries');
      expect(atC.map((m) => m.text(1))).to.deep.equal(Array.from({ length: 100 }, (_, i) => `m${i}`));
      expect(atC.every((m) => m.verified && m.sender === a.id)).to.equal(true);
      const expected = signatureBatch === 1 ? 100 : Math.ceil(100 / 32);
      expect(b.stats.signaturesVerified, 'relay b').to.equal(expected);
      expect(c.stats.signaturesVerified, 'c').to.equal(expected);
    });
  }
});
