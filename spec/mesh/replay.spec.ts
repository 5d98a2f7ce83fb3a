// Replays the frames py2p 0.2 wrote (spec/fixtures: kinds handshake, peers, exchange)
// against a live rx2p node, and compares what the node writes back with what py2p wrote.
import { expect } from 'chai';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { MeshSocket, PathfindingMessage, Protocol, REPAIR_CAPABILITY, RX2P_CAPABILITY, compression, encodeFrame, pyJsonDumps } from '../../src/index.js';
import { waitFor } from '../helpers.js';
import { RawPeer } from './raw-peer.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const vectors = JSON.parse(readFileSync(new URL('../fixtures/py2p-0.2-vectors.json', import.meta.url), 'utf8'));
const cases = (kind: string): any[] => vectors.cases.filter((c: any) => c.kind === kind);
const hex = (h: string) => Buffer.from(h, 'hex');
const prot = (p: { subnet: string; encryption: string }) => new Protocol(p.subnet, p.encryption);

/** Packets of a frame body the node sent (inflated if it is zlib). */
function packetsOf(protocol: Protocol, body: Buffer): string[] {
  const plain = body[0] === 0x78 ? inflateSync(body) : body;
  return PathfindingMessage.feedString(protocol, encodeFrame(plain)).packets.map((p) => p.toString('hex'));
}

/**
 * The compression list of an rx2p handshake: what this build supports, then the rx2p and
 * repair capabilities (names py2p does not know, so it never uses them: docs/repair.md,
 * docs/py2p-interop.md).
 */
const advertised = pyJsonDumps([...compression, RX2P_CAPABILITY, REPAIR_CAPABILITY]);

/**
 * The handshake rx2p must write where py2p wrote `packets`: the same packets but for the
 * compression list (`advertised`).
 */
function expectedHandshake(protocol: Protocol, packets: string[], time: bigint): Buffer {
  const payload = packets.slice(4).map(hex);
  payload[4] = Buffer.from(advertised);
  return new PathfindingMessage(protocol, 'whisper', hex(packets[1]!), payload, [], time).string;
}

describe('replay of py2p 0.2 traffic against an rx2p node', function () {
  this.timeout(30_000);
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  // py2p compresses every frame to a peer that negotiated a method, on the event loop:
  // these options make rx2p do exactly that (its defaults send small or incompressible
  // payloads plain, and deflate large ones with node:zlib).
  // py2pRelayMaxAgeSeconds: relay waterfalls to py2p peers as py2p does (rx2p's default
  // relays none to them: py2p 0.2 drops young ones; docs/py2p-interop.md).
  const py2pCompression = { compressMinBytes: 0, skipIncompressible: false, asyncZlibMinBytes: 0, py2pRelayMaxAgeSeconds: 60 };

  async function node(protocol: Protocol, salt: string, outAddr: [string, number], clock: () => number, extra = {}) {
    const n = await MeshSocket.create('127.0.0.1', 0, { protocol, userSalt: hex(salt), outAddr, clock, maxOutgoing: 0, ...py2pCompression, ...extra });
    open.push(n);
    return n;
  }

  describe('handshakes', () => {
    for (const v of cases('handshake')) {
      it(`${v.name}: the node's handshake is py2p's, byte for byte but for the compression list`, async () => {
        const protocol = prot(v.protocol);
        const n = await node(protocol, v.node.user_salt_hex, v.node.out_addr, () => Number(v.time));
        if (v.node.out_addr_type === 'tuple') expect(n.id).to.equal(v.node.id);
        let first: Buffer;
        if (v.direction === 'accept') {
          const peer = await RawPeer.connect(n.address!.port, protocol.encryption === 'SSL');
          open.push(peer);
          first = await peer.next();
        } else {
          const server = net.createServer();
          await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
          open.push({ close: () => new Promise((r) => server.close(r)) });
          const accepted = new Promise<RawPeer>((r) => server.once('connection', (s) => r(RawPeer.adopt(s))));
          void n.connect('127.0.0.1', (server.address() as net.AddressInfo).port).catch(() => undefined);
          const peer = await accepted;
          open.push(peer);
          first = await peer.next();
        }
        // py2p hashes str(out_addr) into the id, and str() of a Python list differs from a
        // tuple's; rx2p's out_addr is always a tuple, so that one case gets rx2p's own id.
        const wirePackets = [...v.packets_hex as string[]];
        if (v.node.out_addr_type !== 'tuple') wirePackets[1] = wirePackets[5] = Buffer.from(n.id).toString('hex');
        const mine = packetsOf(protocol, first);
        expect(mine.slice(0, 8).filter((_, i) => i !== 2)).to.deep.equal(wirePackets.slice(0, 8).filter((_, i) => i !== 2));
        expect(Buffer.concat([Buffer.alloc(4), first]).subarray(4)).to.deep.equal(
          expectedHandshake(protocol, wirePackets, BigInt(v.time)).subarray(4));
        if (v.node.out_addr_type === 'tuple') {
          // Where the ids agree, the handshake differs from py2p's only in the advertised list.
          expect(v.payload.compression_json).to.equal('["gzip", "bz2", "lzma"]');
          expect(Buffer.from(mine[8]!, 'hex').toString()).to.equal(advertised);
        }
      });
    }
  });

  describe('peers lists', () => {
    for (const v of cases('peers')) {
      it(`${v.name}: the node answers py2p's handshake as py2p did`, async () => {
        const protocol = prot(v.protocol);
        const n = await node(protocol, '00', ['127.0.0.1', 4444], () => Number(v.time));
        const peer = await RawPeer.connect(n.address!.port);
        open.push(peer);
        await peer.next(); // the node's own handshake
        peer.send(v.incoming_handshake_hex);
        if (!v.accepted) {
          await waitFor(() => peer.closed, 5000, 'node to hang up');
          expect(peer.unread).to.equal(0);
          expect(n.stats.errors.ERR_PROTOCOL_MISMATCH).to.equal(1);
          return;
        }
        const body = await peer.next();
        const mine = packetsOf(protocol, body);
        expect(Buffer.from(mine[0]!, 'hex').toString()).to.equal('whisper');
        expect(Buffer.from(mine[4]!, 'hex').toString()).to.equal('peers');
        // py2p's list also named the peers it already had; this node has only the newcomer.
        expect(Buffer.from(mine[5]!, 'hex').toString()).to.equal(pyJsonDumps([[v.peer.addr, v.peer.id]]));
        const expectedMethod = compression.find((m) => v.peer.compression.includes(m)) ?? null;
        expect(body[0] === 0x78 ? 'gzip' : null).to.equal(expectedMethod);
        if (v.compression_used === 'gzip') expect(expectedMethod).to.equal('gzip');
        const conn = n.routing_table.get(v.peer.id)!;
        expect([...conn.compression]).to.deep.equal(v.handler_compression);
        expect(conn.addr).to.deep.equal(v.peer.addr);
      });
    }
  });

  describe('the four-node exchange, with rx2p as node A', () => {
    const ex = cases('exchange')[0];
    const frame = (seq: number) => ex.frames.find((f: any) => f.seq === seq);
    const plainBody = (seq: number): Buffer => {
      const f = frame(seq);
      return f.compression_used ? hex(f.plain_body_hex) : hex(f.wire_hex).subarray(4);
    };

    it('answers B, C and D as py2p did, floods B\'s broadcast keeping its id, drops C\'s re-timed copy, and recovers from garbage', async () => {
      const protocol = prot(ex.protocol);
      let now = 0;
      const A = ex.nodes.A;
      const a = await node(protocol, A.user_salt_hex, A.out_addr, () => now);
      expect(a.id).to.equal(A.id);
      const at = (seq: number) => { now = Number(frame(seq).time); };

      // B dials A; A's handshake (frame 1) and peers list (frame 2).
      at(1);
      const b = await RawPeer.connect(a.address!.port);
      open.push(b);
      expect(await b.next()).to.deep.equal(expectedHandshake(protocol, frame(1).packets_hex, BigInt(frame(1).time)).subarray(4));
      at(2);
      b.send(frame(0).wire_hex);
      const peersToB = await b.next();
      expect(inflateSync(peersToB), 'frame 2, byte for byte before compression').to.deep.equal(plainBody(2));
      b.send(frame(3).wire_hex);

      // C dials A; A's handshake (frame 5) and peers list (frame 6: B and C, in random order).
      at(5);
      const c = await RawPeer.connect(a.address!.port);
      open.push(c);
      expect(await c.next()).to.deep.equal(expectedHandshake(protocol, frame(5).packets_hex, BigInt(frame(5).time)).subarray(4));
      at(6);
      c.send(frame(4).wire_hex);
      const peersToC = packetsOf(protocol, await c.next());
      const listOf = (h: string) => JSON.parse(Buffer.from(h, 'hex').toString()).map((e: unknown) => JSON.stringify(e)).sort();
      expect(listOf(peersToC[5]!)).to.deep.equal(listOf(frame(6).packets_hex[5]));
      c.send(frame(7).wire_hex);
      await waitFor(() => a.routing_table.size === 2, 5000, 'B and C in the routing table');

      // B's broadcast (frame 12): delivered once, flooded to C as a waterfall with B's sender, time and id.
      at(12); now += 1;
      b.send(frame(12).wire_hex);
      const m = (await a.recv(1, 5000))!;
      expect(m.sender).to.equal(ex.nodes.B.id);
      expect(m.id).to.equal(Buffer.from(frame(12).packets_hex[2], 'hex').toString());
      expect(m.packets.map((p) => p.toString('hex'))).to.deep.equal(frame(12).packets_hex.slice(4));
      const fwd = packetsOf(protocol, await c.next());
      expect(Buffer.from(fwd[0]!, 'hex').toString()).to.equal('waterfall');
      expect(fwd.slice(1)).to.deep.equal(frame(12).packets_hex.slice(1));

      // C's copy, re-timed by py2p (frame 15): a new id, same content: dropped, as py2p dropped it.
      at(15); now += 2;
      c.send(frame(15).wire_hex);
      await waitFor(() => a.stats.retimedDuplicates === 1, 5000, 're-timed copy dropped');
      expect(a.queue).to.have.length(0);

      // A response to a request this A never made (py2p's A did): no dial, no reply; as a new
      // broadcast it is flooded on to B, as py2p floods it. Read here, so that it cannot
      // arrive among the renegotiation frames below.
      c.send(frame(23).wire_hex);
      const relayed = packetsOf(protocol, await b.next());
      expect(Buffer.from(relayed[0]!, 'hex').toString()).to.equal('waterfall');
      expect(relayed.slice(1)).to.deep.equal(frame(23).packets_hex.slice(1));

      // D joins (py2p's A dialled D; here D dials A) and sends its peers list: A stays put (max_outgoing 0).
      at(26);
      const d = await RawPeer.connect(a.address!.port);
      open.push(d);
      await d.next();
      d.send(frame(26).wire_hex);
      await d.next();
      d.send(frame(27).wire_hex);
      await waitFor(() => a.routing_table.size === 3, 5000, 'D in the routing table');

      // Garbage from B (frame 28): A asks for no compression and a resend (frames 29, 30),
      // sent plain where py2p compressed them, so that B can read the second one.
      at(29);
      b.send(frame(28).wire_hex);
      const reneg = await b.next();
      const resend = await b.next();
      expect(reneg, 'frame 29, byte for byte, uncompressed').to.deep.equal(plainBody(29));
      expect(resend, 'frame 30, byte for byte, uncompressed').to.deep.equal(plainBody(30));
      // B's renegotiation (frame 31, plain): A answers with its own (frame 32), byte for byte on the wire.
      at(32);
      b.send(frame(31).wire_hex);
      expect(encodeFrame(await b.next())).to.deep.equal(hex(frame(32).wire_hex));
      expect(a.routing_table.size).to.equal(3);
      expect(a.stats.errors.ERR_BAD_PACKET_HEADER).to.equal(1);
      expect(a.stats.delivered).to.equal(1);
    });
  });
});
