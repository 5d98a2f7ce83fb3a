// Backpressure and fair admission: a peer that sends faster than a node can work slows
// only itself. Each attack runs against a node in its own process (its RSS measured
// there) while an honest peer broadcasts a numbered line every 20 ms; the node stamps
// each honest line's arrival with its own clock and gives the stamps in its reports. Measured per attack: the
// longest gap between two honest deliveries, honest lines lost, the node's peak RSS,
// and fresh honest joins answered (connect() resolved) during the attack.
//
// npm test runs the inflate floods for 3 s, the small-frame flood for 2 s and the
// WebSocket flood with 2 messages; RX2P_BACKPRESSURE_LONG=1 runs them 20 s, 10 s and
// 8 messages, as the acceptance asks.
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';
import { expect } from 'chai';
import { MeshSocket, Protocol, defaultOptions, encodeLength, type MeshOptions } from '../../src/index.js';
import { waitFor } from '../helpers.js';
import { NodeProcess } from './child.js';
import { RawPeer, fakeId, frameOf, handshakePayload } from './raw-peer.js';
import { authProtocol } from '../trust/auth-peer.js';

const LONG = process.env.RX2P_BACKPRESSURE_LONG === '1';
const INFLATE_MS = LONG ? 20_000 : 3_000;
const SMALL_MS = LONG ? 10_000 : 2_000;
const IDLE = 1_000;
const WS_MESSAGES = LONG ? 8 : 2;
const MiB = 1024 * 1024;
const HONEST_EVERY_MS = 20;

/** Acceptance bounds, generous for a loaded 2-core machine where stated. */
// The acceptance bound is 1 s (RX2P_BACKPRESSURE_LONG=1); npm test allows 2.5 s, as the
// six engineers' suites share two cores (a load of 10 was seen to hold an idle honest
// node's own timer back by over a second). Without flow control the gap was 10-20 s.
const MAX_GAP_MS = LONG ? 1_000 : 2_500;
const MAX_RSS = 400 * MiB;
const MAX_JOIN_MS = 2_000;

/**
 * An honest peer in its own process (so that the attackers' load on this one does not
 * delay it), broadcasting `honest-N` on its own 20 ms timer. The victim stamps each
 * delivery with its own clock.
 */
class Honest {
  sent = 0;
  /** The longest interval between two of its own sends (its own loop, not the victim's). */
  ownIntervalMs = 0;
  private constructor(readonly node: NodeProcess) {}

  static async join(victim: NodeProcess, spawnHonest: (o: Parameters<typeof NodeProcess.spawn>[0]) => Promise<NodeProcess>, encryption?: string): Promise<Honest> {
    const node = await spawnHonest({ host: '127.0.0.1', encryption, record: undefined });
    const result = await node.connect('127.0.0.1', victim.port);
    expect(result.ok, `honest join: ${String(result.error)}`).to.equal(true);
    await waitFor(() => victim.events.some((e) => e.event === 'peer-connected' && e.id === node.id), 10_000, 'honest peer linked');
    return new Honest(node);
  }

  start(): void {
    this.node.command({ cmd: 'broadcast-every', tag: 'honest-', ms: HONEST_EVERY_MS });
  }

  async stop(): Promise<void> {
    const from = this.node.events.length;
    this.node.command({ cmd: 'stop-broadcast' });
    const e = await this.node.next((ev) => ev.event === 'broadcast-stopped', 10_000, from, 'honest stopped');
    this.sent = Number(e.sent);
    this.ownIntervalMs = Number(e.longestIntervalMs);
  }

  private tags(): string[] {
    return Array.from({ length: this.sent }, (_, i) => `honest-${i + 1}`);
  }

  /** Longest gap between two deliveries at the victim, over [from, to]; and the lines not delivered. */
  measure(from: number, to: number): { gapMs: number; lost: number; sent: number } {
    const times = this.tags().map((t) => this.recorded[t]).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    let gapMs = 0;
    let prev = Math.max(from, times[0] ?? from);
    for (const t of times) {
      if (t < prev) continue;
      gapMs = Math.max(gapMs, t - prev);
      prev = t;
      if (t > to) break;
    }
    if (prev < to) gapMs = Math.max(gapMs, to - prev);
    const lost = this.tags().filter((t) => this.recorded[t] === undefined).length;
    return { gapMs, lost, sent: this.sent };
  }

  /** The victim's longest event-loop delay over the attack (its own monitor). */
  victimLoopMaxMs = 0;

  /** The victim's record of honest deliveries: tag → its clock at delivery. */
  private recorded: Record<string, number> = {};

  /** Waits until every line sent has been delivered (or the deadline); returns the victim's last report. */
  async settle(victim: NodeProcess, ms = 15_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const report = await victim.report();
      this.victimLoopMaxMs = Math.max(this.victimLoopMaxMs, (report.loopDelay as { maxMs: number }).maxMs);
      this.recorded = report.recorded as Record<string, number>;
      if (this.tags().every((t) => this.recorded[t] !== undefined) || Date.now() > deadline) return report;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Fresh honest joins, one after another: the time each connect() took to complete its handshake. */
async function freshJoins(count: number, options: MeshOptions, join: (node: MeshSocket) => Promise<boolean>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const node = await MeshSocket.create('127.0.0.1', 0, { ...options, maxSendBufferBytes: 1024 * MiB });
    const t0 = Date.now();
    try {
      const ok = await Promise.race([join(node), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      times.push(ok ? Date.now() - t0 : Infinity);
    } catch {
      times.push(Infinity);
    } finally {
      await node.close();
    }
  }
  return times;
}

function mb(bytes: number): string {
  return (bytes / MiB).toFixed(0);
}

function fmtJoins(times: number[]): string {
  const ok = times.filter((t) => t <= MAX_JOIN_MS).length;
  return `${ok}/${times.length} fresh joins within ${MAX_JOIN_MS} ms (slowest ${Math.max(...times)} ms)`;
}

describe('backpressure and fair admission (node in a child process)', function () {
  this.timeout(120_000);
  // What this suite measures (time, memory) swings on a shared CI machine; a test whose
  // figure is over its bound is measured once more. A defect fails both runs.
  this.retries(1);
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function spawn(o: Parameters<typeof NodeProcess.spawn>[0]): Promise<NodeProcess> {
    const v = await NodeProcess.spawn({ record: 'honest-', ...o });
    cleanup.push(() => v.close());
    return v;
  }

  // Two 15 MiB payloads, gzip: about 15 KB each on the wire (the rest are duplicates,
  // which cost the node the same inflate and digest). The frames are made once and
  // shared by every attacker (a broadcast's sender is its origin, anyone's id).
  let bombs: Buffer[] | undefined;
  function inflateBombs(protocol: Protocol): Buffer[] {
    if (bombs) return bombs;
    const origin = fakeId();
    const zeros = Buffer.alloc(15 * MiB);
    bombs = [];
    for (let i = 0; i < 2; i++) {
      const tag = Buffer.from(`bomb-${i}-`);
      bombs.push(frameOf(protocol, 'broadcast', origin, ['broadcast', Buffer.concat([tag, zeros.subarray(tag.length)])], ['gzip']));
    }
    return bombs;
  }

  for (const peers of [1, 8]) {
    it(`inflate flood: ${peers} peer(s) sending 15 MiB-inflating broadcasts for ${INFLATE_MS / 1000} s slow only themselves`, async function () {
      const victim = await spawn({ host: '127.0.0.1' });
      const protocol = new Protocol('mesh', 'Plaintext');
      const frames = inflateBombs(protocol);
      const honest = await Honest.join(victim, spawn);
      const attackers: RawPeer[] = [];
      for (let i = 0; i < peers; i++) {
        const a = await RawPeer.connectPort(victim.port, protocol);
        cleanup.push(() => a.destroy());
        const from = victim.events.length;
        await a.handshake('["gzip"]');
        await victim.next((e) => e.event === 'peer-connected' && e.id === a.id, 10_000, from, 'attacker handshaken');
        attackers.push(a);
      }
      honest.start();
      const start = Date.now();
      const end = start + INFLATE_MS;
      let wire = 0;
      const floods = attackers.map(async (a, k) => {
        let i = k;
        while (Date.now() < end && !a.closed) {
          const batch = Buffer.concat([frames[i++ % frames.length]!, frames[i++ % frames.length]!, frames[i++ % frames.length]!, frames[i++ % frames.length]!]);
          wire += batch.length;
          await Promise.race([a.write(batch, 4), new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())))]);
        }
      });
      // Fresh joins in the middle of the attack.
      await new Promise((r) => setTimeout(r, INFLATE_MS / 2));
      const joins = await freshJoins(3, {}, (n) => n.connect('127.0.0.1', victim.port));
      await Promise.all(floods);
      await honest.stop();
      for (const a of attackers) a.destroy();
      const report = await honest.settle(victim);
      const { gapMs, lost, sent } = honest.measure(start, end);
      const peak = (report.peak as { rss: number }).rss;
      const { unhandledRaw, unhandledInflated } = report.peak as { unhandledRaw: number; unhandledInflated: number };
      const stats = report.stats as { errors: Record<string, number> };
      if (process.env.RX2P_DEBUG) console.log(JSON.stringify({ victim: report.loopDelay, honest: (await honest.node.report()).loopDelay, hstats: (await honest.node.report()).stats }));
      console.log(`      inflate flood, ${peers} peer(s), ${INFLATE_MS / 1000} s: ${mb(wire)} MiB offered on the wire (${Math.round(wire / frames[0]!.length)} frames of ${frames[0]!.length} B, each 15 MiB inflated); `
        + `honest: ${sent} sent, ${lost} lost, longest gap ${gapMs} ms (its own sends: ${honest.ownIntervalMs} ms apart at most; the node's loop delayed ${honest.victimLoopMaxMs.toFixed(0)} ms at most); node peak RSS ${mb(peak)} MiB; `
        + `most read-but-unhandled on one connection ${(unhandledRaw / 1024).toFixed(0)} KiB as read and ${mb(unhandledInflated)} MiB inflated; ${fmtJoins(joins)}; errors ${JSON.stringify(stats.errors)}`);
      // maxUnhandledBytes (4 MiB) plus what one read can complete past it (64 KiB); behind
      // the digest, the body that shut the gate and the one inflating then.
      expect(unhandledRaw).to.be.at.most(defaultOptions.maxUnhandledBytes + 64 * 1024);
      expect(unhandledInflated).to.be.at.most(2 * defaultOptions.maxDecompressedBytes);
      expect(lost).to.equal(0);
      expect(gapMs).to.be.below(MAX_GAP_MS);
      expect(peak).to.be.below(MAX_RSS);
      expect(joins.every((t) => t <= MAX_JOIN_MS)).to.equal(true);
    });
  }

  it(`small-frame flood: tiny duplicate frames as fast as a peer can send for ${SMALL_MS / 1000} s slow only that peer`, async function () {
    const victim = await spawn({ host: '127.0.0.1' });
    const protocol = new Protocol('mesh', 'Plaintext');
    const honest = await Honest.join(victim, spawn);
    const attacker = await RawPeer.connectPort(victim.port, protocol);
    cleanup.push(() => attacker.destroy());
    const from = victim.events.length;
    await attacker.handshake();
    await victim.next((e) => e.event === 'peer-connected' && e.id === attacker.id, 10_000, from, 'attacker handshaken');
    // The same small broadcast, 4,000 to a write: after the first, each is a duplicate.
    const one = frameOf(protocol, 'broadcast', attacker.id, ['broadcast', 'dup']);
    const batch = Buffer.concat(Array.from({ length: 4_000 }, () => one));
    honest.start();
    const start = Date.now();
    const end = start + SMALL_MS;
    let frames = 0;
    const flood = (async () => {
      while (Date.now() < end && !attacker.closed) {
        frames += 4_000;
        await Promise.race([attacker.write(batch, 4_000), new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())))]);
      }
    })();
    await new Promise((r) => setTimeout(r, SMALL_MS / 2));
    const joins = await freshJoins(3, {}, (n) => n.connect('127.0.0.1', victim.port));
    await flood;
    await honest.stop();
    attacker.destroy();
    const report = await honest.settle(victim);
    const { gapMs, lost, sent } = honest.measure(start, end);
    const peak = (report.peak as { rss: number }).rss;
    console.log(`      small-frame flood, ${SMALL_MS / 1000} s: ${frames} frames offered (${one.length} B each); honest: ${sent} sent, ${lost} lost, longest gap ${gapMs} ms (its own sends: ${honest.ownIntervalMs} ms apart at most; the node's loop delayed ${honest.victimLoopMaxMs.toFixed(0)} ms at most); `
      + `node peak RSS ${mb(peak)} MiB; ${fmtJoins(joins)}`);
    expect(lost).to.equal(0);
    expect(gapMs).to.be.below(MAX_GAP_MS);
    expect(peak).to.be.below(MAX_RSS);
    expect(joins.every((t) => t <= MAX_JOIN_MS)).to.equal(true);
  });

  // A WebSocket message is one chunk however large (ws hands on a message once it is
  // whole): one message of maxFrameBytes packed with tiny broadcasts, each new, would be
  // tens of thousands of messages to hash, de-duplicate and deliver in one turn unless
  // the byte source hands a large chunk on in slices, yielding between them once the
  // turn's budget is spent.
  it(`WebSocket flood: ${WS_MESSAGES} messages of 16 MiB, each packed with tiny new broadcasts, slow only that peer`, async function () {
    const victim = await spawn({ host: '127.0.0.1', options: { webSocket: { port: 0 } } });
    const protocol = new Protocol('mesh', 'Plaintext');
    const honest = await Honest.join(victim, spawn);
    const { WebSocket } = await import('ws');
    const sock = new WebSocket(`ws://127.0.0.1:${victim.wsPort!}`, { perMessageDeflate: false, maxPayload: 64 * MiB });
    cleanup.push(() => sock.terminate());
    await new Promise<void>((resolve, reject) => { sock.once('open', () => resolve()); sock.once('error', reject); });
    sock.on('error', () => undefined);
    const id = fakeId();
    const from = victim.events.length;
    sock.send(frameOf(protocol, 'whisper', id, handshakePayload({ protocol }, id)));
    await victim.next((e) => e.event === 'peer-connected' && e.id === id, 10_000, from, 'attacker handshaken');
    // Tiny broadcasts from made-up origins, each new to the node (its own id and time).
    const now = Math.floor(Date.now() / 1000);
    let serial = 0;
    const message = (): Buffer => {
      const parts: Buffer[] = [];
      let size = 0;
      while (size < 16 * MiB - 4096) {
        const f = frameOf(protocol, 'broadcast', id, ['broadcast', `w${serial++}`], [], now);
        parts.push(f);
        size += f.length;
      }
      return Buffer.concat(parts);
    };
    const messages = Array.from({ length: WS_MESSAGES }, message);
    honest.start();
    const start = Date.now();
    for (const m of messages) await new Promise<void>((r) => sock.send(m, () => r()));
    // Until the node has worked through them (its echo of the last one), or 60 s.
    const last = `w${serial - 1}`;
    for (const until = Date.now() + 60_000; Date.now() < until && sock.readyState === WebSocket.OPEN;) {
      const r = await victim.report();
      honest.victimLoopMaxMs = Math.max(honest.victimLoopMaxMs, (r.loopDelay as { maxMs: number }).maxMs);
      if ((r.received as number) >= serial) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const end = Date.now();
    await honest.stop();
    sock.terminate();
    const report = await honest.settle(victim);
    const { gapMs, lost, sent } = honest.measure(start, end);
    const peak = (report.peak as { rss: number }).rss;
    console.log(`      WebSocket flood: ${WS_MESSAGES} messages of 16 MiB, ${serial.toLocaleString('en')} tiny broadcasts (last ${last}), handled in ${end - start} ms; honest: ${sent} sent, ${lost} lost, longest gap ${gapMs} ms `
      + `(its own sends: ${honest.ownIntervalMs} ms apart at most; the node's loop delayed ${honest.victimLoopMaxMs.toFixed(0)} ms at most); node peak RSS ${mb(peak)} MiB`);
    expect(lost).to.equal(0);
    expect(gapMs).to.be.below(MAX_GAP_MS);
    // The honest lines keep coming while the node works through the flood: no gap longer
    // than a quarter of that work (handed on whole, each message was one gap of about
    // half of it). A slower machine stretches both alike.
    expect(gapMs, 'longest honest gap against the time the flood took').to.be.below((end - start) / 4);
    expect(peak).to.be.below(MAX_RSS);
  });

  it('memory before authentication: 48 TLS connections each starting a 16 MiB frame and proving nothing hold no memory', async function () {
    const victim = await spawn({ host: '127.0.0.1', encryption: 'Ed25519' });
    const honest = await Honest.join(victim, spawn, 'Ed25519');
    honest.start();
    const start = Date.now();
    const sockets: tls.TLSSocket[] = [];
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 7);
    await Promise.all(Array.from({ length: 48 }, async () => {
      const s = tls.connect({ host: '127.0.0.1', port: victim.port, rejectUnauthorized: false });
      sockets.push(s);
      cleanup.push(() => s.destroy());
      s.on('error', () => undefined);
      await new Promise<void>((r) => { s.once('secureConnect', () => r()); s.once('close', () => r()); });
      // The size header of a 16 MiB frame, then its body for as long as the node reads.
      const header = encodeLength(16 * MiB - 1);
      await new Promise<void>((r) => s.write(header, () => r()));
      for (let i = 0; i < 256 && !s.destroyed; i++) {
        await new Promise<void>((r) => { s.write(chunk, () => r()); });
        written += chunk.length;
      }
    }));
    await waitFor(() => sockets.every((s) => s.destroyed || s.closed), 10_000, 'every unproven connection closed').catch(() => undefined);
    const end = Date.now();
    const joins = await freshJoins(3, { protocol: authProtocol }, (n) => n.connect('127.0.0.1', victim.port));
    await honest.stop();
    const report = await honest.settle(victim);
    const { gapMs, lost, sent } = honest.measure(start, end);
    const base = (report.base as { rss: number }).rss;
    const peak = (report.peak as { rss: number }).rss;
    const stats = report.stats as { errors: Record<string, number> };
    console.log(`      48 unproven TLS connections starting 16 MiB frames: ${mb(written)} MiB written before the node closed them; node RSS ${mb(base)} → peak ${mb(peak)} MiB; `
      + `honest: ${sent} sent, ${lost} lost, longest gap ${gapMs} ms (its own sends: ${honest.ownIntervalMs} ms apart at most; the node's loop delayed ${honest.victimLoopMaxMs.toFixed(0)} ms at most); ${fmtJoins(joins)}; errors ${JSON.stringify(stats.errors)}`);
    expect(stats.errors.ERR_FRAME_TOO_LARGE ?? 0).to.be.at.least(40);
    expect(peak - base).to.be.below(100 * MiB);
    expect(lost).to.equal(0);
    expect(gapMs).to.be.below(MAX_GAP_MS);
    expect(joins.every((t) => t <= MAX_JOIN_MS)).to.equal(true);
  });

  const listeners: Array<{ name: string; encryption?: string; ws?: boolean; protocol: Protocol }> = [
    { name: 'Plaintext', protocol: new Protocol('mesh', 'Plaintext') },
    { name: 'SSL', encryption: 'SSL', protocol: new Protocol('mesh', 'SSL') },
    { name: 'Ed25519', encryption: 'Ed25519', protocol: authProtocol },
    { name: 'WebSocket', ws: true, protocol: new Protocol('mesh', 'Plaintext') },
  ];
  for (const l of listeners) {
    it(`half-open lockout (${l.name}): ${IDLE.toLocaleString('en')} idle connections do not keep 10 fresh honest joins out`, async function () {
      const victim = await spawn({ host: '127.0.0.1', encryption: l.encryption, page: l.ws, options: l.ws ? { webSocket: { port: 0 } } : {} });
      const honest = await Honest.join(victim, spawn, l.encryption);
      honest.start();
      const start = Date.now();
      const port = l.ws ? victim.wsPort! : victim.port;
      const idle: net.Socket[] = [];
      cleanup.push(() => { for (const s of idle) s.destroy(); });
      for (let i = 0; i < IDLE; i += 100) {
        await Promise.all(Array.from({ length: 100 }, () => new Promise<void>((r) => {
          const s = net.connect({ host: '127.0.0.1', port });
          idle.push(s);
          s.on('error', () => undefined);
          s.resume();
          s.once('connect', () => r());
          s.once('close', () => r());
        })));
      }
      const joins = await freshJoins(10, { protocol: l.protocol }, (n) => (l.ws ? n.connectWebSocket(`ws://127.0.0.1:${port}`) : n.connect('127.0.0.1', port)));
      let pages: number[] = [];
      if (l.ws) {
        pages = [];
        for (let i = 0; i < 10; i++) {
          const t0 = Date.now();
          const ok = await new Promise<boolean>((resolve) => {
            const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 200));
            });
            req.setTimeout(10_000, () => { req.destroy(); resolve(false); });
            req.on('error', () => resolve(false));
          });
          pages.push(ok ? Date.now() - t0 : Infinity);
        }
      }
      const end = Date.now();
      await honest.stop();
      const report = await honest.settle(victim);
      const { gapMs, lost, sent } = honest.measure(start, end);
      const peak = (report.peak as { rss: number }).rss;
      const stats = report.stats as { errors: Record<string, number> };
      console.log(`      ${l.name}: ${IDLE} idle connections (${idle.filter((s) => !s.destroyed && !s.closed).length} still open at the end); ${fmtJoins(joins)}`
        + `${l.ws ? `; page loads ${pages.filter((t) => t <= MAX_JOIN_MS).length}/10 within ${MAX_JOIN_MS} ms (slowest ${Math.max(...pages)} ms)` : ''}; `
        + `honest: ${sent} sent, ${lost} lost, longest gap ${gapMs} ms (its own sends: ${honest.ownIntervalMs} ms apart at most; the node's loop delayed ${honest.victimLoopMaxMs.toFixed(0)} ms at most); node peak RSS ${mb(peak)} MiB; evicted ${stats.errors.ERR_HALF_OPEN_EVICTED ?? 0}`);
      expect(joins.filter((t) => t <= MAX_JOIN_MS).length).to.equal(10);
      if (l.ws) expect(pages.filter((t) => t <= MAX_JOIN_MS).length).to.equal(10);
      expect(lost).to.equal(0);
      expect(gapMs).to.be.below(MAX_GAP_MS);
    });
  }
});
