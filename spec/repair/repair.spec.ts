// Repair between rx2p nodes in one process, over real loopback sockets: what a node that
// was cut off gets back, what py2p peers see, catch-up, and the bounds a hostile peer meets.
import { expect } from 'chai';
import {
  PathfindingMessage, Protocol, REPAIR_CAPABILITY, REPAIR_SUBFLAG, RX2P_CAPABILITY, pyJsonDumps, type MeshEvent, type MeshOptions,
} from '../../src/index.js';
import { encodeSummary, encodeWant } from '../../src/protocol/repair-wire.js';
import { countDeliveries, link, waitFor } from '../helpers.js';
import { hostileHarness, expectTypedErrors } from '../hostile/harness.js';
import { RawPeer } from '../hostile/raw-peer.js';
import { Deframer } from '../../src/index.js';

const fast: MeshOptions = { sweepIntervalMs: 50, repairIntervalMs: 200, reconnectIntervalMs: 0 };

const all = (got: Map<string, number>, tags: string[]) => tags.every((t) => got.has(t));
const duplicates = (got: Map<string, number>) => [...got.values()].filter((n) => n > 1).length;

describe('repair of missed broadcasts between rx2p nodes', function () {
  this.timeout(30_000);
  const { nodes, keep } = hostileHarness('repair');

  it('gives a node that was disconnected every broadcast it missed, once, when it connects again', async () => {
    const a = await nodes.make(fast);
    const b = await nodes.make(fast);
    const got = countDeliveries(b);
    await link(a, b);
    await b.disconnect(a.id);
    await waitFor(() => a.routingTable.size === 0, 5_000, 'a to see b go');
    const tags = Array.from({ length: 300 }, (_, i) => `missed-${i}`);
    for (const t of tags) a.send(t);
    expect(got.size).to.equal(0);
    const events: MeshEvent[] = [];
    b.events$.subscribe((e) => events.push(e));
    await b.connect('127.0.0.1', a.outAddr[1]);
    await waitFor(() => all(got, tags), 10_000, 'b to get what it missed');
    expect(duplicates(got)).to.equal(0);
    expect(b.stats.repairReceived).to.equal(300);
    expect(a.stats.repairSent).to.equal(300);
    expect(a.stats.repairRequests).to.be.greaterThan(0);
    await waitFor(() => events.some((e) => e.type === 'repair'), 2_000, 'a repair event');
    const received = events.filter((e) => e.type === 'repair').reduce((n, e) => n + (e.type === 'repair' ? e.received : 0), 0);
    expect(received).to.equal(300);
  });

  it('repairs over SSL and to a peer that negotiated gzip, the same way', async () => {
    const ssl = { ...fast, protocol: new Protocol('mesh', 'SSL') };
    const a = await nodes.make(ssl);
    const b = await nodes.make(ssl);
    const got = countDeliveries(b);
    await link(a, b);
    await b.disconnect(a.id);
    await waitFor(() => a.routingTable.size === 0, 5_000, 'a to see b go');
    const tags = Array.from({ length: 100 }, (_, i) => `ssl-${i}-${'z'.repeat(i)}`);
    for (const t of tags) a.send(t);
    await b.connect('127.0.0.1', a.outAddr[1]);
    await waitFor(() => all(got, tags), 10_000, 'b to get what it missed over TLS');
    expect(duplicates(got)).to.equal(0);
  });

  it('floods a repaired broadcast on, so a whole side catches up through one link', async () => {
    const a = await nodes.make(fast);
    const b = await nodes.make(fast);
    const c = await nodes.make(fast);
    const gotC = countDeliveries(c);
    await link(b, c);
    const tags = Array.from({ length: 50 }, (_, i) => `side-${i}`);
    for (const t of tags) a.send(t); // a has no peers yet
    await link(a, b);
    await waitFor(() => all(gotC, tags), 10_000, 'c to get them through b');
    expect(duplicates(gotC)).to.equal(0);
  });

  it('gives a new node no history, unless it asks with catchUpSeconds', async () => {
    const a = await nodes.make(fast);
    const tags = Array.from({ length: 40 }, (_, i) => `history-${i}`);
    for (const t of tags) a.send(t);
    // The newcomers start 5 s later by their clocks (no wait): what a sent is history to them.
    const later = () => Math.floor(Date.now() / 1000) + 5;
    const plain = await nodes.make({ ...fast, clock: later });
    const catching = await nodes.make({ ...fast, clock: later, catchUpSeconds: 30 });
    const gotPlain = countDeliveries(plain);
    const gotCatching = countDeliveries(catching);
    await link(a, plain);
    await link(a, catching);
    await waitFor(() => all(gotCatching, tags), 10_000, 'the catching-up node to get the history');
    expect(duplicates(gotCatching)).to.equal(0);
    // Several intervals later the other still has nothing.
    const until = Date.now() + 1_000;
    await waitFor(() => Date.now() > until, 2_000);
    expect(gotPlain.size).to.equal(0);
  });

  it('admits a repaired broadcast older than maxMessageAgeSeconds when it asked for it and it is inside the window; flooding still drops it', async () => {
    // a's clock is 30 s behind: to b, everything a sends is 30 s old.
    const a = await nodes.make({ ...fast, clock: () => Math.floor(Date.now() / 1000) - 30 });
    const b = await nodes.make({ ...fast, maxMessageAgeSeconds: 10, repairWindowSeconds: 60, catchUpSeconds: 60 });
    const got = countDeliveries(b);
    await link(a, b);
    a.send('flooded-old');
    await waitFor(() => b.stats.expired >= 1, 5_000, 'the flooded copy dropped as too old');
    expect(got.has('flooded-old')).to.equal(false);
    // The next exchange finds b lacks it: b asks, and the asked-for copy is admitted.
    await waitFor(() => got.has('flooded-old'), 10_000, 'the repaired copy');
    expect(got.get('flooded-old')).to.equal(1);
    expect(b.stats.repairReceived).to.equal(1);
  });

  it('sends a py2p peer (no capability) nothing new: after its handshake only the peers list, however long it stays', async () => {
    const a = await nodes.make(fast);
    for (let i = 0; i < 20; i++) a.send(`before-${i}`);
    const raw = await keep(RawPeer.connect(a));
    await raw.handshake('["gzip", "bz2", "lzma"]');
    const until = Date.now() + 1_500; // seven repair intervals
    await waitFor(() => Date.now() > until, 3_000);
    const frames = new Deframer({ maxFrameBytes: 1 << 20 }).push(Buffer.concat(raw.received));
    const kinds = frames.map((f) => PathfindingMessage.feedString(a.protocol, Buffer.concat([lenOf(f), f]), false, ['gzip']).packets.map((p) => p.toString('latin1')));
    expect(kinds.map((p) => `${p[0]} ${p[4]}`)).to.deep.equal(['whisper handshake', 'whisper peers']);
    // The handshake names the capability after the methods; py2p ignores names it does not know.
    expect(kinds[0]![8]).to.equal(pyJsonDumps(['gzip', RX2P_CAPABILITY, REPAIR_CAPABILITY]));
    expect(a.stats.repairControlBytes).to.equal(0);
  });

  it('delivers an rx2p-repair whisper from a peer without the capability to the user, as any other subflag', async () => {
    const a = await nodes.make(fast);
    const raw = await keep(RawPeer.connect(a));
    await raw.handshake('[]');
    const got = a.recv(1, 5_000);
    await raw.send('whisper', [REPAIR_SUBFLAG, 'want', '']);
    const m = await got;
    expect(m?.packets[0]?.toString()).to.equal(REPAIR_SUBFLAG);
  });

  it('costs a peer that asks for everything, again and again, at most repairMaxBytes per interval', async () => {
    const maxBytes = 64 * 1024;
    const a = await nodes.make({ ...fast, repairIntervalMs: 1_000, repairMaxBytes: maxBytes, repairMaxRequests: 4 });
    const ids: string[] = [];
    a.events$.subscribe(() => undefined);
    for (let i = 0; i < 2_000; i++) a.send(`payload-${i}-${'x'.repeat(200)}`);
    a.repairStore!.forEach((id) => ids.push(id));
    expect(ids).to.have.length(2_000);
    const raw = await keep(RawPeer.connect(a));
    await raw.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    const before = raw.receivedBytes;
    const started = Date.now();
    // 50 requests for all 2,000 (in 4,096-id messages: one each), as fast as they go.
    for (let i = 0; i < 50; i++) await raw.send('whisper', [REPAIR_SUBFLAG, 'want', encodeWant(ids)]);
    const until = Date.now() + 2_500;
    await waitFor(() => Date.now() > until, 4_000);
    const elapsedIntervals = Math.ceil((Date.now() - started) / 1_000);
    const got = raw.receivedBytes - before;
    console.log(`      50 requests for all 2,000 stored messages (${(a.repairStore!.bytes / 1024).toFixed(0)} KiB): ${got} bytes sent in ${elapsedIntervals} intervals (bound ${maxBytes} per interval), ${a.stats.repairRefused} requests refused, ${a.stats.repairDeferred} deferred`);
    expect(got).to.be.at.most(elapsedIntervals * maxBytes);
    expect(a.stats.repairRefused).to.be.at.least(50 - elapsedIntervals * 4);
    expectTypedErrors(a);
  });

  it('answers a peer that floods summaries with at most repairMaxBytes per interval', async () => {
    const maxBytes = 64 * 1024;
    const a = await nodes.make({ ...fast, repairIntervalMs: 1_000, repairMaxBytes: maxBytes, repairMaxRequests: 4 });
    for (let i = 0; i < 2_000; i++) a.send(`summary-flood-${i}`);
    // Past the settling second, so that the node's buckets are compared.
    const settled = Date.now() + 2_100;
    await waitFor(() => Date.now() > settled, 3_000);
    const raw = await keep(RawPeer.connect(a));
    await raw.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    const before = raw.receivedBytes;
    const started = Date.now();
    // "I hold nothing and want everything since 1970", ten times every 250 ms for 3 s.
    const empty = encodeSummary({ horizon: 0, completeSince: 0, bucketSeconds: 2, buckets: [] });
    while (Date.now() - started < 3_000) {
      for (let i = 0; i < 10; i++) await raw.send('whisper', [REPAIR_SUBFLAG, 'sum', empty]);
      const next = Date.now() + 250;
      await waitFor(() => Date.now() >= next, 1_000);
    }
    const intervals = Math.ceil((Date.now() - started) / 1_000) + 1;
    const got = raw.receivedBytes - before;
    console.log(`      120 summaries in 3 s asking for 2,000 stored messages: ${got} bytes sent in ${intervals} intervals (bound ${maxBytes} per interval), ${a.stats.repairRefused} refused, ${a.stats.repairDeferred} answers deferred`);
    expect(got).to.be.greaterThan(0);
    expect(got).to.be.at.most(intervals * maxBytes);
    expect(a.stats.repairRefused).to.be.greaterThan(80);
  });

  it('refuses malformed repair messages with a typed error and goes on serving', async () => {
    const a = await nodes.make(fast);
    const b = await nodes.make(fast);
    await link(a, b);
    const raw = await keep(RawPeer.connect(a));
    await raw.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    await raw.send('whisper', [REPAIR_SUBFLAG, 'want', 'abc']);
    await raw.send('whisper', [REPAIR_SUBFLAG, 'have', 'ask', Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0xff, 0xff, 0xff, 0xff])]);
    await raw.send('whisper', [REPAIR_SUBFLAG, 'sum', Buffer.alloc(3)]);
    await raw.send('whisper', [REPAIR_SUBFLAG, 'nonsense']);
    await raw.send('whisper', [REPAIR_SUBFLAG]);
    await waitFor(() => a.stats.repairRefused === 5, 5_000, 'five refusals');
    expect(a.stats.errors.ERR_MALFORMED_CONTROL).to.equal(5);
    expectTypedErrors(a);
    const got = b.recv(1, 5_000);
    a.send('still-serving');
    expect((await got)?.text(1)).to.equal('still-serving');
  });

  it('keeps the store within its count and byte bounds, oldest out first', async () => {
    const a = await nodes.make({ ...fast, repairStoreMaxMessages: 100, repairStoreMaxBytes: 64 * 1024 });
    for (let i = 0; i < 1_000; i++) a.send(`m-${i}`);
    expect(a.repairStore!.size).to.equal(100);
    for (let i = 0; i < 1_000; i++) a.send(`big-${i}-${'y'.repeat(2_000)}`);
    expect(a.repairStore!.bytes).to.be.at.most(64 * 1024);
    expect(a.repairStore!.size).to.be.below(100);
  });
});

function lenOf(body: Buffer): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(body.length, 0);
  return b;
}
