// One bench node, rx2p or baseline, and what the bench does with it: start, connect,
// flood, count deliveries, time them. The same Agent runs inside a worker process
// (bench/node-worker.ts, driven over IPC) or in the bench's own process.
// rx2p and the baseline are imported when a node of that kind starts, so that a
// worker process holds the code of one of them only (W5 compares their memory).
import type { MeshSocket } from '../src/index.js';
import type { BaselineNode } from './baseline.js';

export type Impl = 'rx2p' | 'baseline';

export interface NodeSpec {
  impl: Impl;
  ssl: boolean;
  /** rx2p: the authenticated protocol (Ed25519 keys, signed broadcasts); the baseline has none. */
  auth?: boolean;
  /** rx2p: advertise gzip (the default) rather than `compression: []`. */
  gzip: boolean;
  /** rx2p waterfallCacheSize (default: rx2p's). */
  waterfallCacheSize?: number;
  /** rx2p: compression options to set (bench/zlib.ts compares node:zlib with pako). */
  zlib?: { asyncZlibMinBytes?: number; compressMinBytes?: number; skipIncompressible?: boolean };
  /** rx2p: listen on WebSocket too (MeshOptions.webSocket), for links dialled over it. */
  webSocket?: boolean;
  /** rx2p repair of missed broadcasts (default: rx2p's, on). */
  repair?: boolean;
  /** rx2p repairIntervalMs (default: rx2p's). */
  repairIntervalMs?: number;
}

/** Payload header: kind u8, origin u16, seq u32, send time f64 (ms, monotonic, shared by all processes). */
export const HEADER = 15;
export const KIND_FLOOD = 1;
export const KIND_LATENCY = 2;

/** Milliseconds on the system's monotonic clock: comparable between processes of one host. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const fillers = new Map<number, Buffer>();
function filler(size: number): Buffer {
  let f = fillers.get(size);
  if (!f) {
    // Incompressible bytes (an xorshift stream), so gzip rows show its cost, not a best case.
    f = Buffer.allocUnsafe(size);
    let x = 0x9e3779b9 ^ size;
    for (let i = 0; i < size; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      f[i] = x & 0xff;
    }
    fillers.set(size, f);
  }
  return f;
}

const jsonFillers = new Map<number, Buffer>();
/** Compressible bytes: a JSON text such as an application would send (a list of records). */
function jsonFiller(size: number): Buffer {
  let f = jsonFillers.get(size);
  if (!f) {
    const records: string[] = [];
    let length = 2;
    for (let i = 0; length < size; i++) {
      const r = JSON.stringify({ id: i, name: `node-${i}`, addr: ['127.0.0.1', 4000 + (i % 1000)], seen: 1700000000 + i * 7, ok: i % 3 === 0 });
      records.push(r);
      length += r.length + 1;
    }
    f = Buffer.from(`[${records.join(',')}]`).subarray(0, size);
    jsonFillers.set(size, f);
  }
  return f;
}

/** What a flood's payloads hold after the header: incompressible bytes, or JSON. */
export type PayloadKind = 'random' | 'json';

export function makePayload(size: number, kind: number, origin: number, seq: number, content: PayloadKind = 'random'): Buffer {
  const p = Buffer.allocUnsafe(Math.max(size, HEADER));
  (content === 'json' ? jsonFiller(p.length) : filler(p.length)).copy(p);
  p[0] = kind;
  p.writeUInt16BE(origin, 1);
  p.writeUInt32BE(seq, 3);
  p.writeDoubleBE(nowMs(), 7);
  return p;
}

export interface FloodResult { sent: number; startMs: number; endMs: number }
export interface Counters {
  /** Payloads delivered here, each (kind, origin, seq) counted once: a second delivery is not throughput. */
  received: number;
  /** Payloads delivered here a second time (or more). */
  duplicateDeliveries: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
  framesOut: number;
  framesIn: number;
  duplicates: number;
  /** Bytes this node's sockets wrote (frames on the wire, compressed or not). */
  wireOut: number;
  /** rx2p: bytes of repair traffic sent (the exchange and repaired frames). */
  repairTraffic: number;
}
export interface Track { unique: number; duplicateDeliveries: number }
export interface MemoryReport { rss: number; heapUsed: number; external: number; arrayBuffers: number }

interface Waiter { target: number; resolve: () => void; timer: NodeJS.Timeout }

export class Agent {
  private spec: NodeSpec | undefined;
  private mesh: MeshSocket | undefined;
  private base: BaselineNode | undefined;
  private received = 0;
  private bytes = 0;
  private firstMs = 0;
  private lastMs = 0;
  private framesOut0 = 0;
  private framesIn0 = 0;
  private duplicates0 = 0;
  private wireOut0 = 0;
  private repair0 = 0;
  private latencies: number[] = [];
  private waiters: Waiter[] = [];
  private seenKeys = new Map<number, Uint8Array>();
  private duplicateDeliveries = 0;
  private sinceDrain = 0;

  async start(spec: NodeSpec): Promise<{ port: number; wsPort?: number }> {
    if (this.spec) throw new Error('agent already started');
    this.spec = spec;
    this.resetCounters();
    if (spec.impl === 'rx2p') {
      const { MeshSocket, Protocol } = await import('../src/index.js');
      const node = await MeshSocket.create('127.0.0.1', 0, {
        protocol: new Protocol('mesh', spec.auth ? 'Ed25519' : spec.ssl ? 'SSL' : 'Plaintext'),
        compression: spec.gzip ? undefined : [],
        // The bench builds each topology itself: no dialling from peers lists.
        maxOutgoing: 0,
        waterfallCacheSize: spec.waterfallCacheSize,
        ...spec.zlib,
        ...(spec.webSocket ? { webSocket: { port: 0 } } : {}),
        repair: spec.repair,
        repairIntervalMs: spec.repairIntervalMs,
      });
      this.mesh = node;
      node.messages$.subscribe((m) => {
        this.onPayload(m.packets[1]!);
        // Messages also wait in the recv() queue; take them, as a consumer would.
        if (++this.sinceDrain >= 256) {
          void node.recv(this.sinceDrain);
          this.sinceDrain = 0;
        }
      });
      return { port: node.outAddr[1], wsPort: node.webSocketPort };
    }
    const { BaselineNode } = await import('./baseline.js');
    const cert = spec.ssl ? (await import('../src/transport/certificates.js')).sharedCertificate() : undefined;
    const node = await BaselineNode.create(cert);
    this.base = node;
    node.onMessage = (p) => this.onPayload(p);
    return { port: node.port };
  }

  /** Dials a peer's TCP port, or (rx2p, viaWebSocket) its WebSocket port. */
  async connect(port: number, viaWebSocket = false): Promise<void> {
    if (this.mesh && viaWebSocket) await this.mesh.connectWebSocket(`ws://127.0.0.1:${port}`);
    else if (this.mesh) await this.mesh.connect('127.0.0.1', port);
    else await this.base!.connect(port);
  }

  peerCount(): number {
    return this.mesh ? this.mesh.routingTable.size : this.base!.peers.size;
  }

  async waitPeers(n: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.peerCount() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return this.peerCount();
  }

  private framesOutNow(): number {
    return this.mesh ? this.mesh.stats.framesOut : this.base!.framesOut;
  }
  private framesInNow(): number {
    return this.mesh ? this.mesh.stats.framesIn : this.base!.framesIn;
  }
  private duplicatesNow(): number {
    return this.mesh ? this.mesh.stats.duplicates : this.base!.duplicates;
  }
  /** Bytes written by the sockets of the current peers (TCP or TLS: net.Socket's bytesWritten). */
  private wireOutNow(): number {
    let n = 0;
    const sockets = this.mesh ? [...this.mesh.routingTable.values()].map((c) => c.sock as { bytesWritten?: number }) : [...this.base!.peers].map((p) => p.socket);
    for (const s of sockets) n += s.bytesWritten ?? 0;
    return n;
  }

  private repairNow(): number {
    const s = this.mesh?.stats;
    return s ? s.repairControlBytes + s.repairBytes : 0;
  }

  resetCounters(): void {
    this.received = 0;
    this.bytes = 0;
    this.firstMs = 0;
    this.lastMs = 0;
    this.latencies = [];
    this.seenKeys.clear();
    this.duplicateDeliveries = 0;
    if (this.mesh || this.base) {
      this.framesOut0 = this.framesOutNow();
      this.framesIn0 = this.framesInNow();
      this.duplicates0 = this.duplicatesNow();
      this.wireOut0 = this.wireOutNow();
      this.repair0 = this.repairNow();
    }
  }

  counters(): Counters {
    return {
      received: this.received, duplicateDeliveries: this.duplicateDeliveries, bytes: this.bytes, firstMs: this.firstMs, lastMs: this.lastMs,
      framesOut: this.framesOutNow() - this.framesOut0,
      framesIn: this.framesInNow() - this.framesIn0,
      duplicates: this.duplicatesNow() - this.duplicates0,
      wireOut: this.wireOutNow() - this.wireOut0,
      repairTraffic: this.repairNow() - this.repair0,
    };
  }

  private onPayload(p: Buffer): void {
    const t = nowMs();
    // Each payload (kind, origin, seq) is counted once, in a bitmap per kind and origin:
    // a duplicate delivery is reported, never counted as throughput or as a latency.
    if (this.seenBefore(p)) {
      this.duplicateDeliveries++;
      return;
    }
    this.received++;
    this.bytes += p.length;
    if (this.firstMs === 0) this.firstMs = t;
    this.lastMs = t;
    if (p[0] === KIND_LATENCY) this.latencies.push(t - p.readDoubleBE(7));
    while (this.waiters.length && this.received >= this.waiters[0]!.target) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  /** Whether payload p (its kind, origin and seq) was delivered here before; it is marked as delivered. */
  private seenBefore(p: Buffer): boolean {
    if (p.length < HEADER) return false;
    const key = (p[0]! << 16) | p.readUInt16BE(1);
    const seq = p.readUInt32BE(3);
    let bits = this.seenKeys.get(key);
    if (!bits || bits.length * 8 <= seq) {
      const grown = new Uint8Array(Math.max(1024, (seq >> 3) * 2 + 1));
      if (bits) grown.set(bits);
      this.seenKeys.set(key, (bits = grown));
    }
    const mask = 1 << (seq & 7);
    if (bits[seq >> 3]! & mask) return true;
    bits[seq >> 3]! |= mask;
    return false;
  }

  /** Resolves with the counters once `target` messages were delivered here, or at the timeout. */
  waitReceived(target: number, timeoutMs: number): Promise<Counters> {
    if (this.received >= target) return Promise.resolve(this.counters());
    return new Promise((resolve) => {
      const w: Waiter = {
        target,
        resolve: () => resolve(this.counters()),
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }, timeoutMs),
      };
      this.waiters.push(w);
      this.waiters.sort((a, b) => a.target - b.target);
    });
  }

  private sendRaw(p: Buffer): boolean {
    return this.mesh ? this.mesh.send(p) : this.base!.send(p);
  }

  private drained(): Promise<void> {
    return this.mesh ? this.mesh.drained() : this.base!.drained();
  }

  /**
   * Broadcasts `size`-byte messages as fast as the API allows, waiting for drained()
   * whenever send() says a buffer is full, until `count` are sent or `durationMs` is up.
   */
  async flood(opts: { size: number; count?: number; durationMs?: number; origin?: number; firstSeq?: number; content?: PayloadKind }): Promise<FloodResult> {
    const count = opts.count ?? Number.POSITIVE_INFINITY;
    const origin = opts.origin ?? 0;
    const seq0 = opts.firstSeq ?? 0;
    const startMs = nowMs();
    const deadline = opts.durationMs === undefined ? Number.POSITIVE_INFINITY : startMs + opts.durationMs;
    let sent = 0;
    let lastYield = startMs;
    // Small messages look at the clock every 16 sends, large ones at every send.
    const every = opts.size >= 4096 ? 0 : 15;
    while (sent < count) {
      if ((sent & every) === 0) {
        const t = nowMs();
        if (t >= deadline) break;
        // Let timers and other sockets of this process run now and then, even when no
        // buffer fills (one-process runs share the event loop with the receivers).
        if (t - lastYield > 20) {
          await new Promise((r) => setImmediate(r));
          lastYield = nowMs();
        }
      }
      const ok = this.sendRaw(makePayload(opts.size, KIND_FLOOD, origin, seq0 + sent, opts.content));
      sent++;
      if (!ok) {
        await this.drained();
        lastYield = nowMs();
      }
    }
    return { sent, startMs, endMs: nowMs() };
  }

  /** One latency probe: the send time travels in the payload. */
  sendOne(size: number, seq: number): boolean {
    return this.sendRaw(makePayload(size, KIND_LATENCY, 0, seq));
  }

  takeLatencies(skip = 0): number[] {
    return this.latencies.slice(skip);
  }

  track(): Track {
    return { unique: this.received, duplicateDeliveries: this.duplicateDeliveries };
  }

  /** Ids held for de-duplication: rx2p's waterfall cache (and its re-timed-copy cache), or the baseline's Set. */
  cacheSizes(): { ids: number; contents: number; bound: number | null } {
    if (this.mesh) {
      // The router's state (since the split, the caches live in router.state).
      const state = (this.mesh as unknown as { router: { state: { waterfalls: { size: number; maxEntries: number }; contents: { size: number } } } }).router.state;
      return { ids: state.waterfalls.size, contents: state.contents.size, bound: state.waterfalls.maxEntries };
    }
    return { ids: this.base!.seen.size, contents: 0, bound: null };
  }

  memory(gc = true): MemoryReport {
    const g = (globalThis as { gc?: () => void }).gc;
    if (gc && g) { g(); g(); }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  }

  async stop(): Promise<void> {
    for (const w of this.waiters.splice(0)) { clearTimeout(w.timer); w.resolve(); }
    if (this.mesh) await this.mesh.close();
    if (this.base) await this.base.close();
    this.mesh = undefined;
    this.base = undefined;
    this.spec = undefined;
    this.resetCounters();
  }
}

/** The Agent's methods, as called through a handle (in-process or over IPC). */
export type AgentMethod = {
  [K in keyof Agent]: Agent[K] extends (...args: infer _A) => unknown ? K : never;
}[keyof Agent];

export type Remote = {
  [K in AgentMethod]: Agent[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};
