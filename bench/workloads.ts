// The workloads, written once against Remote handles, so the same code drives nodes
// in worker processes and nodes in this process.
import { prng } from '../spec/prng.js';
import type { Impl, NodeSpec, PayloadKind, Remote } from './agent.js';
import { localHandle, type Mode, WorkerPool } from './cluster.js';

/**
 * Plain: Plaintext, compression off. gzip: Plaintext, default options (gzip negotiated).
 * ssl: SSL, compression off. auth: the authenticated protocol (Ed25519), compression off.
 */
export type Variant = 'plain' | 'gzip' | 'ssl' | 'auth';

export const variantLabel: Record<Variant, string> = {
  plain: 'Plaintext, no compression',
  gzip: 'Plaintext, default (gzip)',
  ssl: 'SSL, no compression',
  auth: 'Ed25519 (authenticated), no compression',
};

export function spec(impl: Impl, variant: Variant, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { impl, ssl: variant === 'ssl', gzip: variant === 'gzip', auth: variant === 'auth', ...extra };
}

/** Where the nodes of a run live: a shared worker pool, or this process. */
/**
 * Where a workload's nodes run. Process/node: each implementation has worker
 * processes of its own, as a deployment runs one node per process; a worker that
 * hosted the other implementation would have aged this one's compiled code through
 * its garbage collections (V8 drops bytecode a function has not run for a while).
 */
export class Placement {
  private readonly pools: Partial<Record<Impl, WorkerPool>> = {};
  /** shared: one pool for both implementations (fewer processes to start: --quick). */
  constructor(readonly mode: Mode, private readonly shared = false) {}
  async handles(n: number, impl: Impl): Promise<Remote[]> {
    if (this.mode === 'procs') return (this.pools[this.shared ? 'rx2p' : impl] ??= new WorkerPool()).handles(n);
    return Array.from({ length: n }, () => localHandle());
  }
  async close(): Promise<void> {
    await Promise.all(Object.values(this.pools).map((p) => p.close()));
  }
}

export type Edge = [number, number];

export function fullMesh(n: number): Edge[] {
  const edges: Edge[] = [];
  for (let j = 1; j < n; j++) for (let i = 0; i < j; i++) edges.push([i, j]);
  return edges;
}


/** A connected random d-regular graph on n nodes (configuration model, retried until simple and connected). */
export function randomRegular(n: number, d: number, seed = 42): Edge[] {
  const rnd = prng(seed);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const stubs: number[] = [];
    for (let v = 0; v < n; v++) for (let k = 0; k < d; k++) stubs.push(v);
    for (let i = stubs.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [stubs[i], stubs[j]] = [stubs[j]!, stubs[i]!];
    }
    const seen = new Set<string>();
    const edges: Edge[] = [];
    let ok = true;
    for (let i = 0; i < stubs.length; i += 2) {
      const a = Math.min(stubs[i]!, stubs[i + 1]!);
      const b = Math.max(stubs[i]!, stubs[i + 1]!);
      if (a === b || seen.has(`${a}-${b}`)) { ok = false; break; }
      seen.add(`${a}-${b}`);
      edges.push([a, b]);
    }
    if (ok && connected(n, edges)) return edges;
  }
  throw new Error(`no simple connected ${d}-regular graph on ${n} nodes found`);
}

function connected(n: number, edges: Edge[]): boolean {
  const adj = Array.from({ length: n }, () => [] as number[]);
  for (const [a, b] of edges) { adj[a]!.push(b); adj[b]!.push(a); }
  const seen = new Set([0]);
  const todo = [0];
  while (todo.length) for (const w of adj[todo.pop()!]!) if (!seen.has(w)) { seen.add(w); todo.push(w); }
  return seen.size === n;
}

/**
 * Starts one node per handle and links them along `edges` (the higher index dials);
 * the edges listed in `overWebSocket` (indexes into edges) are dialled over WebSocket.
 */
export async function build(handles: Remote[], specs: NodeSpec | NodeSpec[], edges: Edge[], overWebSocket: readonly number[] = []): Promise<void> {
  const started = await Promise.all(handles.map((h, i) => h.start(Array.isArray(specs) ? specs[i]! : specs)));
  const ports = started.map((r) => r.port);
  const degree = new Array<number>(handles.length).fill(0);
  for (const [a, b] of edges) { degree[a]!++; degree[b]!++; }
  // Dial in rounds of at most one connect per node at a time, as real joins happen.
  await Promise.all(handles.map(async (h, j) => {
    for (const [e, [a, b]] of edges.entries()) {
      if (b !== j) continue;
      if (overWebSocket.includes(e)) await h.connect(started[a]!.wsPort!, true);
      else await h.connect(ports[a]!);
    }
  }));
  const got = await Promise.all(handles.map((h, i) => h.waitPeers(degree[i]!, 15_000)));
  got.forEach((g, i) => {
    if (g < degree[i]!) throw new Error(`node ${i} has ${g} peers, ${degree[i]} expected`);
  });
}

export async function teardown(handles: Remote[]): Promise<void> {
  await Promise.all(handles.map((h) => h.stop()));
}

// ------------------------------------------------------------------ W1 / W2

export interface ThroughputResult {
  /** Messages delivered per second at each receiver, the mean over receivers. */
  msgsPerSec: number;
  minMsgsPerSec: number;
  /** Payload MB/s (10^6 bytes) per receiver, the mean. */
  mbPerSec: number;
  sent: number;
  /** Fraction of (sent x receivers) delivered before the deadline, each message counted once per receiver. */
  delivered: number;
  /** Deliveries of a message a receiver already had (not counted in the rates or in `delivered`). */
  duplicateDeliveries: number;
  framesPerMsg: number;
  seconds: number;
  /** Bytes the sender's sockets wrote per message sent, over all its peers. */
  wireBytesPerMsg: number;
  /** Bytes of repair traffic all nodes sent during the run (rx2p). */
  repairTraffic?: number;
}

/** Node 0 of a full mesh of n floods `size`-byte broadcasts for durationMs (or `count` messages, if fewer). */
export async function throughput(
  place: Placement, impl: Impl, variant: Variant, n: number, size: number, durationMs: number, count?: number, content?: PayloadKind,
  extra: Partial<NodeSpec> = {}, webSocketLinks = 0,
): Promise<ThroughputResult> {
  const handles = await place.handles(n, impl);
  try {
    // With webSocketLinks, the first links (the sender's) go over WebSocket, the rest TCP.
    const ws = Array.from({ length: webSocketLinks }, (_, i) => i);
    await build(handles, spec(impl, variant, webSocketLinks ? { ...extra, webSocket: true } : extra), fullMesh(n), ws);
    await Promise.all(handles.map((h) => h.resetCounters()));
    const r = await handles[0]!.flood({ size, durationMs, count, content });
    const receivers = handles.slice(1);
    // Deliveries are counted until all have arrived, or for at most 1.5 x the sending
    // time more (then `delivered` says what part arrived; the rate counts only those).
    const counters = await Promise.all(receivers.map((h) => h.waitReceived(r.sent, Math.max(2000, durationMs * 1.5))));
    const senderCounters = await handles[0]!.counters();
    const rates = counters.map((c) => (c.received ? c.received / ((c.lastMs - r.startMs) / 1000) : 0));
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    const delivered = counters.reduce((a, c) => a + c.received, 0) / (r.sent * receivers.length);
    const duplicateDeliveries = counters.reduce((a, c) => a + c.duplicateDeliveries, 0);
    const frames = counters.reduce((a, c) => a + c.framesOut, senderCounters.framesOut);
    const repairTraffic = counters.reduce((a, c) => a + c.repairTraffic, senderCounters.repairTraffic);
    return {
      msgsPerSec: mean,
      minMsgsPerSec: Math.min(...rates),
      mbPerSec: (mean * size) / 1e6,
      sent: r.sent,
      delivered,
      duplicateDeliveries,
      framesPerMsg: frames / r.sent,
      repairTraffic,
      seconds: (Math.max(...counters.map((c) => c.lastMs)) - r.startMs) / 1000,
      wireBytesPerMsg: senderCounters.wireOut / r.sent,
    };
  } finally {
    await teardown(handles);
  }
}

// ------------------------------------------------------------------ W3

export interface LatencyResult {
  p50: number; p90: number; p99: number; max: number; samples: number;
  /** Every sample (ms), sorted; dropped from the JSON. */
  all?: number[];
}

export function summarize(samples: number[]): LatencyResult {
  const all = [...samples].sort((a, b) => a - b);
  return { p50: percentile(all, 50), p90: percentile(all, 90), p99: percentile(all, 99), max: all[all.length - 1] ?? Number.NaN, samples: all.length, all };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function latency(place: Placement, impl: Impl, variant: Variant, n: number, samples: number, warmup: number): Promise<LatencyResult> {
  const handles = await place.handles(n, impl);
  try {
    await build(handles, spec(impl, variant), fullMesh(n));
    await Promise.all(handles.map((h) => h.resetCounters()));
    const receivers = handles.slice(1);
    for (let i = 0; i < warmup + samples; i++) {
      // One message at a time: the next leaves once every receiver has this one.
      await Promise.all([...receivers.map((h) => h.waitReceived(i + 1, 5000)), handles[0]!.sendOne(100, i)]);
    }
    return summarize((await Promise.all(receivers.map((h) => h.takeLatencies(warmup)))).flat());
  } finally {
    await teardown(handles);
  }
}

// ------------------------------------------------------------------ W4

export interface ScaleResult {
  seconds: number;
  broadcasts: number;
  framesPerBroadcast: number;
  exactlyOnce: boolean;
  missing: number;
  duplicateDeliveries: number;
  edges: number;
}

export async function scale(place: Placement, impl: Impl, n: number, degree: number, broadcasts: number): Promise<ScaleResult> {
  const handles = await place.handles(n, impl);
  const edges = randomRegular(n, degree);
  try {
    await build(handles, spec(impl, 'plain'), edges);
    await Promise.all(handles.map((h) => h.resetCounters()));
    // Every node originates its share of the broadcasts, all at once.
    const share = handles.map((_, i) => Math.floor(broadcasts / n) + (i < broadcasts % n ? 1 : 0));
    const floods = await Promise.all(handles.map((h, i) => h.flood({ size: 100, count: share[i]!, origin: i })));
    const counters = await Promise.all(handles.map((h, i) => h.waitReceived(broadcasts - share[i]!, 60_000)));
    const tracks = await Promise.all(handles.map((h) => h.track()));
    const start = Math.min(...floods.map((f) => f.startMs));
    const end = Math.max(...counters.map((c) => c.lastMs));
    let missing = 0;
    let dups = 0;
    tracks.forEach((t, i) => {
      missing += broadcasts - share[i]! - t.unique;
      dups += t.duplicateDeliveries;
    });
    const frames = counters.reduce((a, c) => a + c.framesOut, 0);
    return {
      seconds: (end - start) / 1000,
      broadcasts,
      framesPerBroadcast: frames / broadcasts,
      exactlyOnce: missing === 0 && dups === 0,
      missing,
      duplicateDeliveries: dups,
      edges: edges.length,
    };
  } finally {
    await teardown(handles);
  }
}
