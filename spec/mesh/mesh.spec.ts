import { expect } from 'chai';
import { inflateSync } from 'node:zlib';
import {
  MeshSocket, Protocol, PathfindingMessage, ProtocolMismatchError, ConnectionClosedError, encodeFrame, type Message,
} from '../../src/index.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { prng, randomBuffer } from '../prng.js';
import { Tap } from './tap.js';

const text = (m: Message) => m.packets.map((p) => p.toString());

/** Collects every message each node delivers, to count exact deliveries. */
function collect(nodes: MeshSocket[]): Map<MeshSocket, Message[]> {
  const got = new Map<MeshSocket, Message[]>();
  for (const n of nodes) {
    const list: Message[] = [];
    got.set(n, list);
    n.messages$.subscribe((m) => list.push(m));
  }
  return got;
}

for (const encryption of ['Plaintext', 'SSL', 'Ed25519'] as const) {
  describe(`mesh over ${encryption}`, function () {
    this.timeout(60_000);
    const protocol = new Protocol('mesh', encryption);
    const nodes = new Nodes();
    const make = (o: Parameters<Nodes['make']>[0] = {}) => nodes.make({ protocol, ...o });
    afterEach(() => nodes.closeAll());

    it('delivers each broadcast exactly once along a chain a–b–c where c only hears through b', async () => {
      const a = await make();
      const b = await make();
      const c = await make({ maxOutgoing: 0 });
      await link(a, b);
      await link(b, c);
      expect(a.routing_table.has(c.id)).to.equal(false);
      const got = collect([a, b, c]);
      for (let i = 0; i < 25; i++) a.send(`m${i}`);
      await waitFor(() => got.get(b)!.length >= 25 && got.get(c)!.length >= 25, 10_000, 'chain deliveries');
      // A last message through the same single path: anything duplicated would be in front of it.
      a.send('end');
      await waitFor(() => got.get(c)!.some((m) => m.packets[1]!.toString() === 'end'), 5000, 'end marker');
      for (const n of [b, c]) {
        const bodies = got.get(n)!.map((m) => m.packets[1]!.toString());
        expect(bodies).to.deep.equal([...Array.from({ length: 25 }, (_, i) => `m${i}`), 'end']);
        expect(got.get(n)!.every((m) => m.sender === a.id)).to.equal(true);
      }
      expect(got.get(a)!).to.have.length(0);
      expect(c.stats.delivered).to.equal(26);
      // Every node remembers the 26 ids (py2p's waterfalls), the sender's own included.
      const ids = got.get(c)!.map((m) => m.id);
      for (const n of [a, b, c]) expect(n.waterfalls.map(([id]) => id)).to.deep.equal(ids);
      // waterfall() of one of them is a duplicate everywhere, the sender's own included (py2p).
      const duplicates = a.stats.duplicates;
      for (const n of [a, b, c]) expect(n.waterfall(got.get(c)![0]!)).to.equal(false);
      expect(a.stats.duplicates).to.equal(duplicates + 1);
    });

    for (const compression of [[], ['gzip']]) {
      it(`relays large and small messages along a chain byte for byte (compression ${JSON.stringify(compression)})`, async () => {
        const a = await make({ compression });
        const b = await make({ compression });
        const c = await make({ compression, maxOutgoing: 0 });
        await link(a, b);
        await link(b, c);
        const got = collect([b, c]);
        const sizes = [300, 200_000, 70_000, 10, 1_000_000, 65_536];
        const bodies = sizes.map((n, i) => Buffer.alloc(n, i + 1).fill(`x${i}`, 0, Math.min(n, 2)));
        for (const body of bodies) a.send(body);
        await waitFor(() => got.get(c)!.length >= bodies.length, 20_000, 'chain deliveries');
        for (const n of [b, c]) {
          const list = got.get(n)!;
          expect(list).to.have.length(bodies.length);
          list.forEach((m, i) => expect(m.packets[1]!.equals(bodies[i]!), `message ${i} at ${n === b ? 'b' : 'c'}`).to.equal(true));
          expect(list.every((m) => m.msg.msgType === 'broadcast' || m.msg.msgType === 'waterfall')).to.equal(true);
        }
        // c heard everything through b's relays, which kept each message's id.
        expect(got.get(c)!.map((m) => m.id)).to.deep.equal(got.get(b)!.map((m) => m.id));
      });
    }

    it('delivers each of 100 broadcasts exactly once to every node of a random 10-node mesh', async () => {
      const mesh: MeshSocket[] = [];
      for (let i = 0; i < 10; i++) mesh.push(await make());
      // A random spanning tree, then a few random extra edges; peers lists add more. Seeded:
      // the same mesh and senders every run (the seed is in the failure messages).
      const seed = 10;
      const random = prng(seed);
      for (let i = 1; i < 10; i++) await link(mesh[Math.floor(random() * i)]!, mesh[i]!);
      for (let k = 0; k < 5; k++) {
        const [x, y] = [Math.floor(random() * 10), Math.floor(random() * 10)];
        if (x !== y) await mesh[x]!.connect('127.0.0.1', mesh[y]!.outAddr[1]);
      }
      const got = collect(mesh);
      const sent: Array<{ from: MeshSocket; body: string }> = [];
      for (let i = 0; i < 100; i++) {
        const from = mesh[Math.floor(random() * 10)]!;
        const body = `b${i}`;
        from.send(body);
        sent.push({ from, body });
      }
      const expected = (n: MeshSocket) => sent.filter((s) => s.from !== n).map((s) => s.body).sort();
      await waitFor(() => mesh.every((n) => got.get(n)!.length >= expected(n).length), 20_000, `mesh deliveries (seed ${seed})`);
      for (const n of mesh) mesh[0]!.send(`end-${n.id}`);
      await waitFor(() => mesh.slice(1).every((n) => got.get(n)!.some((m) => m.packets[1]!.toString().startsWith('end-'))), 10_000, `end markers (seed ${seed})`);
      for (const n of mesh) {
        const bodies = got.get(n)!.map((m) => m.packets[1]!.toString()).filter((b) => !b.startsWith('end-')).sort();
        expect(bodies, `node ${mesh.indexOf(n)} (seed ${seed})`).to.deep.equal(expected(n));
      }
      const dups = mesh.reduce((s, n) => s + n.stats.duplicates, 0);
      expect(dups, 'a mesh with cycles makes duplicates that are dropped').to.be.greaterThan(0);
      if (encryption === 'Ed25519') {
        // Every sender proven end to end, each signature verified once per node (never per copy).
        for (const n of mesh) {
          expect(got.get(n)!.every((m) => m.verified && mesh.some((o) => o.id === m.sender)), `node ${mesh.indexOf(n)} verified`).to.equal(true);
          // At most one verification per message (fewer: a tick's broadcasts are signed together).
          expect(n.stats.signaturesVerified, `node ${mesh.indexOf(n)} verifications`).to.be.within(1, got.get(n)!.length);
          expect(n.stats.badSignatures).to.equal(0);
        }
      } else {
        for (const n of mesh) expect(got.get(n)!.every((m) => !m.verified)).to.equal(true);
      }
    });

    it('whispers and replies directly to a connected peer', async () => {
      const a = await make();
      const b = await make();
      await link(a, b);
      await a.whisper(b.id, 'psst', new Uint8Array([0, 1, 2]));
      const m = (await b.recv(1, 5000))!;
      expect(m.packets[0]!.toString()).to.equal('whisper');
      expect(m.packets[1]!.toString()).to.equal('psst');
      expect([...m.packets[2]!]).to.deep.equal([0, 1, 2]);
      expect(m.sender).to.equal(a.id);
      await m.reply('ack');
      const r = (await a.recv(1, 5000))!;
      expect(text(r)).to.deep.equal(['whisper', 'ack']);
      expect(r.sender).to.equal(b.id);
    });

    it('replies through request/response when not connected to the sender, then connects', async () => {
      const a = await make();
      const b = await make();
      const c = await make({ maxOutgoing: 0 });
      await link(a, b);
      await link(b, c);
      a.send('who is there');
      const m = (await c.recv(1, 5000))!;
      expect(m.sender).to.equal(a.id);
      expect(c.routing_table.has(a.id)).to.equal(false);
      const replied = m.reply('c here');
      expect(c.requests.size).to.equal(1);
      await replied;
      const r = (await a.recv(1, 5000))!;
      expect(text(r)).to.deep.equal(['whisper', 'c here']);
      expect(r.sender).to.equal(c.id);
      expect(c.routing_table.has(a.id)).to.equal(true);
      expect(c.requests.size).to.equal(0);
    });

    it('refuses a peer that speaks another protocol', async () => {
      const a = await make();
      const other = await nodes.make({ protocol: new Protocol('other-subnet', encryption) });
      const errors: Error[] = [];
      a.events$.subscribe((e) => { if (e.type === 'error') errors.push(e.error); });
      const err = await other.connect('127.0.0.1', a.outAddr[1]).then(() => undefined, (e: Error) => e);
      expect(err).to.satisfy((e: unknown) => e instanceof ProtocolMismatchError || e instanceof ConnectionClosedError);
      await waitFor(() => errors.some((e) => e instanceof ProtocolMismatchError), 5000, 'mismatch recorded');
      expect(a.routing_table.size).to.equal(0);
      expect(other.routing_table.size).to.equal(0);
      expect(a.stats.errors.ERR_PROTOCOL_MISMATCH).to.equal(1);
    });

    it('serves recv() with quantities and timeouts, and messages$ alongside', async () => {
      const a = await make();
      const b = await make();
      await link(a, b);
      const seen: string[] = [];
      b.messages$.subscribe((m) => seen.push(m.packets[1]!.toString()));
      const three = b.recv(3, 5000);
      a.send('1'); a.send('2'); a.send('3'); a.send('4');
      expect((await three).map((m) => m.packets[1]!.toString())).to.deep.equal(['1', '2', '3']);
      expect((await b.recv(1, 5000))!.packets[1]!.toString()).to.equal('4');
      expect(await b.recv(1, 20)).to.equal(undefined);
      expect(await b.recv(2, 20)).to.deep.equal([]);
      expect(seen).to.deep.equal(['1', '2', '3', '4']);
    });

    it('carries a custom subflag given with the type option', async () => {
      const a = await make();
      const b = await make();
      await link(a, b);
      a.send('payload', { type: 'chat' });
      const m = (await b.recv(1, 5000))!;
      expect(text(m)).to.deep.equal(['chat', 'payload']);
    });
  });
}

describe('mesh compression on the wire', function () {
  this.timeout(30_000);
  const nodes = new Nodes();
  const taps: Tap[] = [];
  afterEach(async () => {
    await nodes.closeAll();
    await Promise.all(taps.splice(0).map((t) => t.close()));
  });

  async function tapped(aOptions = {}, bOptions = {}) {
    const a = await nodes.make(aOptions);
    const b = await nodes.make(bOptions);
    const tap = await Tap.start(a.outAddr[1]);
    taps.push(tap);
    await b.connect('127.0.0.1', tap.port);
    await waitFor(() => a.routing_table.size === 1 && b.routing_table.size === 1, 5000, 'handshake');
    return { a, b, tap };
  }

  it('negotiates gzip, sends handshakes plain and, as py2p, every later frame compressed (compressMinBytes 0, skipIncompressible off)', async () => {
    const py2p = { compressMinBytes: 0, skipIncompressible: false };
    const { a, b, tap } = await tapped(py2p, py2p);
    const payload = 'compress me '.repeat(50);
    b.send(payload);
    await a.recv(1, 5000);
    const frames = tap.frames('toServer');
    expect(frames.length).to.be.greaterThanOrEqual(2);
    // Handshake: packet headers, starting with the 7-byte packet 'whisper'.
    expect(frames[0]!.subarray(0, 4).readUInt32BE(0)).to.equal(7);
    for (const body of frames.slice(1)) {
      expect(body[0], 'zlib header').to.equal(0x78);
      inflateSync(body);
    }
    const last = PathfindingMessage.feedString(a.protocol, encodeFrame(inflateSync(frames.at(-1)!)));
    expect(last.payload[1]!.toString()).to.equal(payload);
    expect(frames.at(-1)!.length).to.be.lessThan(payload.length);
    const back = tap.frames('toClient');
    expect(back[0]!.readUInt32BE(0)).to.equal(7);
    expect(back.slice(1).every((f) => f[0] === 0x78)).to.equal(true);
  });

  it('with compressMinBytes, sends small messages plain and large ones compressed; both arrive', async () => {
    const { a, b, tap } = await tapped({ compressMinBytes: 0 }, { compressMinBytes: 1024 });
    const small = 'small '.repeat(20);
    const large = 'large '.repeat(400);
    b.send(small);
    b.send(large);
    const got = await a.recv(2, 5000);
    expect(got.map((m) => text(m))).to.deep.equal([['broadcast', small], ['broadcast', large]]);
    const [plain, deflated] = tap.frames('toServer').slice(-2);
    // A plain body starts with the msg_type packet's 4-byte length (9, 'broadcast').
    expect(plain!.readUInt32BE(0)).to.equal(9);
    expect(deflated![0], 'zlib header').to.equal(0x78);
    expect(deflated!.length).to.be.lessThan(large.length);
    // The node with compressMinBytes 0 compresses everything it sends, as py2p does.
    a.send('tiny');
    await b.recv(1, 5000);
    expect(tap.frames('toClient').at(-1)![0]).to.equal(0x78);
  });

  it('with the defaults, sends small and incompressible payloads plain and compressible ones compressed', async () => {
    const { a, b, tap } = await tapped();
    const small = '{"small": true}';
    const random = randomBuffer(prng(8192), 8192);
    const json = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, name: `node ${i}`, addr: ['127.0.0.1', 4000 + i] })));
    b.send(small);
    b.send(random);
    b.send(json);
    const got = await a.recv(3, 5000);
    expect(got[2]!.packets[1]!.toString()).to.equal(json);
    expect(Buffer.compare(got[1]!.packets[1]!, random)).to.equal(0);
    const [f1, f2, f3] = tap.frames('toServer').slice(-3);
    expect(f1!.readUInt32BE(0), 'small: plain').to.equal(9);
    expect(f2!.readUInt32BE(0), 'incompressible: plain').to.equal(9);
    expect(f3![0], 'JSON: zlib header').to.equal(0x78);
    expect(f3!.length).to.be.lessThan(json.length / 3);
  });

  it('deflates and inflates a large frame off the event loop, keeping the order of the frames around it', async () => {
    const { a, b, tap } = await tapped();
    const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `node ${i}`, ok: i % 3 === 0 })));
    expect(big.length).to.be.greaterThan(512 * 1024);
    b.send('before');
    b.send(big);
    b.send('after');
    await b.whisper(a.id, 'whispered after');
    const got = await a.recv(4, 10_000);
    expect(got.map((m) => m.packets[1]!.toString().slice(0, 20))).to.deep.equal(['before', big.slice(0, 20), 'after', 'whispered after']);
    expect(got[1]!.packets[1]!.toString()).to.equal(big);
    const frames = tap.frames('toServer').slice(-4);
    expect(frames[1]![0], 'the large one compressed').to.equal(0x78);
    expect(frames[1]!.length).to.be.lessThan(big.length / 4);
    expect(frames[0]!.readUInt32BE(0)).to.equal(9);
    expect(frames[2]!.readUInt32BE(0)).to.equal(9);
  });

  it('sends plain frames when compression is turned off on either side', async () => {
    const { a, b, tap } = await tapped({ compression: [] }, {});
    b.send('plain please');
    a.send('and back');
    await a.recv(1, 5000);
    await b.recv(1, 5000);
    for (const body of [...tap.frames('toServer'), ...tap.frames('toClient')]) expect(body.readUInt32BE(0)).to.be.lessThan(100);
  });

  it('converges after an undecodable frame: compression reset both ways, nothing lost after', async () => {
    const { a, b, tap } = await tapped();
    b.send('before');
    expect(text((await a.recv(1, 5000))!)).to.deep.equal(['broadcast', 'before']);
    // A frame that neither inflates nor parses: 'garbage' as a packet of declared length 16.
    tap.inject('toServer', Buffer.from('0000000b0000001067617262616765', 'hex'));
    await waitFor(() => a.stats.errors.ERR_BAD_PACKET_HEADER === 1, 5000, 'decode failure');
    await waitFor(() => [...a.routing_table.values()][0]!.compressionUsed === null && [...b.routing_table.values()][0]!.compressionUsed === null, 5000, 'both sides plain');
    const before = { toServer: tap.frames('toServer').length, toClient: tap.frames('toClient').length };
    b.send('after');
    a.send('reply after');
    expect(text((await a.recv(1, 5000))!)).to.deep.equal(['broadcast', 'after']);
    expect(text((await b.recv(1, 5000))!)).to.deep.equal(['broadcast', 'reply after']);
    // b answered the resend request with 'before' again, same id: a dropped it as a duplicate.
    await waitFor(() => a.stats.duplicates >= 1, 5000, 'resent copy dropped');
    for (const f of tap.frames('toServer').slice(before.toServer)) expect(f.readUInt32BE(0), 'plain to a').to.be.lessThan(100);
    for (const f of tap.frames('toClient').slice(before.toClient)) expect(f.readUInt32BE(0), 'plain to b').to.be.lessThan(100);
    expect(a.routing_table.size).to.equal(1);
    expect(b.routing_table.size).to.equal(1);
    expect(a.status).to.not.equal('Nominal');
  });
});
