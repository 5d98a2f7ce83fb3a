// W5: memory. Idle RSS of a node with 10 peers (fresh processes, so nothing of an
// earlier workload is counted), the de-duplication cache after a long flood of unique
// ids, and what one cache entry costs.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PathfindingMessage, Protocol, WaterfallCache, nodeId } from '../src/index.js';
import { type Impl, type MemoryReport, type Remote } from './agent.js';
import { localHandle, repoRoot, type Runner, WorkerPool } from './cluster.js';
import { build, fullMesh, spec, teardown } from './workloads.js';

const MB = 1024 * 1024;

/**
 * Compiles the worker and what it imports to JavaScript under .bench-out/js with the
 * project's own tsc, so a node can be measured as deployed (plain `node`, no tsx
 * loader thread). Returns the worker's path, or undefined if that failed.
 */
export async function compileWorker(): Promise<string | undefined> {
  const outDir = join(repoRoot, '.bench-out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'tsconfig.worker.json'), JSON.stringify({
    extends: '../tsconfig.json',
    compilerOptions: { noEmit: false, outDir: 'js', rootDir: '..', declaration: false, sourceMap: false, types: ['node'] },
    files: ['../bench/node-worker.ts'],
    include: [],
  }, null, 2));
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  await new Promise<void>((resolve) => {
    execFile(tsc, ['-p', join(outDir, 'tsconfig.worker.json')], { cwd: repoRoot, timeout: 60_000 }, () => resolve());
  });
  mkdirSync(join(outDir, 'js'), { recursive: true });
  writeFileSync(join(outDir, 'js', 'package.json'), '{ "type": "module" }\n');
  const worker = join(outDir, 'js', 'bench', 'node-worker.js');
  return existsSync(worker) ? worker : undefined;
}

export interface IdleRss {
  runner: 'js' | 'tsx' | 'inproc';
  impl: Impl;
  /** RSS of a worker that has loaded the bench (rx2p and baseline code) but runs no node yet. */
  floorMB: number;
  /** RSS of each node's process once idle with 10 peers: mean and max. */
  meanMB: number;
  maxMB: number;
  heapMB: number;
}

/** 11 nodes in a full mesh (10 peers each), each in a fresh process, idle 1 s, then GC and measure. */
export async function idleRss(runner: Runner, impl: Impl, nodes = 11): Promise<IdleRss> {
  const pool = new WorkerPool(runner);
  try {
    const handles = await pool.handles(nodes);
    const floors = await Promise.all(handles.map((h) => h.memory()));
    await build(handles, spec(impl, 'plain'), fullMesh(nodes));
    await new Promise((r) => setTimeout(r, 1000));
    const mem = await Promise.all(handles.map((h) => h.memory()));
    await teardown(handles);
    return {
      runner: runner.kind, impl,
      floorMB: avg(floors.map((m) => m.rss)) / MB,
      meanMB: avg(mem.map((m) => m.rss)) / MB,
      maxMB: Math.max(...mem.map((m) => m.rss)) / MB,
      heapMB: avg(mem.map((m) => m.heapUsed)) / MB,
    };
  } finally {
    await pool.close();
  }
}

/** The same 11-node mesh in this process: RSS added per node. */
export async function idleRssInProcess(impl: Impl, nodes = 11): Promise<IdleRss> {
  const handles = Array.from({ length: nodes }, () => localHandle());
  const before = await handles[0]!.memory();
  await build(handles, spec(impl, 'plain'), fullMesh(nodes));
  await new Promise((r) => setTimeout(r, 1000));
  const after = await handles[0]!.memory();
  await teardown(handles);
  // RSS hardly moves here (the process already has the pages), so the heap is what counts.
  return {
    runner: 'inproc', impl, floorMB: before.rss / MB,
    meanMB: (after.rss - before.rss) / nodes / MB, maxMB: Number.NaN,
    heapMB: (after.heapUsed - before.heapUsed) / nodes / MB,
  };
}

function avg(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export interface CacheSample { s: number; ids: number; contents: number; heapMB: number; rssMB: number }
export interface FloodCache {
  impl: Impl;
  seconds: number;
  sent: number;
  bound: number | null;
  /** Receiver's de-duplication entries at the end (rx2p: waterfall cache; baseline: its Set). */
  ids: number;
  contents: number;
  samples: CacheSample[];
  /** When the cache first reached its bound (s), and the receiver's heap then and at the end. */
  boundAtS: number | null;
  heapAtBoundMB: number | null;
  heapEndMB: number;
}

/**
 * A sender floods a receiver with unique 100-byte messages for `seconds`; the
 * receiver's cache size and memory (after GC) are sampled every `everyS` seconds.
 */
export async function floodCache(handles: Remote[], impl: Impl, seconds: number, everyS: number, cacheSize?: number): Promise<FloodCache> {
  await build(handles, spec(impl, 'plain', { waterfallCacheSize: cacheSize }), fullMesh(2));
  const [sender, receiver] = handles as [Remote, Remote];
  const t0 = Date.now();
  const flood = sender.flood({ size: 100, durationMs: seconds * 1000 });
  const samples: CacheSample[] = [];
  let done = false;
  void flood.then(() => { done = true; });
  let bound: number | null = null;
  let boundAtS: number | null = null;
  let heapAtBoundMB: number | null = null;
  while (!done) {
    await Promise.race([flood, new Promise((r) => setTimeout(r, everyS * 1000))]);
    const [c, m] = await Promise.all([receiver.cacheSizes(), receiver.memory()]);
    const s = { s: (Date.now() - t0) / 1000, ids: c.ids, contents: c.contents, heapMB: m.heapUsed / MB, rssMB: m.rss / MB };
    samples.push(s);
    bound = c.bound;
    if (bound !== null && boundAtS === null && c.ids >= bound) { boundAtS = s.s; heapAtBoundMB = s.heapMB; }
  }
  const r = await flood;
  await receiver.waitReceived(r.sent, 30_000);
  const c = await receiver.cacheSizes();
  const m: MemoryReport = await receiver.memory();
  await teardown(handles);
  return {
    impl, seconds, sent: r.sent, bound, ids: c.ids, contents: c.contents, samples,
    boundAtS, heapAtBoundMB, heapEndMB: m.heapUsed / MB,
  };
}

export interface EntryCost {
  /** rx2p waterfall cache: bytes per entry (key: the raw SHA-384 digest as a latin1 string, msg.idKey). */
  rx2pIdBytes: number;
  /** rx2p re-timed-copy cache: bytes per entry (key: SHA-1 as a latin1 string). */
  rx2pContentBytes: number;
  /** Baseline Set: bytes per entry (key: base64 SHA-384). */
  baselineBytes: number;
  /** rx2p's default bound, and what both its caches cost when full at that bound (MB). */
  defaultBound: number;
  defaultBoundMB: number;
}

/** The V8 gc() function, also when this process was not started with --expose-gc. */
export function exposeGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Holds the measured keys until the heap is sampled (a property write, so it is not dead code). */
const held: { keys?: unknown } = {};

/** Heap growth per entry, measured with 100,000 real keys after full GCs. */
export function entryCost(defaultBound: number): EntryCost {
  const gc = exposeGc();
  const n = 100_000;
  const protocol = new Protocol('mesh', 'Plaintext');
  const sender = nodeId(['127.0.0.1', 4444], protocol.id);
  const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
  const measure = (fill: (i: number) => unknown): number => {
    const h0 = heap();
    const keep = fill(n);
    const h1 = heap();
    held.keys = keep; // held until measured
    return (h1 - h0) / n;
  };
  const payload = Buffer.alloc(100);
  // The keys exactly as the router makes them (src/actors/flood.ts: admit and checkContent).
  const rx2pIdBytes = measure((count) => {
    const cache = new WaterfallCache(count, 3600);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < count; i++) {
      payload.writeUInt32BE(i, 0);
      const msg = new PathfindingMessage(protocol, 'waterfall', sender, ['broadcast', payload], [], now);
      cache.add(msg.dedupKey, now, msg.id);
    }
    return cache;
  });
  const rx2pContentBytes = measure((count) => {
    const cache = new WaterfallCache(count, 3600);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < count; i++) {
      payload.writeUInt32BE(i, 0);
      cache.add(new PathfindingMessage(protocol, 'waterfall', sender, ['broadcast', payload], [], now).contentKey, now);
    }
    return cache;
  });
  const baselineBytes = measure((count) => {
    const set = new Set<string>();
    for (let i = 0; i < count; i++) {
      payload.writeUInt32BE(i, 0);
      set.add(createHash('sha384').update(payload).digest('base64'));
    }
    return set;
  });
  return {
    rx2pIdBytes, rx2pContentBytes, baselineBytes, defaultBound,
    defaultBoundMB: (defaultBound * (rx2pIdBytes + rx2pContentBytes)) / MB,
  };
}
