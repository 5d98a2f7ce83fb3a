// The simulation's check against real processes: N nodes spread over P OS processes on
// loopback TCP, joined the same way (one random earlier node each, 20 ms apart, the rest
// from peers lists), then B broadcasts one second apart from random nodes. Reports
// what sim/run.ts reports that can be measured here, beside nothing virtual.
//   npx tsx sim/real.ts --nodes 100 --procs 4 --broadcasts 10 --seed 1 [--repair on|off] [--json FILE]
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pick, prng, sample } from './prng.js';
import { bfs, quantile, summary } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Snapshot {
  peers: Record<number, number[]>;
  ids: Record<number, string>;
  framesOut: number;
  repair: { controlFrames: number; controlBytes: number; sent: number; bytes: number; received: number };
  counts: Record<number, Record<number, number>>;
  firstAt: Record<number, Record<number, number>>;
  rss: number;
  heapUsed: number;
}

class Proc {
  readonly child: ChildProcess;
  readonly ready: Promise<{ rss: number; heapUsed: number }>;
  private serial = 0;
  private pending = new Map<number, (v: unknown) => void>();
  constructor() {
    this.child = fork(join(here, 'real-worker.ts'), [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve) => {
      this.child.on('message', (m: { ready?: boolean; rss?: number; heapUsed?: number; id?: number; value?: unknown; error?: string }) => {
        if (m.ready) return resolve({ rss: m.rss!, heapUsed: m.heapUsed! });
        if (m.error) throw new Error(m.error);
        this.pending.get(m.id!)?.(m.value);
        this.pending.delete(m.id!);
      });
    });
  }
  call<T>(cmd: Record<string, unknown>): Promise<T> {
    const id = ++this.serial;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as (v: unknown) => void);
      this.child.send({ id, ...cmd });
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const N = arg('--nodes', 100);
  const P = arg('--procs', 4);
  const B = arg('--broadcasts', 10);
  const seed = arg('--seed', 1);
  const jsonAt = process.argv.indexOf('--json');
  const repairAt = process.argv.indexOf('--repair');
  const repair = repairAt < 0 || process.argv[repairAt + 1] !== 'off';
  const random = prng(seed);
  const procs = Array.from({ length: P }, () => new Proc());
  const emptyRss = await Promise.all(procs.map((p) => p.ready));
  const owner = (i: number) => procs[i % P]!;
  const ports: Record<number, number> = {};
  await Promise.all(procs.map(async (p, k) => {
    const indices = Array.from({ length: N }, (_, i) => i).filter((i) => i % P === k);
    Object.assign(ports, await p.call<Record<number, number>>({ cmd: 'start', indices, repair }));
  }));
  const t0 = Date.now();
  for (let i = 1; i < N; i++) {
    const [j] = sample(random, i, 1);
    void owner(i).call({ cmd: 'connect', index: i, port: ports[j!] });
    await sleep(20);
  }
  await sleep(15_000);
  const snap = async () => Promise.all(procs.map((p) => p.call<Snapshot>({ cmd: 'snapshot' })));
  const before = await snap();
  const phaseStart = Date.now();
  const portToIndex = new Map(Object.entries(ports).map(([i, port]) => [port, Number(i)]));
  const adjacency: number[][] = Array.from({ length: N }, () => []);
  for (const s of before) for (const [i, list] of Object.entries(s.peers)) adjacency[Number(i)] = list.map((port) => portToIndex.get(port)!).filter((j) => j !== undefined);
  const degrees = adjacency.map((a) => a.length);
  const frames: number[] = [];
  const sentAt: number[] = [];
  const hops: number[] = [];
  let framesMark = before.reduce((a, s) => a + s.framesOut, 0);
  for (let b = 0; b < B; b++) {
    const sender = pick(random, N);
    hops.push(Math.max(...bfs(adjacency, sender).values()));
    sentAt.push(await owner(sender).call<number>({ cmd: 'send', index: sender, b, payload: 'x'.repeat(88) }));
    await sleep(1_000);
    const now = (await snap()).reduce((a, s) => a + s.framesOut, 0);
    frames.push(now - framesMark);
    framesMark = now;
    void sender;
  }
  const after = await snap();
  const phaseS = (Date.now() - phaseStart) / 1000;
  const sumRepair = (ss: Snapshot[]) => ss.reduce((a, s) => ({
    controlFrames: a.controlFrames + s.repair.controlFrames, controlBytes: a.controlBytes + s.repair.controlBytes,
    sent: a.sent + s.repair.sent, bytes: a.bytes + s.repair.bytes, received: a.received + s.repair.received,
  }), { controlFrames: 0, controlBytes: 0, sent: 0, bytes: 0, received: 0 });
  const r0 = sumRepair(before);
  const r1 = sumRepair(after);
  let once = 0;
  let dupes = 0;
  const delays: number[] = [];
  for (let b = 0; b < B; b++) {
    for (const s of after) {
      for (const [, n] of Object.entries(s.counts[b] ?? {})) {
        if (n === 1) once++;
        if (n > 1) dupes += n - 1;
      }
      for (const [, t] of Object.entries(s.firstAt[b] ?? {})) delays.push(t - sentAt[b]!);
    }
  }
  delays.sort((a, b) => a - b);
  frames.sort((a, b) => a - b);
  const rss = after.reduce((a, s) => a + s.rss, 0);
  const heap = after.reduce((a, s) => a + s.heapUsed, 0);
  const emptyHeap = emptyRss.reduce((a, r) => a + r.heapUsed, 0);
  const report = {
    nodes: N, processes: P, broadcasts: B, seed,
    repair,
    deliveryRatio: once / (B * (N - 1)),
    duplicatesDelivered: dupes,
    framesPerBroadcast: { median: quantile(frames, 0.5), mean: frames.reduce((a, b) => a + b, 0) / frames.length },
    framesPerNode: quantile(frames, 0.5) / N,
    connectionsPerNode: summary(degrees),
    edges: degrees.reduce((a, b) => a + b, 0) / 2,
    hopsToFarthest: { median: quantile([...hops].sort((a, b) => a - b), 0.5), max: Math.max(...hops) },
    deliveryMs: { p50: Math.round(quantile(delays, 0.5) * 100) / 100, p99: Math.round(quantile(delays, 0.99) * 100) / 100 },
    /** The processes' RSS / N: tsx and V8 of each process included (about 90 MB a process). */
    rssPerNodeKB: Math.round(rss / 1024 / N),
    /** Heap after GC above each process's heap before its first node, / N: comparable to the simulation's heap per node. */
    heapPerNodeKB: Math.round((heap - emptyHeap) / 1024 / N),
    /** Repair during the broadcasts: exchange and copies sent, messages admitted through repair. */
    repairTraffic: {
      controlFrames: r1.controlFrames - r0.controlFrames,
      controlBytes: r1.controlBytes - r0.controlBytes,
      answerFrames: r1.sent - r0.sent,
      answerBytes: r1.bytes - r0.bytes,
      bytesPerNodePerSecond: Math.round(((r1.controlBytes - r0.controlBytes + r1.bytes - r0.bytes) / N / phaseS) * 10) / 10,
    },
    repaired: r1.received - r0.received,
    wallMs: Date.now() - t0,
  };
  console.log(JSON.stringify(report, null, 2));
  if (jsonAt >= 0) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify(report, null, 2) + '\n');
  await Promise.all(procs.map((p) => p.call({ cmd: 'stop' })));
}

await main();
