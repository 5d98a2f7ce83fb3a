// npm run bench [-- --quick] [--json FILE] [--svg FILE] [--readme] [--only W1,W3,...]
//
// rx2p against a minimal flooding mesh written here (bench/baseline.ts), on the same
// workloads, nodes in one process each (worker processes over IPC) and all in one
// process. See bench/README.md for what each workload does and how to read it.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultOptions } from '../src/index.js';
import type { Impl } from './agent.js';
import { benchDir, WorkerPool } from './cluster.js';
import { codecBench } from './codec.js';
import { authCosts, type AuthCosts } from './auth.js';
import { compileWorker, entryCost, exposeGc, floodCache, idleRss, idleRssInProcess, type FloodCache, type IdleRss } from './memory.js';
import { fmt, markdownTable, row, svgChart, table, updateReadme, type Row } from './report.js';
import { repairIdleCost } from './repair-cost.js';
import { latency, Placement, scale, summarize, throughput, variantLabel, type LatencyResult, type ScaleResult, type ThroughputResult, type Variant } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    svg: { type: 'string' },
    readme: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
  allowPositionals: false,
});

const quick = args.quick!;
const only = args.only ? new Set(args.only.split(',').map((s) => s.trim().toUpperCase())) : undefined;
const enabled = (w: string) => !only || only.has(w);

/** Sizes and durations: --quick keeps the whole run under 30 s, the full run under 3 min. */
const cfg: {
  w1Ms: number; w2Ms: number; w3Samples: number; w3Warmup: number; w3WarmupRun: number; w3Rounds: number; w1WarmupMs: number; w4WarmUp: boolean; w4Broadcasts: number;
  w5FloodS: number; w5EveryS: number; w5CacheSize: number | undefined; codecMs: number;
  inprocN5: boolean; rssRunners: Array<'js' | 'tsx'>; rssInProcess: boolean; rounds: number; warmupMs: number;
} = quick
  ? { w1Ms: 400, w2Ms: 400, w3Samples: 150, w3Warmup: 30, w3WarmupRun: 300, w3Rounds: 1, w1WarmupMs: 200, w4WarmUp: false, w4Broadcasts: 300, w5FloodS: 2, w5EveryS: 0.5, w5CacheSize: 20_000, codecMs: 40, inprocN5: false, rssRunners: ['js'], rssInProcess: false, rounds: 1, warmupMs: 200 }
  : { w1Ms: 1200, w2Ms: 1500, w3Samples: 300, w3Warmup: 100, w3WarmupRun: 1500, w3Rounds: 4, w1WarmupMs: 1200, w4WarmUp: true, w4Broadcasts: 1000, w5FloodS: 60, w5EveryS: 5, w5CacheSize: undefined, codecMs: 300, inprocN5: true, rssRunners: ['js', 'tsx'], rssInProcess: true, rounds: 2, warmupMs: 600 };

const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
const started = Date.now();
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const rows: Row[] = [];
const details: Record<string, unknown> = {};
const impls: Impl[] = ['rx2p', 'baseline'];

function log(s: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${s}\n`);
}

// --quick shares the worker processes between the implementations: half as many to start.
const procs = new Placement('procs', quick);
const inproc = new Placement('inproc');

async function both<T>(label: string, fn: (impl: Impl) => Promise<T>): Promise<Record<Impl, T>> {
  const out = {} as Record<Impl, T>;
  for (const impl of impls) {
    out[impl] = await fn(impl);
    log(`${label} ${impl}: ${JSON.stringify(out[impl], (_k, v) => (typeof v === 'number' ? Number(v.toPrecision(4)) : v))}`);
  }
  return out;
}

/**
 * Runs rx2p and the baseline alternately, cfg.rounds times each (rx2p first in odd
 * rounds, the baseline first in even ones), so that a slow spell of the shared
 * machine weighs on both; each one's rounds are merged. A given baseline result
 * (gzip rows: the baseline does not compress) is reused instead of run again.
 */
let gcFn: (() => void) | undefined;
function collectGarbage(): void {
  gcFn ??= exposeGc();
  gcFn();
  gcFn();
}

async function alternate<T>(
  label: string, run: (impl: Impl) => Promise<T>, merge: (xs: T[]) => T, describe: (x: T) => string, baseline?: T, collect = false,
  rounds = cfg.rounds,
): Promise<Record<Impl, T>> {
  const got: Record<Impl, T[]> = { rx2p: [], baseline: [] };
  for (let r = 0; r < rounds; r++) {
    const order: Impl[] = r % 2 === 0 ? ['rx2p', 'baseline'] : ['baseline', 'rx2p'];
    for (const impl of order) {
      if (impl === 'baseline' && baseline) continue;
      // Before a flood between worker processes, this process collects its garbage
      // (from one-process runs) now rather than during the run, where it would take
      // CPU from the workers. Not before a latency run, nor before a one-process run:
      // a forced full collection leaves the next messages through this process slower
      // for both implementations (W3 one process: 0.017 -> 0.022 ms for the baseline).
      if (collect) collectGarbage();
      const x = await run(impl);
      got[impl].push(x);
      log(`${label} ${impl} (round ${r + 1}/${rounds}): ${describe(x)}`);
    }
  }
  return { rx2p: merge(got.rx2p), baseline: baseline ?? merge(got.baseline) };
}

function mergeThroughput(xs: ThroughputResult[]): ThroughputResult {
  const sent = xs.reduce((a, x) => a + x.sent, 0);
  const mean = (f: (x: ThroughputResult) => number) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
  return {
    msgsPerSec: mean((x) => x.msgsPerSec), minMsgsPerSec: Math.min(...xs.map((x) => x.minMsgsPerSec)), mbPerSec: mean((x) => x.mbPerSec),
    sent, delivered: xs.reduce((a, x) => a + x.delivered * x.sent, 0) / sent,
    duplicateDeliveries: xs.reduce((a, x) => a + x.duplicateDeliveries, 0), framesPerMsg: mean((x) => x.framesPerMsg),
    seconds: xs.reduce((a, x) => a + x.seconds, 0), wireBytesPerMsg: mean((x) => x.wireBytesPerMsg),
    repairTraffic: xs.reduce((a, x) => a + (x.repairTraffic ?? 0), 0),
  };
}

function describeThroughput(x: ThroughputResult): string {
  return `${fmt(x.msgsPerSec)} msg/s, ${x.mbPerSec.toFixed(1)} MB/s per receiver (sent ${x.sent}, delivered ${(100 * x.delivered).toFixed(1)}%${x.duplicateDeliveries ? `, ${fmt(x.duplicateDeliveries)} delivered twice` : ''}, ${x.framesPerMsg.toFixed(2)} frames/msg)`;
}

function mergeLatency(xs: LatencyResult[]): LatencyResult {
  return summarize(xs.flatMap((x) => x.all ?? []));
}

function describeLatency(x: LatencyResult): string {
  return `p50 ${x.p50.toFixed(3)} ms, p99 ${x.p99.toFixed(3)} ms (${x.samples} samples)`;
}

async function main(): Promise<void> {
  log(`${command}${quick ? ' (quick: short runs, see bench/README.md)' : ''}; ${cpus().length} CPUs, node ${process.version}`);

  // ------------------------------------------------------------ Codec (first: nothing else runs yet)
  if (enabled('CODEC')) {
    const codec = codecBench(cfg.codecMs);
    details.codec = codec;
    for (const c of codec) {
      const small = c.size < 1024;
      const isTarget = c.size >= 1024 * 1024 && c.op === 'feed' && c.compression === 'plain';
      rows.push(row({
        workload: 'Codec', what: `${c.op} ${small ? '100 B' : '1 MiB'}`, mode: '-', variant: c.compression === 'plain' ? 'no compression' : 'gzip',
        metric: small ? 'msg/s' : 'MB/s', rx2p: small ? c.msgsPerSec : c.mbPerSec, baseline: small ? c.shaMsgsPerSec : c.shaMbPerSec,
        better: 'higher', digits: small ? 0 : 0,
        note: 'baseline column: node:crypto SHA-384 of the same frame body',
        ...(isTarget ? { target: 'ratio >= 0.5 (2x SHA-384)', met: c.mbPerSec >= 0.5 * c.shaMbPerSec } : {}),
      }));
    }
    log('codec done');
  }

  // ------------------------------------------------------------ Auth: Ed25519 costs (nothing else runs yet)
  // One verification's time sets the verification limit W1 in the authenticated
  // protocol is judged against (a receiver verifies each new message once).
  let auth: AuthCosts | undefined;
  if (enabled('AUTH') || enabled('W1')) {
    auth = authCosts(cfg.codecMs);
    details.auth = auth;
    const common = { workload: 'Auth', mode: '-' as const, variant: 'Ed25519 (node:crypto)', baseline: null, better: 'lower' as const, digits: 1 };
    rows.push(row({ ...common, what: 'verify one signature (32 B digest)', metric: 'µs', rx2p: auth.verifyUs, note: `verification limit 1/t = ${fmt(auth.verificationLimit)} msg/s per receiver` }));
    rows.push(row({ ...common, what: 'sign one signature (32 B digest)', metric: 'µs', rx2p: auth.signUs }));
    rows.push(row({ ...common, what: 'origin: sign a 100 B broadcast', metric: 'µs per message', rx2p: auth.originUs, note: 'signed alone: digest + signature' }));
    rows.push(row({ ...common, what: 'origin: sign a 100 B broadcast', variant: `in a batch of ${auth.batch}`, metric: 'µs per message', rx2p: auth.originBatchedUs, note: 'a tick\'s broadcasts under one signature (signatureBatch)' }));
    rows.push(row({ ...common, what: 'receiver: check a 100 B broadcast', metric: 'µs per message', rx2p: auth.receiverUs, note: 'signed alone: cached key, digest, verification; once per new message, never per copy' }));
    rows.push(row({ ...common, what: 'receiver: check a 100 B broadcast', variant: `in a batch of ${auth.batch}`, metric: 'µs per message', rx2p: auth.receiverBatchedUs, note: 'one verification per batch, a Merkle path per message' }));
    log(`auth costs: ${JSON.stringify(auth, (_k, v) => (typeof v === 'number' ? Number(v.toPrecision(4)) : v))}`);
  }

  // ------------------------------------------------------------ warm-up (not measured)
  // Worker processes are reused from workload to workload; a short flood first gets
  // both implementations' send and receive paths compiled by V8 in every worker, so
  // that the first measured run is not also the JIT's warm-up. Same in this process.
  if (['W1', 'W2', 'W3', 'W4'].some(enabled)) {
    // The first full-length flood of a worker still runs slower for both (by about a
    // tenth: heap and young-generation sizing), so W1's own shape gets a flood too.
    for (const impl of impls) await throughput(inproc, impl, 'plain', 3, 100, cfg.warmupMs);
    for (const impl of impls) {
      await throughput(procs, impl, 'plain', 5, 100, cfg.warmupMs);
      await throughput(procs, impl, 'plain', 3, 100, cfg.w1WarmupMs);
    }
    // The authenticated protocol's own paths (signing, proofs, verification) too.
    if (enabled('W1') || enabled('W3')) await throughput(procs, 'rx2p', 'auth', 3, 100, Math.max(cfg.warmupMs, cfg.w1WarmupMs));
    log('warm-up done');
  }

  // ------------------------------------------------------------ W1: broadcast throughput
  if (enabled('W1')) {
    const w1: Record<string, Record<Impl, ThroughputResult>> = {};
    const configs: Array<[Placement, Variant, number]> = [
      [procs, 'plain', 3], [procs, 'plain', 5], [procs, 'gzip', 3], [procs, 'ssl', 3], [procs, 'auth', 3],
      [inproc, 'plain', 3], ...(cfg.inprocN5 ? [[inproc, 'plain', 5] as [Placement, Variant, number]] : []),
    ];
    for (const [place, variant, n] of configs) {
      const key = `${place.mode}/${variant}/N=${n}`;
      const reuse = variant === 'gzip' ? w1[`${place.mode}/plain/N=${n}`]?.baseline
        : variant === 'auth' ? w1[`${place.mode}/ssl/N=${n}`]?.baseline ?? { msgsPerSec: 0 } as ThroughputResult : undefined;
      const res = await alternate(`W1 ${key}`, (impl) => throughput(place, impl, variant, n, 100, cfg.w1Ms), mergeThroughput, describeThroughput, reuse, place === procs);
      w1[key] = res;
      if (variant === 'auth') {
        // Judged against what one receiver can verify on this machine, not against the
        // baseline (which signs nothing).
        const limit = auth!.verificationLimit;
        rows.push(row({
          workload: 'W1', what: `broadcast 100 B, N=${n}`, mode: place.mode, variant: variantLabel[variant], metric: 'msg/s per receiver',
          rx2p: res.rx2p.msgsPerSec, baseline: limit, better: 'higher',
          target: 'ratio >= 0.7 (of the verification limit)', met: res.rx2p.msgsPerSec >= 0.7 * limit,
          note: `baseline column: the verification limit, 1 / one Ed25519 verification (${auth!.verifyUs.toFixed(1)} µs) in this run; the baseline mesh signs nothing (its SSL figure: ${fmt(res.baseline.msgsPerSec)} msg/s)`,
        }));
        continue;
      }
      const isTarget = place.mode === 'procs' && variant === 'plain';
      rows.push(row({
        workload: 'W1', what: `broadcast 100 B, N=${n}`, mode: place.mode, variant: variantLabel[variant], metric: 'msg/s per receiver',
        rx2p: res.rx2p.msgsPerSec, baseline: res.baseline.msgsPerSec, better: 'higher',
        ...(isTarget ? { target: 'ratio >= 0.8', met: res.rx2p.msgsPerSec >= 0.8 * res.baseline.msgsPerSec } : {}),
        note: variant === 'gzip' ? 'baseline does not compress: its plaintext figure' : undefined,
      }));
    }
    // The defaults (gzip negotiated) against compression off, both rx2p, in this run.
    const [w1On, w1Off] = [w1['procs/gzip/N=3']?.rx2p, w1['procs/plain/N=3']?.rx2p];
    if (w1On && w1Off) {
      rows.push(row({
        workload: 'W1', what: 'broadcast 100 B, N=3', mode: 'procs', variant: 'rx2p defaults vs rx2p compression off', metric: 'msg/s per receiver',
        rx2p: w1On.msgsPerSec, baseline: w1Off.msgsPerSec, better: 'higher', target: 'ratio >= 0.8', met: w1On.msgsPerSec >= 0.8 * w1Off.msgsPerSec,
        note: 'baseline column: rx2p with compression: [] (the plain row above)',
      }));
    }
    details.w1 = w1;
  }

  // ------------------------------------------------------------ W1 over WebSocket
  // rx2p against itself: N=3 with the sender's first link over WebSocket (the rest TCP),
  // against the same all over TCP, alternately, in the same run.
  if (enabled('W1') || enabled('W1WS')) {
    const got: Record<'tcp' | 'ws', ThroughputResult[]> = { tcp: [], ws: [] };
    // The WebSocket path (ws's framing, masking on the dialling side) gets compiled first:
    // a worker's first WebSocket floods ran at a tenth of the later ones' rate.
    for (const links of [1, 0, 1, 0]) await throughput(procs, 'rx2p', 'plain', 3, 100, Math.max(cfg.warmupMs, 400), undefined, undefined, {}, links);
    // Two rounds at least, even for --quick: single runs of either differ by half.
    const rounds = Math.max(cfg.rounds, 2);
    for (let r = 0; r < rounds; r++) {
      for (const link of (r % 2 === 0 ? ['ws', 'tcp'] : ['tcp', 'ws']) as Array<'tcp' | 'ws'>) {
        collectGarbage();
        const x = await throughput(procs, 'rx2p', 'plain', 3, 100, cfg.w1Ms, undefined, undefined, {}, link === 'ws' ? 1 : 0);
        got[link].push(x);
        log(`W1 one WebSocket link, ${link} (round ${r + 1}/${rounds}): ${describeThroughput(x)}`);
      }
    }
    const ws = mergeThroughput(got.ws);
    const tcp = mergeThroughput(got.tcp);
    rows.push(row({
      workload: 'W1', what: 'broadcast 100 B, N=3, one WebSocket link', mode: 'procs', variant: variantLabel.plain, metric: 'msg/s per receiver',
      rx2p: ws.msgsPerSec, baseline: tcp.msgsPerSec, better: 'higher', note: 'baseline column: rx2p with every link over TCP',
    }));
    details.w1WebSocket = { ws, tcp };
  }

  // ------------------------------------------------------------ Repair: what it costs
  if (enabled('W1') || enabled('REPAIR')) {
    // W1 (process/node, N=3, Plaintext, no compression) for rx2p with repair on and off,
    // alternating, in the same worker processes.
    // Repair on compares every 250 ms, twenty times as often as by default, so that a run
    // of about a second holds several exchanges under load (a harder case than the default).
    const repairOn = { repair: true, repairIntervalMs: 250 };
    // Both modes once, unmeasured: alone (--only REPAIR) the workers are fresh, and even
    // after W1 the first run of a new shape is slower.
    for (const extra of [repairOn, { repair: false }]) await throughput(procs, 'rx2p', 'plain', 3, 100, cfg.w1WarmupMs, undefined, undefined, extra);
    const runs: Record<'on' | 'off', ThroughputResult[]> = { on: [], off: [] };
    for (let r = 0; r < 2 * cfg.rounds; r++) {
      for (const mode of (r % 2 === 0 ? ['on', 'off'] : ['off', 'on']) as Array<'on' | 'off'>) {
        collectGarbage();
        const x = await throughput(procs, 'rx2p', 'plain', 3, 100, cfg.w1Ms, undefined, undefined, mode === 'on' ? repairOn : { repair: false });
        runs[mode].push(x);
        log(`W1 rx2p repair ${mode} (round ${r + 1}/${2 * cfg.rounds}): ${describeThroughput(x)}; repair traffic ${fmt(x.repairTraffic ?? 0)} bytes`);
      }
    }
    const on = mergeThroughput(runs.on);
    const off = mergeThroughput(runs.off);
    rows.push(row({
      workload: 'Repair', what: 'W1 broadcast 100 B, N=3', mode: 'procs', variant: 'rx2p, repair on (every 250 ms: rx2p column) vs off (baseline column)', metric: 'msg/s per receiver',
      rx2p: on.msgsPerSec, baseline: off.msgsPerSec, better: 'higher', target: 'ratio >= 0.9', met: on.msgsPerSec >= 0.9 * off.msgsPerSec,
    }));
    rows.push(row({
      workload: 'Repair', what: 'traffic under W1 load, N=3', mode: 'procs', variant: 'repair every 250 ms; exchange and repaired frames', metric: 'bytes/s per connection',
      rx2p: (on.repairTraffic ?? 0) / on.seconds / 3, baseline: null, better: 'lower',
    }));
    const idle = await repairIdleCost();
    const perSecond = (perInterval: number) => perInterval / (defaultOptions.repairIntervalMs / 1000);
    details.repairIdle = idle;
    log(`repair at idle: ${idle.emptyPerInterval.toFixed(0)} bytes per interval (empty window), ${idle.heldPerInterval.toFixed(0)} (1,000 broadcasts held by both)`);
    rows.push(row({
      workload: 'Repair', what: 'traffic at idle, nothing in the window', mode: 'inproc', variant: `every ${defaultOptions.repairIntervalMs / 1000} s (repairIntervalMs default)`, metric: 'bytes/s per connection',
      rx2p: perSecond(idle.emptyPerInterval), baseline: null, better: 'lower', digits: 1,
    }));
    rows.push(row({
      workload: 'Repair', what: 'traffic at idle, 1,000 broadcasts in the window', mode: 'inproc', variant: `every ${defaultOptions.repairIntervalMs / 1000} s, both stores equal`, metric: 'bytes/s per connection',
      rx2p: perSecond(idle.heldPerInterval), baseline: null, better: 'lower', digits: 1,
    }));
  }

  // ------------------------------------------------------------ W2: 1 MiB payloads
  if (enabled('W2')) {
    // Large buffers take paths small ones do not (and grow the heap differently): the
    // first 1 MiB flood of a worker ran a fifth slower, so one goes unmeasured first.
    for (const impl of impls) await throughput(procs, impl, 'plain', 3, 1024 * 1024, cfg.warmupMs);
    const w2: Record<string, Record<Impl, ThroughputResult>> = {};
    const configs: Array<[Placement, Variant]> = [[procs, 'plain'], [procs, 'gzip'], [procs, 'ssl'], [inproc, 'plain']];
    for (const [place, variant] of configs) {
      const key = `${place.mode}/${variant}/N=3`;
      const reuse = variant === 'gzip' ? w2[`${place.mode}/plain/N=3`]?.baseline : undefined;
      const res = await alternate(`W2 ${key}`, (impl) => throughput(place, impl, variant, 3, 1024 * 1024, cfg.w2Ms), mergeThroughput, describeThroughput, reuse, place === procs);
      w2[key] = res;
      const isTarget = place.mode === 'procs' && variant === 'plain';
      rows.push(row({
        workload: 'W2', what: '1 MiB messages, N=3', mode: place.mode, variant: variantLabel[variant], metric: 'MB/s per receiver',
        rx2p: res.rx2p.mbPerSec, baseline: res.baseline.mbPerSec, better: 'higher', digits: 1,
        ...(isTarget ? { target: 'ratio >= 0.8', met: res.rx2p.mbPerSec >= 0.8 * res.baseline.mbPerSec } : {}),
        note: variant === 'gzip' ? 'baseline does not compress: its plaintext figure' : undefined,
      }));
    }
    const [w2On, w2Off] = [w2['procs/gzip/N=3']?.rx2p, w2['procs/plain/N=3']?.rx2p];
    if (w2On && w2Off) {
      rows.push(row({
        workload: 'W2', what: '1 MiB random messages, N=3', mode: 'procs', variant: 'rx2p defaults vs rx2p compression off', metric: 'MB/s per receiver',
        rx2p: w2On.mbPerSec, baseline: w2Off.mbPerSec, better: 'higher', digits: 1, target: 'ratio >= 0.8', met: w2On.mbPerSec >= 0.8 * w2Off.mbPerSec,
        note: 'baseline column: rx2p with compression: []',
      }));
    }
    // Compressible payloads (JSON) are still compressed by default: what that saves on the wire.
    const jsonSize = 64 * 1024;
    const jsonOn = await throughput(procs, 'rx2p', 'gzip', 3, jsonSize, cfg.w2Ms, undefined, 'json');
    log(`W2 JSON 64 KiB rx2p defaults: ${describeThroughput(jsonOn)}, ${fmt(jsonOn.wireBytesPerMsg)} wire bytes/msg`);
    const jsonOff = await throughput(procs, 'rx2p', 'plain', 3, jsonSize, cfg.w2Ms, undefined, 'json');
    log(`W2 JSON 64 KiB rx2p compression off: ${describeThroughput(jsonOff)}, ${fmt(jsonOff.wireBytesPerMsg)} wire bytes/msg`);
    rows.push(row({
      workload: 'W2', what: '64 KiB JSON messages, N=3', mode: 'procs', variant: 'rx2p defaults vs rx2p compression off', metric: 'sender wire bytes per message',
      rx2p: jsonOn.wireBytesPerMsg, baseline: jsonOff.wireBytesPerMsg, better: 'lower',
      note: 'baseline column: rx2p with compression: []; bytes written to both peers',
    }));
    rows.push(row({
      workload: 'W2', what: '64 KiB JSON messages, N=3', mode: 'procs', variant: 'rx2p defaults vs rx2p compression off', metric: 'MB/s per receiver',
      rx2p: jsonOn.mbPerSec, baseline: jsonOff.mbPerSec, better: 'higher', digits: 1,
      note: 'baseline column: rx2p with compression: []',
    }));
    details.w2json = { defaults: jsonOn, compressionOff: jsonOff };
    details.w2 = w2;
  }

  // ------------------------------------------------------------ W3: latency
  if (enabled('W3')) {
    // One message at a time takes paths a flood does not (a write to an idle socket,
    // a relay to a peer with nothing queued), and V8 optimizes a function only after
    // about a thousand calls of it: W3 gets an unmeasured latency run of its own first.
    // One process first; then the workers, rx2p's last, as its round comes first.
    for (const impl of impls) await latency(inproc, impl, 'plain', 3, cfg.w3WarmupRun, 0);
    for (const impl of [...impls].reverse()) await latency(procs, impl, 'plain', 3, cfg.w3WarmupRun, 0);
    await latency(procs, 'rx2p', 'auth', 3, Math.min(cfg.w3WarmupRun, 300), 0);
    const w3: Record<string, Record<Impl, LatencyResult>> = {};
    const configs: Array<[Placement, Variant]> = [[procs, 'plain'], [procs, 'gzip'], [procs, 'ssl'], [procs, 'auth'], [inproc, 'plain']];
    for (const [place, variant] of configs) {
      const key = `${place.mode}/${variant}/N=3`;
      // The baseline signs nothing: the authenticated rows show its SSL figure.
      const reuse = variant === 'gzip' ? w3[`${place.mode}/plain/N=3`]?.baseline
        : variant === 'auth' ? w3[`${place.mode}/ssl/N=3`]?.baseline : undefined;
      // Latency percentiles move with each run's state (scheduling, what the collector
      // is doing) more than rates do: W3 pools the samples of more, shorter rounds.
      const res = await alternate(`W3 ${key}`, (impl) => latency(place, impl, variant, 3, cfg.w3Samples, cfg.w3Warmup), mergeLatency, describeLatency, reuse, false, cfg.w3Rounds);
      w3[key] = res;
      const isTarget = variant === 'plain';
      const common = { workload: 'W3', what: 'latency 100 B, N=3', mode: place.mode, variant: variantLabel[variant], better: 'lower' as const, digits: 3 };
      const note = variant === 'gzip' ? 'baseline does not compress: its plaintext figure'
        : variant === 'auth' ? 'baseline signs nothing: its SSL figure; rx2p signs at the origin and verifies once per receiver' : undefined;
      rows.push(row({
        ...common, metric: 'p50 ms', rx2p: res.rx2p.p50, baseline: res.baseline.p50, note,
        ...(isTarget ? { target: 'ratio <= 1.5', met: res.rx2p.p50 <= 1.5 * res.baseline.p50 } : {}),
      }));
      rows.push(row({ ...common, metric: 'p99 ms', rx2p: res.rx2p.p99, baseline: res.baseline.p99, note }));
    }
    const [w3On, w3Off] = [w3['procs/gzip/N=3']?.rx2p, w3['procs/plain/N=3']?.rx2p];
    if (w3On && w3Off) {
      rows.push(row({
        workload: 'W3', what: 'latency 100 B, N=3', mode: 'procs', variant: 'rx2p defaults vs rx2p compression off', metric: 'p50 ms',
        rx2p: w3On.p50, baseline: w3Off.p50, better: 'lower', digits: 3, target: 'ratio <= 1.2', met: w3On.p50 <= 1.2 * w3Off.p50,
        note: 'baseline column: rx2p with compression: []',
      }));
    }
    details.w3 = Object.fromEntries(Object.entries(w3).map(([k, v]) => [k, { rx2p: { ...v.rx2p, all: undefined }, baseline: { ...v.baseline, all: undefined } }]));
  }

  // ------------------------------------------------------------ W4: 20 nodes, random 4-regular mesh
  if (enabled('W4')) {
    // 15 of the 20 worker processes are new here, and each handles only ~3,000 frames
    // a run: V8 is still compiling during the first runs (rx2p's runs took 1.5, 1.2,
    // 0.8 and then 0.4 s; the baseline's smaller code settles sooner). Three
    // unmeasured runs first, for both.
    if (cfg.w4WarmUp) for (const impl of impls) for (let k = 0; k < 3; k++) await scale(procs, impl, 20, 4, cfg.w4Broadcasts);
    const w4: Record<string, Record<Impl, ScaleResult>> = {};
    for (const place of [procs, inproc]) {
      const res = await both(`W4 ${place.mode}`, (impl) => scale(place, impl, 20, 4, cfg.w4Broadcasts));
      w4[place.mode] = res;
      const what = `N=20, degree 4, ${cfg.w4Broadcasts} broadcasts`;
      rows.push(row({
        workload: 'W4', what, mode: place.mode, variant: variantLabel.plain, metric: 's until all nodes have all',
        rx2p: res.rx2p.seconds, baseline: res.baseline.seconds, better: 'lower', digits: 2,
      }));
      rows.push(row({
        workload: 'W4', what, mode: place.mode, variant: variantLabel.plain, metric: 'frames sent per broadcast',
        rx2p: res.rx2p.framesPerBroadcast, baseline: res.baseline.framesPerBroadcast, better: 'lower', digits: 1,
      }));
      rows.push(row({
        workload: 'W4', what, mode: place.mode, variant: variantLabel.plain, metric: 'missing + duplicate deliveries',
        rx2p: res.rx2p.missing + res.rx2p.duplicateDeliveries, baseline: res.baseline.missing + res.baseline.duplicateDeliveries,
        ratio: null, better: 'lower', target: 'every node gets every broadcast exactly once (0)', met: res.rx2p.exactlyOnce,
      }));
    }
    details.w4 = w4;
  }
  await procs.close();

  // ------------------------------------------------------------ W5: memory
  if (enabled('W5')) {
    const rss: IdleRss[] = [];
    const workerJs = await compileWorker();
    if (!workerJs) log('W5: compiling the worker to JS failed; idle RSS is measured under tsx only');
    for (const runner of cfg.rssRunners) {
      if (runner === 'js' && !workerJs) continue;
      const res = await both(`W5 idle RSS (${runner})`, (impl) => idleRss(runner === 'js' ? { kind: 'js', workerJs: workerJs! } : { kind: 'tsx' }, impl));
      rss.push(res.rx2p, res.baseline);
      rows.push(row({
        workload: 'W5', what: 'idle, 10 peers', mode: 'procs', variant: runner === 'js' ? 'compiled JS (node)' : 'TypeScript (node --import tsx)',
        metric: 'RSS MB per node', rx2p: res.rx2p.meanMB, baseline: res.baseline.meanMB, better: 'lower', digits: 1,
        target: runner === 'js' || !workerJs ? 'rx2p <= 60 MB' : undefined,
        met: runner === 'js' || !workerJs ? res.rx2p.meanMB <= 60 : undefined,
        note: `process with no node yet: ${res.rx2p.floorMB.toFixed(1)} MB`,
      }));
    }
    const inprocRss = cfg.rssInProcess ? await both('W5 idle RSS (one process)', (impl) => idleRssInProcess(impl)) : undefined;
    if (inprocRss) rss.push(inprocRss.rx2p, inprocRss.baseline);
    if (inprocRss) rows.push(row({
      workload: 'W5', what: 'idle, 10 peers (11 nodes)', mode: 'inproc', variant: 'TypeScript (tsx)', metric: 'heap MB added per node',
      rx2p: inprocRss.rx2p.heapMB, baseline: inprocRss.baseline.heapMB, better: 'lower', digits: 2,
      note: 'RSS of the shared process hardly moves; the heap does',
    }));

    // The flood: rx2p and baseline pairs run at the same time (4 processes), to keep
    // the run short; each pair's rate is what it gets while sharing the CPUs.
    const floodPool = new WorkerPool();
    let flood: Record<Impl, FloodCache>;
    try {
      const hs = await floodPool.handles(4);
      log(`W5 flood: ${cfg.w5FloodS} s of unique ids${cfg.w5CacheSize ? `, waterfallCacheSize ${cfg.w5CacheSize}` : ' (default waterfallCacheSize)'}`);
      const [a, b] = await Promise.all([
        floodCache(hs.slice(0, 2), 'rx2p', cfg.w5FloodS, cfg.w5EveryS, cfg.w5CacheSize),
        floodCache(hs.slice(2, 4), 'baseline', cfg.w5FloodS, cfg.w5EveryS),
      ]);
      flood = { rx2p: a, baseline: b };
      log(`W5 flood rx2p: ${JSON.stringify(a.samples)}`);
      log(`W5 flood baseline: ${JSON.stringify(b.samples)}`);
    } finally {
      await floodPool.close();
    }
    const bound = flood.rx2p.bound ?? defaultOptions.waterfallCacheSize;
    const floodWhat = `after a ${cfg.w5FloodS} s flood`;
    rows.push(row({
      workload: 'W5', what: floodWhat, mode: 'procs', variant: `waterfallCacheSize ${bound.toLocaleString('en-US')}${cfg.w5CacheSize ? ' (smaller than the default, for --quick)' : ' (default)'}`,
      metric: 'de-dup ids held', rx2p: flood.rx2p.ids, baseline: flood.baseline.ids, better: 'lower', ratio: null,
      target: `rx2p <= bound (${bound.toLocaleString('en-US')})`, met: flood.rx2p.ids <= bound,
      note: `messages sent: rx2p ${flood.rx2p.sent}, baseline ${flood.baseline.sent} (both floods at once); rx2p re-timed-copy cache: ${flood.rx2p.contents}`,
    }));
    if (flood.rx2p.heapAtBoundMB !== null) {
      rows.push(row({
        workload: 'W5', what: floodWhat, mode: 'procs', variant: `rx2p: ${flood.rx2p.heapAtBoundMB.toFixed(1)} MB when the bound was reached (${flood.rx2p.boundAtS!.toFixed(1)} s)`,
        metric: 'receiver heap MB at the end (after GC)', rx2p: flood.rx2p.heapEndMB, baseline: flood.baseline.heapEndMB, ratio: null, better: 'lower', digits: 1,
        target: 'rx2p flat once bounded (end <= 1.25 x at bound + 2 MB)', met: flood.rx2p.heapEndMB <= flood.rx2p.heapAtBoundMB * 1.25 + 2,
      }));
    }
    const cost = entryCost(defaultOptions.waterfallCacheSize);
    rows.push(row({
      workload: 'W5', what: 'de-dup cache entry', mode: 'inproc', variant: 'measured with 100,000 real keys', metric: 'bytes per entry',
      rx2p: cost.rx2pIdBytes, baseline: cost.baselineBytes, better: 'lower', digits: 0,
      note: `rx2p's re-timed-copy cache: ${cost.rx2pContentBytes.toFixed(0)} B per entry`,
    }));
    rows.push(row({
      workload: 'W5', what: 'de-dup caches at the default bound', mode: '-', variant: `${cost.defaultBound.toLocaleString('en-US')} entries each, both caches full`,
      metric: 'MB', rx2p: cost.defaultBoundMB, baseline: null, better: 'lower', digits: 1,
      note: 'the baseline has no bound',
    }));
    details.w5 = { idleRss: rss, flood: flood!, entryCost: cost };
  }

  const seconds = (Date.now() - started) / 1000;
  console.log(`\nrx2p vs baseline — ${command} — ${date} — ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version} — ${seconds.toFixed(0)} s`);
  console.log('process/node: each node in its own worker process (node --import tsx, IPC for control); one process: all nodes in the bench\'s process.\n');
  console.log(table(rows));
  const missed = rows.filter((r) => r.met === false);
  const where = (r: Row) => (r.mode === 'procs' ? ', process/node' : r.mode === 'inproc' ? ', one process' : '');
  console.log(`\ntargets${quick ? ' (indicative: --quick runs are short and lightly warmed; targets are judged on the full run)' : ''}: ${rows.filter((r) => r.met === true).length} met, ${missed.length} missed${missed.length ? ': ' + missed.map((r) => `${r.workload} ${r.what}${where(r)}, ${r.metric}`).join('; ') : ''}`);

  const meta = { command, date, quick, seconds, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30 };
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ ...meta, rows, details }, null, 2) + '\n');
    log(`wrote ${args.json}`);
  }
  const svgPath = args.svg ?? (quick || only ? undefined : join(benchDir, 'results.svg'));
  const chartRows = rows.filter((r) => ['W1', 'W2', 'W3'].includes(r.workload) && r.variant !== variantLabel.auth);
  if (svgPath && chartRows.length) {
    writeFileSync(svgPath, svgChart(chartRows, 'rx2p vs baseline: W1 throughput, W2 1 MiB payloads, W3 latency', `${command} — ${date} — ${cpus().length} CPUs, node ${process.version}`));
    log(`wrote ${svgPath}`);
  }
  if (args.readme) {
    const met = rows.filter((r) => r.met === true).length;
    const section = [
      '`npm run bench` runs each workload for rx2p and for a baseline written in the bench (bench/baseline.ts): the least a flooding mesh does in Node — plain sockets, ' +
      '4-byte length framing, SHA-384 of the payload as the id, a Set for de-duplication, flooding to the other peers — and prints both with the ratio rx2p / baseline.',
      '',
      `The figures below: \`${command}\`, ${date}, ${cpus().length} CPUs (figures move by ±10–20% between runs), node ${process.version}, ${seconds.toFixed(0)} s. ` +
      '"process/node": each node in its own process; "one process": every node in the bench\'s process. ' +
      `Targets: ${met} met, ${missed.length} missed${missed.length ? ` (${missed.map((r) => `${r.workload} ${r.what}, ${r.mode === 'procs' ? 'process/node' : r.mode === 'inproc' ? 'one process' : ''} ${r.metric}`).join('; ')})` : ''}.`,
      '',
      '![rx2p vs baseline, W1–W3](results.svg)',
      '',
      markdownTable(rows),
      '',
      'How each workload runs, what was changed to get here, and what bounds the figures: the sections below.',
    ].join('\n');
    log(updateReadme(join(benchDir, 'README.md'), section) ? 'updated bench/README.md between the bench markers' : 'bench/README.md has no bench markers: not written');
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await procs.close();
  });
