// Every frame rx2p writes to a py2p peer, checked against py2p 0.2's handlers
// (py2p-model.ts), without py2p: rx2p nodes with every default extension on (peer
// discovery, repair, TCP keepalive, and a WebSocket listener so the rx2p-web directory
// speaks) next to a peer that speaks py2p 0.2 on the wire and records what it is sent.
import * as net from 'node:net';
import { expect } from 'chai';
import { Deframer, PathfindingMessage, Protocol, pyJsonDumps, type MeshOptions } from '../../src/index.js';
import { Nodes, waitFor } from '../helpers.js';
import { fakeId } from '../hostile/raw-peer.js';
import { PY2P_METHODS, py2pReceives, type Outcome, type Py2pState } from './py2p-model.js';

const protocol = new Protocol('mesh', 'Plaintext');
const utc = () => Math.floor(Date.now() / 1000);
const frame = (msgType: string, sender: string, payload: string[], time = utc()) => new PathfindingMessage(protocol, msgType, sender, payload, [], time).string;

/** One connection of the fake py2p node, with every frame it was sent and when. */
interface Wire { socket: net.Socket; frames: Array<{ body: Buffer; at: number }>; node?: string }

/** A peer that speaks py2p 0.2 (handshake on accept, as mesh_daemon.handle_accept does) and records. */
class FakePy2p {
  readonly id = fakeId();
  readonly wires: Wire[] = [];
  port = 0;
  private readonly server = net.createServer((s) => this.adopt(s));
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  handshake(): Buffer {
    return frame('whisper', this.id, ['handshake', this.id, protocol.id, pyJsonDumps(['127.0.0.1', this.port]), pyJsonDumps(PY2P_METHODS)]);
  }
  adopt(socket: net.Socket, node?: string): Wire {
    const wire: Wire = { socket, frames: [], node };
    const d = new Deframer({ maxFrameBytes: 1 << 24 });
    socket.on('data', (c) => { for (const body of d.push(c)) wire.frames.push({ body, at: utc() }); });
    socket.on('error', () => undefined);
    this.wires.push(wire);
    socket.write(this.handshake());
    return wire;
  }
  async dial(port: number, node: string): Promise<Wire> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((r, j) => { socket.once('connect', r); socket.once('error', j); });
    return this.adopt(socket, node);
  }
  async close(): Promise<void> {
    for (const w of this.wires) w.socket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** The kind of a frame as rx2p wrote it: flag and subflag (from rx2p's own decoder, for labels only). */
function kindOf(body: Buffer, compression: string[]): string {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const m = PathfindingMessage.feedString(protocol, Buffer.concat([len, body]), false, compression);
  const p = m.packets.map((x) => x.toString('latin1'));
  return p[0] === 'renegotiate' ? `renegotiate ${p[4]}` : `${p[0]} ${p[4] ?? ''}`;
}

describe('frames rx2p writes to a py2p 0.2 peer (py2p-model.ts: its handlers replayed)', function () {
  this.timeout(60_000);
  const nodes = new Nodes();
  let fake: FakePy2p;
  afterEach(async () => {
    await nodes.closeAll();
    await fake?.close();
  });

  it('make py2p 0.2 raise, disconnect, write to all its peers or dial a dead address: never, over every frame type, discovery, repair and the web directory running, a peer lost and a second connection in a peer\'s name', async () => {
    fake = new FakePy2p();
    await fake.listen();
    // Every default extension on, their intervals short so that each fires many times.
    // maxOutgoing above the peers each will have, so discovery keeps asking.
    const o: MeshOptions = { peerDiscoveryMs: 200, repairIntervalMs: 200, keepAliveMs: 1_000, maxOutgoing: 8 };
    const a = await nodes.make({ ...o, webSocket: { port: 0 } });
    const b = await nodes.make(o);
    const c = await nodes.make({ ...o, webSocket: { port: 0 } });
    await b.connect('127.0.0.1', a.outAddr[1]);
    await c.connect('127.0.0.1', a.outAddr[1]);
    // The py2p peer dials a (so a's peers lists name it); b and c dial it from those lists
    // when it joins before them, so it is also dialled by rx2p nodes here: d joins later.
    const toA = await fake.dial(a.outAddr[1], 'a');
    await waitFor(() => a.routing_table.has(fake.id), 5_000, 'a has the py2p peer');
    await b.connect('127.0.0.1', fake.port);
    await waitFor(() => b.routing_table.has(fake.id), 5_000, 'b has the py2p peer');
    // Broadcasts every way: from rx2p nodes (own frames, and relays of each other's), from py2p.
    for (let i = 0; i < 5; i++) {
      a.send(`a-${i}`);
      b.send(`b-${i}`);
      c.send(`c-${i}`);
      toA.socket.write(frame('broadcast', fake.id, ['broadcast', `py2p-${i}`]));
    }
    // A whisper to the py2p peer; py2p's request for the address of b (message.reply()'s
    // route), which a answers; a frame a cannot read (it renegotiates); py2p's resend.
    await a.whisper(fake.id, 'hello py2p');
    toA.socket.write(frame('broadcast', fake.id, ['request', 'rq1', b.id]));
    toA.socket.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    toA.socket.write(frame('renegotiate', fake.id, ['resend']));
    // A node that joins later and catches up: repair's history flooded on.
    const d = await nodes.make({ ...o, catchUpSeconds: 30 });
    await d.connect('127.0.0.1', a.outAddr[1]);
    await d.connect('127.0.0.1', fake.port);
    await waitFor(() => d.routing_table.has(fake.id), 5_000, 'd has the py2p peer');
    // Long enough for discovery (peers < maxOutgoing), repair and the directory to fire many times.
    const until = Date.now() + 4_000;
    await waitFor(() => Date.now() > until, 10_000, 'the extensions ran');
    for (let i = 0; i < 3; i++) d.send(`d-${i}`);
    // A second connection in the py2p peer's name: a keeps the first and probes it.
    const again = await fake.dial(a.outAddr[1], 'a, again');
    const probed = toA.frames.length;
    await waitFor(() => again.socket.destroyed || again.frames.length > 0, 5_000, 'a answered the second connection');
    await waitFor(() => toA.frames.length > probed, 5_000, 'a probed the first connection');
    // b loses a peer it dialled (a): it asks its peers for their lists again.
    const bFramesToFake = () => fake.wires.filter((w) => w.node === undefined).reduce((n, w) => n + w.frames.length, 0);
    const before = bFramesToFake();
    await a.close();
    await waitFor(() => !b.routing_table.has(a.id), 5_000, 'b lost a');
    const settle = Date.now() + 1_000;
    await waitFor(() => Date.now() > settle, 3_000, 'b reacted');
    expect(bFramesToFake()).to.be.at.least(before);
    await waitFor(() => fake.wires.every((w) => w.frames.some((f) => f.body.length > 0)), 5_000, 'frames on every wire');
    const after = Date.now() + 500;
    await waitFor(() => Date.now() > after, 2_000, 'the last frames');

    const listening = new Set([a, b, c, d].map((n) => n.outAddr[1]).concat(fake.port));
    const table = new Map<string, { count: number; outcomes: Set<string> }>();
    const bad: string[] = [];
    for (const wire of fake.wires) {
      // py2p's state for this connection: the fake's own handshake counts as its last_sent.
      const st: Py2pState = { protocolId: protocol.id, now: 0, routingTable: new Set(), waterfalls: new Set(), compression: [], hasLastSent: true, dialsPeers: true };
      for (const f of wire.frames) {
        st.now = f.at;
        const kind = kindOf(f.body, st.compression.includes('gzip') ? ['gzip'] : []);
        const out: Outcome = py2pReceives(f.body, st);
        const label = out.kind === 'writes-to-all' ? `${out.kind} (${out.what})` : out.kind === 'answers' ? `answers (${out.what})` : out.kind === 'ignored' ? `ignored (${out.why})` : out.kind;
        const row = table.get(kind) ?? { count: 0, outcomes: new Set() };
        row.count++;
        row.outcomes.add(label);
        table.set(kind, row);
        const userFlood = out.kind === 'writes-to-all' && out.what === 'flood' && /^(broadcast|whisper)$/.test(out.subflag);
        if (out.kind === 'raises' || out.kind === 'disconnects' || (out.kind === 'writes-to-all' && !userFlood)) bad.push(`${kind}: ${JSON.stringify(out)}`);
        if (out.kind === 'dials') for (const [, port] of out.addrs) if (!listening.has(port)) bad.push(`${kind}: dials ${port}, where nothing listens`);
      }
    }
    for (const [kind, row] of [...table].sort()) console.log(`      ${kind.padEnd(26)} x${String(row.count).padEnd(4)} → ${[...row.outcomes].join('; ')}`);
    expect(bad, bad.join('\n')).to.deep.equal([]);
    // Every kind of frame rx2p has for a py2p peer was exercised.
    for (const kind of ['whisper handshake', 'whisper peers', 'broadcast broadcast', 'whisper whisper', 'broadcast response', 'renegotiate compression', 'renegotiate resend']) {
      expect(table.has(kind), `${kind} written`).to.equal(true);
    }
    // And nothing rx2p keeps between rx2p nodes, and no relay (py2pRelayMaxAgeSeconds 0).
    for (const kind of table.keys()) expect(kind).to.not.match(/request|rx2p-|^waterfall/);
    // Meanwhile the rx2p nodes did ask each other and repair with each other.
    expect(a.stats.framesOut).to.be.greaterThan(0);
  });

  describe('the model catches what py2p 0.2 cannot take', () => {
    const st = (): Py2pState => ({ protocolId: protocol.id, now: utc(), routingTable: new Set(['x']), waterfalls: new Set(), compression: PY2P_METHODS, hasLastSent: true, dialsPeers: true });
    const body = (b: Buffer) => b.subarray(4);
    it('raises on the two-packet `whisper request *` peer discovery used to send', () => {
      expect(py2pReceives(body(frame('whisper', fakeId(), ['request', '*'])), st()).kind).to.equal('raises');
    });
    it('writes its routing table to every peer on a well-formed `request *`', () => {
      expect(py2pReceives(body(frame('whisper', fakeId(), ['request', 'r1', '*'])), st())).to.deep.include({ kind: 'writes-to-all', what: 'routing-table' });
    });
    it('floods a whisper with a subflag it does not know (rx2p-web, rx2p-repair) to every peer', () => {
      for (const sub of ['rx2p-web', 'rx2p-repair']) expect(py2pReceives(body(frame('whisper', fakeId(), [sub, '[]'])), st())).to.deep.include({ kind: 'writes-to-all', what: 'flood' });
    });
    it('drops a waterfall younger than 60 s, and raises on a handshake in an older one', () => {
      expect(py2pReceives(body(frame('waterfall', fakeId(), ['broadcast', 'x'])), st()).kind).to.equal('ignored');
      expect(py2pReceives(body(frame('waterfall', fakeId(), ['handshake', 'a', 'b', '[]', '[]'], utc() - 61)), st()).kind).to.equal('raises');
    });
    it('raises on a renegotiation without its list, and on a bad time packet', () => {
      expect(py2pReceives(body(frame('renegotiate', fakeId(), ['compression'])), st()).kind).to.equal('raises');
      const m = new PathfindingMessage(protocol, 'whisper', 'x', ['whisper', 'hi'], [], utc());
      const packets = [Buffer.from('whisper'), Buffer.from('x'), Buffer.from('id'), Buffer.from('0OIl'), Buffer.from('whisper')];
      const header = Buffer.alloc(4 * packets.length);
      packets.forEach((p, i) => header.writeUInt32BE(p.length, 4 * i));
      expect(m).to.exist;
      expect(py2pReceives(Buffer.concat([header, ...packets]), st()).kind).to.equal('raises');
    });
  });
});
