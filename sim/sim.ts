// The mesh simulation: N real MeshSockets (router, codec, pipelines as deployed) over
// the in-memory transport, in virtual time. Only the sockets and the clock are
// replaced; every choice (who joins whom, who sends, who leaves, latencies) is drawn
// from one seeded PRNG, so that a seed reproduces a run byte for byte.
import { MeshSocket, type MeshOptions } from '../src/index.js';
import type { RouterStats } from '../src/actors/state.js';
import { defaultOptions } from '../src/options.js';
import { REPAIR_SUBFLAG } from '../src/protocol/repair-wire.js';
import { MemoryNetwork, type PartitionMode } from '../src/transport/memory.js';
import { HeapScheduler } from '../src/transport/virtual-scheduler.js';
import { bfs, quantile, round, summary } from './stats.js';
import { hash32, pick, prng, sample } from './prng.js';

export interface PartitionPlan {
  /** Fraction of the nodes cut off from the others. */
  fraction: number;
  /** When it starts and heals, in ms after the first broadcast. */
  startMs: number;
  endMs: number;
  mode: PartitionMode;
}

export interface SimConfig {
  nodes: number;
  broadcasts: number;
  seed: number;
  /** Fraction of the nodes that leave once during the broadcasts and come back (0: none). */
  churn: number;
  /** How long a churned node stays away. */
  churnDowntimeMs: number;
  partition?: PartitionPlan;
  /** One-way latency of a link, drawn per pair of hosts in [min, max] ms. */
  latencyMs: [number, number];
  /** Bandwidth of each direction of a link (bytes/ms); Infinity for none. */
  bytesPerMs: number;
  /** A node joins every joinIntervalMs. */
  joinIntervalMs: number;
  /** Earlier nodes a joining node dials itself; the rest come from peers lists. */
  bootstrap: number;
  /** Quiet time between the last join and the first broadcast. */
  settleMs: number;
  /** One broadcast every broadcastIntervalMs (its window for counting frames). */
  broadcastIntervalMs: number;
  payloadBytes: number;
  /** Repair of missed broadcasts on every node; undefined: the library's default (on). */
  repair?: boolean;
  /**
   * How long the run goes on after the last broadcast, heal or rejoin (whichever is
   * last): long enough for a message's bucket to settle, a repair interval and the
   * exchange's round trips, so that repair has had its chance before delivery is judged.
   */
  tailMs: number;
  /** Extra MeshSocket options (every node). */
  mesh?: MeshOptions;
}

export const defaultConfig: SimConfig = {
  nodes: 100,
  broadcasts: 10,
  seed: 1,
  churn: 0,
  churnDowntimeMs: 5_000,
  latencyMs: [5, 50],
  bytesPerMs: 12_500, // 100 Mbit/s each way
  joinIntervalMs: 20,
  bootstrap: 1,
  settleMs: 15_000,
  broadcastIntervalMs: 2_000,
  payloadBytes: 100,
  tailMs: 15_000,
};

/** Unix seconds at virtual time 0 (message times and ages run from here). */
const EPOCH = 1_767_225_600;

interface SimNode {
  index: number;
  host: string;
  socket: MeshSocket | undefined;
  id: string;
  /** Scheduled leave and return (churn), virtual ms. */
  leaveAt?: number;
  backAt?: number;
}

export interface SimReport {
  config: Omit<SimConfig, 'mesh'>;
  /** Everything here is a function of the config: same seed, same bytes. */
  result: {
    /** Exactly-once deliveries / nodes expected (up for the whole window and in the sender's component at send time). */
    deliveryRatio: number;
    expected: number;
    deliveredOnce: number;
    /** Copies handed to a user beyond the first (must be 0). */
    duplicatesDelivered: number;
    /** Exactly-once deliveries / every node up for the whole window (the sender's component or not). */
    deliveryRatioAllUp: number;
    /**
     * Exactly-once deliveries / nodes up for the message's whole repair window: up when
     * it is sent and until the end of the run (which goes on tailMs after the last
     * broadcast, heal or rejoin), whatever their component. Repair's promise.
     */
    deliveryRatioUpForWindow: number;
    expectedUpForWindow: number;
    /** (node, message) pairs of the up-for-window set with no copy delivered. */
    lostUpForWindow: number;
    /** Whether repair ran on the nodes. */
    repair: boolean;
    /** Messages delivered through repair (asked for and admitted), all nodes. */
    repaired: number;
    /**
     * Repair traffic from the first broadcast to the end of the run: the exchange (whispers
     * with repair's subflag, counted on the wire) and the repaired copies sent (the nodes'
     * stats: repairSent, repairBytes); per node per virtual second over N and that time.
     */
    repairTraffic: {
      controlFrames: number;
      controlBytes: number;
      answerFrames: number;
      answerBytes: number;
      frames: number;
      bytes: number;
      bytesPerNodePerSecond: number;
      framesPerNodePerSecond: number;
    };
    /** Repair's exchange traffic per node per virtual second while no broadcast is sent (the quiet before the first). */
    repairIdleBytesPerNodePerSecond: number;
    /**
     * A broadcast's own frames over the whole run: broadcast/waterfall frames carrying its
     * payload (its flood; with repair, also the copies repair sent and their flood on).
     * Median, mean and max over broadcasts.
     */
    framesPerBroadcast: { median: number; mean: number; max: number };
    /** Every wire frame in each broadcast's window, in order (churn, heals and repair's exchange show here). */
    framesPerWindow: number[];
    bytesPerBroadcast: { median: number; mean: number };
    /** Wire frames after the last window, to the end of the run. */
    tailFrames: number;
    /** Frames per broadcast / nodes. */
    framesPerNode: number;
    /** Hops from the sender to the farthest node of its component (BFS over the routing tables). */
    hopsToFarthest: { median: number; max: number };
    /** Virtual ms from send to a node's delivery, over every expected delivery. */
    deliveryMs: { p50: number; p99: number };
    /** Virtual ms from send to the last expected node's delivery, over broadcasts. */
    fullDeliveryMs: { p50: number; p99: number; max: number };
    /** Routing-table sizes when the broadcasts start, and at the end. */
    connectionsPerNode: { min: number; median: number; max: number; mean: number };
    connectionsPerNodeAtEnd: { min: number; median: number; max: number; mean: number };
    /** Whether every node is reachable from every other over the routing tables. */
    connected: boolean;
    connectedAtEnd: boolean;
    /** Largest component's share of the up nodes, at the end. */
    largestComponentAtEnd: number;
    /** Open connections linking a pair of nodes beyond the first, at the end (the network's count; must be 0). */
    duplicateLinks: number;
    /** Routing-table entries whose other side does not list this node back, at the end. */
    asymmetricLinks: number;
    joinFrames: number;
    joinBytes: number;
    dials: number;
    dialsFailed: number;
    resets: number;
    errors: Record<string, number>;
    virtualMs: number;
    schedulerActions: number;
  };
  /** Depends on the machine and the moment: kept apart from `result`. */
  measured: {
    wallMs: number;
    heapPerNodeBytes: number;
    heapUsedMB: number;
    rssMB: number;
    rssPerNodeKB: number;
    /** The process's peak resident set (maxRSS) at the end of the run. */
    peakRssMB: number;
  };
}

export async function simulate(partial: Partial<SimConfig> = {}): Promise<SimReport> {
  const config: SimConfig = { ...defaultConfig, ...partial };
  const wallStart = performance.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const random = prng(config.seed);
  const sched = new HeapScheduler();
  const [latMin, latMax] = config.latencyMs;
  const latencySeed = hash32(`latency:${config.seed}`);
  // Frames classified on the wire: a broadcast's own (by its payload), repair's exchange.
  const own = Array.from({ length: config.broadcasts }, () => ({ frames: 0, bytes: 0 }));
  const control = { frames: 0, bytes: 0 };
  const onFrame = (head: Uint8Array, size: number) => {
    const kind = classify(head, size);
    if (kind === REPAIR) {
      control.frames++;
      control.bytes += size + 4;
    } else if (kind >= 0 && kind < own.length) {
      own[kind]!.frames++;
      own[kind]!.bytes += size + 4;
    }
  };
  const network = new MemoryNetwork({
    onFrame,
    scheduler: sched,
    bytesPerMs: config.bytesPerMs,
    // Symmetric, fixed per pair of hosts, drawn from the seed.
    latencyMs: (a, b) => {
      const key = a < b ? `${a}|${b}` : `${b}|${a}`;
      return latMin + ((hash32(key) ^ latencySeed) >>> 0) % (latMax - latMin + 1);
    },
  });
  const N = config.nodes;
  const nodes: SimNode[] = Array.from({ length: N }, (_, index) => ({ index, host: `n${index}`, socket: undefined, id: '' }));
  const indexOfId = new Map<string, number>();
  const errors: Record<string, number> = {};
  // counts[b][i]: copies of broadcast b node i's user got; firstAt[b][i]: ms after the send.
  const counts = Array.from({ length: config.broadcasts }, () => new Uint16Array(N));
  const firstAt = Array.from({ length: config.broadcasts }, () => new Float64Array(N).fill(-1));
  const sentAt: number[] = [];
  const filler = 'x'.repeat(Math.max(0, config.payloadBytes - 12));

  // Repair counters of the nodes, from the first broadcast on: those of closed sockets are
  // added when they close, those of live ones at the end; `base` is what they had at t0.
  const repairSum = { sent: 0, bytes: 0, received: 0 };
  const addStats = (st: RouterStats, sign: number) => {
    repairSum.sent += sign * st.repairSent;
    repairSum.bytes += sign * st.repairBytes;
    repairSum.received += sign * st.repairReceived;
  };
  const start = async (node: SimNode): Promise<void> => {
    const socket = new MeshSocket(node.host, 4444, {
      compression: [],
      ...(config.repair === undefined ? {} : { repair: config.repair }),
      ...config.mesh,
      transport: network.transport(node.host),
      scheduler: sched,
      clock: () => EPOCH + Math.floor(sched.now() / 1000),
      userSalt: `sim-${node.index}`,
      random: prng(hash32(`node:${config.seed}:${node.index}`)),
    });
    node.socket = socket;
    socket.messages$.subscribe((m) => {
      const text = m.text(1);
      if (!text?.startsWith('sim:')) return;
      const b = Number.parseInt(text.slice(4), 10);
      const c = counts[b];
      if (!c) return;
      if ((c[node.index] = (c[node.index] ?? 0) + 1) === 1) firstAt[b]![node.index] = sched.now() - sentAt[b]!;
    });
    socket.events$.subscribe((e) => {
      if (e.type !== 'error') return;
      const code = (e.error as { code?: string }).code ?? e.error.name;
      errors[code] = (errors[code] ?? 0) + 1;
    });
    await socket.ready;
    node.id = socket.id;
    indexOfId.set(socket.id, node.index);
  };

  const up = (i: number) => nodes[i]!.socket !== undefined;
  const joinVia = (node: SimNode, candidates: number[]) => {
    for (const j of candidates) {
      const peer = nodes[j]!;
      node.socket!.connect(peer.host, 4444).catch(() => undefined);
    }
  };
  const upNodes = () => nodes.filter((n) => n.socket).map((n) => n.index);

  const adjacency = (): number[][] => nodes.map((n) => {
    if (!n.socket) return [];
    const out: number[] = [];
    for (const id of n.socket.routingTable.keys()) {
      const j = indexOfId.get(id);
      if (j !== undefined && up(j)) out.push(j);
    }
    return out;
  });

  const graphFacts = () => {
    const adj = adjacency();
    const alive = upNodes();
    const degrees = alive.map((i) => adj[i]!.length);
    const seen = new Set<number>();
    let largest = 0;
    let components = 0;
    for (const i of alive) {
      if (seen.has(i)) continue;
      components++;
      const comp = bfs(adj, i, up);
      for (const k of comp.keys()) seen.add(k);
      largest = Math.max(largest, comp.size);
    }
    let asymmetric = 0;
    for (const i of alive) {
      for (const j of adj[i]!) if (!adj[j]!.includes(i)) asymmetric++;
    }
    // A routing table is keyed by id, so a pair linked twice shows in the network only.
    const duplicateLinks = network.duplicatePairs();
    return { adj, degrees: summary(degrees), connected: components <= 1, largest: alive.length ? largest / alive.length : 0, asymmetric, duplicateLinks };
  };

  // ---- joins: node i comes up at i * joinIntervalMs and dials `bootstrap` random earlier nodes.
  for (let i = 0; i < N; i++) {
    await sched.runUntil(i * config.joinIntervalMs);
    const node = nodes[i]!;
    await start(node);
    if (i > 0) joinVia(node, sample(random, i, Math.min(config.bootstrap, i)));
  }
  const t0 = N * config.joinIntervalMs + config.settleMs;
  await sched.runUntil(N * config.joinIntervalMs);
  const controlAtSettle = control.bytes;
  await sched.runUntil(t0);
  const atStart = graphFacts();
  const joinFrames = network.counters.frames;
  const joinBytes = network.counters.bytes;
  network.resetCounters();
  // The quiet before the first broadcast: repair's exchange at idle (the last settleMs).
  const idleControlBytes = control.bytes - controlAtSettle;
  control.frames = control.bytes = 0;
  for (const n of nodes) if (n.socket) addStats(n.socket.stats, -1);

  // ---- plan churn and the partition (all drawn before the first broadcast).
  const windowMs = config.broadcastIntervalMs;
  const phaseMs = config.broadcasts * windowMs;
  const events: Array<{ at: number; run: () => Promise<void> | void }> = [];
  const churned = sample(random, N, Math.round(config.churn * N));
  for (const i of churned) {
    const node = nodes[i]!;
    node.leaveAt = t0 + Math.floor(random() * Math.max(1, phaseMs - config.churnDowntimeMs - windowMs));
    node.backAt = node.leaveAt + config.churnDowntimeMs;
    events.push({ at: node.leaveAt, run: () => {
      const s = node.socket!;
      node.socket = undefined;
      addStats(s.stats, 1);
      void s.close();
    } });
    events.push({ at: node.backAt, run: async () => {
      await start(node);
      const others = upNodes().filter((j) => j !== i);
      if (others.length) joinVia(node, [others[pick(random, others.length)]!]);
    } });
  }
  const p = config.partition;
  if (p) {
    const cut = new Set(sample(random, N, Math.round(p.fraction * N)).map((i) => nodes[i]!.host));
    events.push({ at: t0 + p.startMs, run: () => network.partition([cut], p.mode) });
    events.push({ at: t0 + p.endMs, run: () => network.heal() });
  }
  const sends: Array<{ b: number; at: number }> = [];
  for (let b = 0; b < config.broadcasts; b++) sends.push({ b, at: t0 + b * windowMs });

  // ---- broadcasts, one per window, with the events between them in time order.
  const windows: Array<{ frames: number; bytes: number }> = [];
  const expectedSets: number[][] = [];
  const stableUp: number[][] = [];
  const upForWindow: number[][] = [];
  const hops: number[] = [];
  const stable = (i: number, from: number, to: number) => {
    const n = nodes[i]!;
    if (!n.socket) return false;
    return n.leaveAt === undefined || n.leaveAt >= to || (n.backAt !== undefined && n.backAt <= from && n.leaveAt < from);
  };
  const timeline = [...events.map((e) => ({ at: e.at, kind: 0, e })), ...sends.map((s) => ({ at: s.at, kind: 1, s }))]
    .sort((x, y) => x.at - y.at || x.kind - y.kind);
  let windowMark = { frames: 0, bytes: 0 };
  const closeWindow = () => {
    windows.push({ frames: network.counters.frames - windowMark.frames, bytes: network.counters.bytes - windowMark.bytes });
    windowMark = { frames: network.counters.frames, bytes: network.counters.bytes };
  };
  // A window ends where the next begins, before whatever else happens at that instant
  // (a partition starting with a broadcast belongs to that broadcast's window).
  let started = 0;
  const closeDue = (at: number) => {
    while (windows.length < started && t0 + (windows.length + 1) * windowMs <= at) closeWindow();
  };
  for (const item of timeline) {
    await sched.runUntil(item.at);
    closeDue(item.at);
    if ('e' in item && item.e) {
      await item.e.run();
      continue;
    }
    const { b, at } = (item as { s: { b: number; at: number } }).s;
    const candidates = upNodes().filter((i) => stable(i, at, at + windowMs));
    const sender = candidates[pick(random, candidates.length)]!;
    const comp = bfs(adjacency(), sender, up);
    hops.push(Math.max(...comp.values()));
    const steady = candidates.filter((i) => i !== sender);
    stableUp.push(steady);
    // Up now and to the end of the run: never leaving after this instant (a node leaves once).
    upForWindow.push(upNodes().filter((i) => i !== sender && (nodes[i]!.leaveAt === undefined || nodes[i]!.leaveAt! < at)));
    expectedSets.push(steady.filter((i) => comp.has(i)));
    sentAt[b] = sched.now();
    nodes[sender]!.socket!.send(`sim:${b}:${filler}`);
    started++;
  }
  await sched.runUntil(t0 + phaseMs);
  closeDue(t0 + phaseMs);
  // The tail: after the last broadcast, heal or rejoin, repair gets its interval and round trips.
  const lastEvent = Math.max(t0 + phaseMs, ...events.map((e) => e.at));
  const endAt = lastEvent + config.tailMs;
  await sched.runUntil(endAt);
  const tailFrames = network.counters.frames - windowMark.frames;
  const atEnd = graphFacts();
  for (const n of nodes) if (n.socket) addStats(n.socket.stats, 1);

  // ---- results
  let expected = 0;
  let once = 0;
  let dupes = 0;
  let allUp = 0;
  let onceAllUp = 0;
  let windowUp = 0;
  let onceWindowUp = 0;
  let lostWindowUp = 0;
  const delays: number[] = [];
  const full: number[] = [];
  for (let b = 0; b < config.broadcasts; b++) {
    const c = counts[b]!;
    for (let i = 0; i < N; i++) if (c[i]! > 1) dupes += c[i]! - 1;
    let last = 0;
    let complete = true;
    for (const i of expectedSets[b]!) {
      expected++;
      if (c[i] === 1) once++;
      if (c[i]! >= 1) {
        delays.push(firstAt[b]![i]!);
        last = Math.max(last, firstAt[b]![i]!);
      } else complete = false;
    }
    if (complete) full.push(last);
    for (const i of stableUp[b]!) {
      allUp++;
      if (c[i] === 1) onceAllUp++;
    }
    for (const i of upForWindow[b]!) {
      windowUp++;
      if (c[i] === 1) onceWindowUp++;
      if (c[i] === 0) lostWindowUp++;
    }
  }
  delays.sort((a, b) => a - b);
  full.sort((a, b) => a - b);
  const frames = own.map((w) => w.frames).sort((a, b) => a - b);
  const bytes = own.map((w) => w.bytes).sort((a, b) => a - b);
  const seconds = (endAt - t0) / 1000;
  const repairFrames = control.frames + repairSum.sent;
  const repairBytes = control.bytes + repairSum.bytes;
  const sortedHops = [...hops].sort((a, b) => a - b);
  const errorCodes = Object.fromEntries(Object.entries(errors).sort(([a], [b]) => a.localeCompare(b)));
  const result: SimReport['result'] = {
    deliveryRatio: round(expected ? once / expected : 1, 5),
    expected,
    deliveredOnce: once,
    duplicatesDelivered: dupes,
    deliveryRatioAllUp: round(allUp ? onceAllUp / allUp : 1, 5),
    deliveryRatioUpForWindow: round(windowUp ? onceWindowUp / windowUp : 1, 5),
    expectedUpForWindow: windowUp,
    lostUpForWindow: lostWindowUp,
    repair: config.mesh?.repair ?? config.repair ?? defaultOptions.repair,
    repaired: repairSum.received,
    repairTraffic: {
      controlFrames: control.frames,
      controlBytes: control.bytes,
      answerFrames: repairSum.sent,
      answerBytes: repairSum.bytes,
      frames: repairFrames,
      bytes: repairBytes,
      bytesPerNodePerSecond: round(repairBytes / N / seconds, 1),
      framesPerNodePerSecond: round(repairFrames / N / seconds, 3),
    },
    repairIdleBytesPerNodePerSecond: round(idleControlBytes / N / (config.settleMs / 1000), 1),
    framesPerBroadcast: { median: quantile(frames, 0.5), mean: round(frames.reduce((a, b) => a + b, 0) / Math.max(1, frames.length), 1), max: frames[frames.length - 1] ?? 0 },
    framesPerWindow: windows.map((w) => w.frames),
    bytesPerBroadcast: { median: quantile(bytes, 0.5), mean: round(bytes.reduce((a, b) => a + b, 0) / Math.max(1, bytes.length), 1) },
    tailFrames,
    framesPerNode: round(quantile(frames, 0.5) / N, 3),
    hopsToFarthest: { median: quantile(sortedHops, 0.5), max: sortedHops[sortedHops.length - 1] ?? 0 },
    deliveryMs: { p50: quantile(delays, 0.5), p99: quantile(delays, 0.99) },
    fullDeliveryMs: { p50: quantile(full, 0.5), p99: quantile(full, 0.99), max: full[full.length - 1] ?? NaN },
    connectionsPerNode: atStart.degrees,
    connectionsPerNodeAtEnd: atEnd.degrees,
    connected: atStart.connected,
    connectedAtEnd: atEnd.connected,
    largestComponentAtEnd: round(atEnd.largest, 5),
    duplicateLinks: atEnd.duplicateLinks,
    asymmetricLinks: atEnd.asymmetric,
    joinFrames,
    joinBytes,
    dials: network.counters.dials,
    dialsFailed: network.counters.dialsFailed,
    resets: network.counters.resets,
    errors: errorCodes,
    virtualMs: sched.now(),
    schedulerActions: sched.executed,
  };

  gc?.();
  const mem = process.memoryUsage();
  const measured: SimReport['measured'] = {
    wallMs: Math.round(performance.now() - wallStart),
    heapPerNodeBytes: Math.round((mem.heapUsed - heapBefore) / N),
    heapUsedMB: round(mem.heapUsed / 2 ** 20, 1),
    rssMB: round(mem.rss / 2 ** 20, 1),
    rssPerNodeKB: round(mem.rss / 1024 / N, 1),
    peakRssMB: round(process.resourceUsage().maxRSS / 1024, 1),
  };

  // ---- close every node (their connections end in virtual time)
  let open = 0;
  for (const n of nodes) {
    if (!n.socket) continue;
    open++;
    void n.socket.close().then(() => { open--; });
    n.socket = undefined;
  }
  await sched.runUntil(sched.now() + 60_000, () => open === 0);
  const { mesh: _mesh, ...plain } = config;
  return { config: plain, result, measured };
}

/** onFrame's class for repair's exchange (a whisper with repair's subflag). */
const REPAIR = -2;
const SIM_PREFIX = Buffer.from('sim:');
const REPAIR_BYTES = Buffer.from(REPAIR_SUBFLAG);

/**
 * What a frame (uncompressed: the simulation negotiates no compression) carries: the
 * number of the simulated broadcast whose payload it is (a broadcast or waterfall frame),
 * REPAIR for repair's exchange, -1 for anything else. The body is the packets' 4-byte
 * lengths, then the packets: [type, sender, id, time, subflag, payload...].
 */
export function classify(head: Uint8Array, size: number): number {
  const b = Buffer.from(head.buffer, head.byteOffset, head.length);
  const lens: number[] = [];
  let off = 0;
  let rest = size;
  while (off < rest) {
    if (off + 4 > b.length || lens.length > 32) return -1;
    const len = b.readUInt32BE(off);
    off += 4;
    rest -= len;
    lens.push(len);
  }
  if (off !== rest || lens.length < 5) return -1;
  const at = (k: number) => {
    let p = off;
    for (let j = 0; j < k; j++) p += lens[j]!;
    return p;
  };
  const type = b.toString('latin1', off, Math.min(b.length, off + lens[0]!));
  if (type === 'whisper') {
    const p = at(4);
    return lens[4] === REPAIR_BYTES.length && b.subarray(p, p + lens[4]!).equals(REPAIR_BYTES) ? REPAIR : -1;
  }
  if ((type !== 'broadcast' && type !== 'waterfall') || lens.length < 6) return -1;
  const p = at(5);
  const end = Math.min(b.length, p + lens[5]!);
  if (p + 4 > end || !b.subarray(p, p + 4).equals(SIM_PREFIX)) return -1;
  const colon = b.subarray(0, end).indexOf(0x3a, p + 4);
  if (colon < 0) return -1;
  return Number.parseInt(b.toString('latin1', p + 4, colon), 10);
}
