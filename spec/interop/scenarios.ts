// The live scenarios with py2p 0.2, shared by spec/interop/live-soak.spec.ts (short, when
// PY2P_SRC is set) and spec/interop/soak-run.ts (the long acceptance runs).
import { LiveDir, Py2pNode, Rx2pNode } from './live.js';

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface PairResult {
  encryption: string;
  seconds: number;
  py2pExceptions: string[];
  /** rx2p ids py2p's routing table lost, and py2p ids rx2p lost. */
  py2pLost: number;
  rx2pLost: number;
  /** Broadcasts each side sent, and what the other delivered (missing, duplicated). */
  sentEach: number;
  atPy2p: { missing: number; duplicated: number };
  atRx2p: { missing: number; duplicated: number };
}

/** One rx2p node dialled into one py2p node, kept `seconds`, a broadcast each way every 2 s. */
export async function pairScenario(src: string, encryption: 'Plaintext' | 'SSL', seconds: number): Promise<PairResult> {
  const live = new LiveDir(src);
  const nodes: Array<Py2pNode | Rx2pNode> = [];
  try {
    const p = await Py2pNode.start(live.dir, 'p', encryption);
    nodes.push(p);
    const r = await Rx2pNode.start('r', ['--connect', `127.0.0.1:${p.port}`, ...(encryption === 'SSL' ? ['--ssl'] : [])]);
    nodes.push(r);
    await p.until(() => (p.peers.has(r.id) ? true : undefined), 20_000, 'py2p sees rx2p');
    await r.proc.until(() => (r.peers.has(p.id) ? true : undefined), 20_000, 'rx2p sees py2p');
    const end = Date.now() + seconds * 1000;
    let n = 0;
    while (Date.now() < end) {
      p.send(`p-${n}`);
      r.send(`r-${n}`);
      n++;
      await pause(Math.min(2_000, Math.max(0, end - Date.now())));
    }
    // Let the last ones arrive.
    const atP = () => new Set(p.records.filter((x) => x.type === 'message').map((x) => (x.packets as string[])[0]));
    await p.until(() => (atP().has(`r-${n - 1}`) ? true : undefined), 10_000, 'last rx2p broadcast at py2p').catch(() => undefined);
    await r.proc.until(() => (r.deliveries().has(`p-${n - 1}`) ? true : undefined), 10_000, 'last py2p broadcast at rx2p').catch(() => undefined);
    const countAt = (got: Map<string, number>, prefix: string) => {
      let missing = 0, duplicated = 0;
      for (let i = 0; i < n; i++) {
        const c = got.get(`${prefix}-${i}`) ?? 0;
        if (c === 0) missing++;
        if (c > 1) duplicated++;
      }
      return { missing, duplicated };
    };
    const pGot = new Map<string, number>();
    for (const x of p.records) if (x.type === 'message') { const t = (x.packets as string[])[0]!; pGot.set(t, (pGot.get(t) ?? 0) + 1); }
    return {
      encryption, seconds,
      py2pExceptions: p.exceptions.map((e) => String(e.traceback ?? e.error)),
      py2pLost: p.peersLost.length,
      rx2pLost: r.disconnects.length,
      sentEach: n,
      atPy2p: countAt(pGot, 'r'),
      atRx2p: countAt(r.deliveries(), 'p'),
    };
  } finally {
    for (const x of nodes) await (x instanceof Py2pNode ? x.quit() : x.stop());
    live.remove();
  }
}

export interface MixedOptions {
  encryption: 'Plaintext' | 'SSL';
  /** Broadcasts from every node. */
  perNode: number;
  /** Between two broadcasts of one node. */
  intervalMs: number;
  /** How long the restarted rx2p node stays down. */
  downMs: number;
  catchUpSeconds: number;
}

export interface IncarnationResult {
  node: string;
  /** Messages sent by others while this incarnation was up (from its first peer to its end), delivered 0 times. */
  lost: number;
  expected: number;
  /** Broadcast texts this incarnation delivered more than once, with the times each copy carried. */
  duplicates: Array<{ text: string; times: number[]; ids: string[] }>;
  disconnects: string[];
  /** Errors the node reported (code: count), peers' misdeeds included. */
  errors: Record<string, number>;
}

export interface Py2pException {
  node: string;
  /** The peer py2p was reading from or writing to (first 12 characters of its id). */
  peer: string;
  /** True where that peer is the node the test killed: a write to it failed. */
  killed: boolean;
  /** 'daemon': in py2p's daemon.exceptions; 'call': raised by a user call (send()) on py2p. */
  where: 'daemon' | 'call';
  error: string;
  traceback: string;
  /** When the harness read it (ms since the epoch). */
  at?: number;
}

export interface MixedResult {
  options: MixedOptions;
  seconds: number;
  /** py2p's exceptions that the test's kill does not explain (none expected). */
  py2pExceptions: Py2pException[];
  /** Those the kill explains: py2p's write to the killed node, and its send() iterating the routing table its own failed write changed. */
  py2pExceptionsFromKill: Py2pException[];
  /** py2p routing-table losses of peers other than the killed node. */
  py2pUnexpectedLost: number;
  /** Which peers each py2p node lost (first 12 characters of their ids; r#1 is expected). */
  py2pLostPeers: Record<string, string[]>;
  rx2p: IncarnationResult[];
  /** What py2p nodes delivered of the others' broadcasts (not asked of py2p 0.2: its waterfall drops fresh relays). */
  py2pDelivered: Record<string, number>;
  /** py2p's relays of messages 5 s old or more (dated anew: copies under new ids), by flag and age. */
  py2pLateRelays: Record<string, number>;
}

/**
 * Three rx2p nodes (a, b, r) and two py2p nodes (p, q): a listens; p and q listen; b dials
 * a and p; r dials a and q; q dials p. Every node broadcasts `perNode` texts, paced; half-way
 * r is killed (SIGKILL), down for downMs, and started again with --catch-up.
 */
export async function mixedScenario(src: string, o: MixedOptions): Promise<MixedResult> {
  const live = new LiveDir(src);
  const started = Date.now();
  const ssl = o.encryption === 'SSL' ? ['--ssl'] : [];
  const all: Array<Py2pNode | Rx2pNode> = [];
  try {
    const p = await Py2pNode.start(live.dir, 'p', o.encryption);
    const q = await Py2pNode.start(live.dir, 'q', o.encryption);
    all.push(p, q);
    q.connect(p.port);
    const a = await Rx2pNode.start('a', [...ssl]);
    all.push(a);
    const b = await Rx2pNode.start('b', ['--connect', `127.0.0.1:${a.port}`, '--connect', `127.0.0.1:${p.port}`, ...ssl]);
    all.push(b);
    const rArgs = ['--connect', `127.0.0.1:${a.port}`, '--connect', `127.0.0.1:${q.port}`, ...ssl];
    let r = await Rx2pNode.start('r', rArgs);
    all.push(r);
    const rx = () => [a, b, r];
    await b.proc.until(() => (b.peers.size >= 2 ? true : undefined), 20_000, 'b joined');
    await r.proc.until(() => (r.peers.size >= 2 ? true : undefined), 20_000, 'r joined');
    await pause(1_000);
    // Sends, stamped: text -> [sender name, time sent].
    const sent = new Map<string, { from: string; at: number }>();
    const senders: Array<[string, (t: string) => void]> = [
      ['a', (t) => a.send(t)], ['b', (t) => b.send(t)], ['r', (t) => r.send(t)], ['p', (t) => p.send(t)], ['q', (t) => q.send(t)],
    ];
    const incarnations: Array<{ name: string; node: Rx2pNode; upAt: number; downAt: number }> = [];
    const firstPeerAt = () => Date.now();
    incarnations.push({ name: 'a', node: a, upAt: firstPeerAt(), downAt: Infinity });
    incarnations.push({ name: 'b', node: b, upAt: firstPeerAt(), downAt: Infinity });
    const r1 = { name: 'r#1', node: r, upAt: firstPeerAt(), downAt: Infinity };
    incarnations.push(r1);
    let rDown = false;
    for (let i = 0; i < o.perNode; i++) {
      for (const [name, send] of senders) {
        if (name === 'r' && rDown) continue;
        const text = `${name}-${i}`;
        sent.set(text, { from: name, at: Date.now() });
        send(text);
      }
      if (i === Math.floor(o.perNode / 2)) {
        // r's last broadcast reaches a before r is killed; what others sent in r's last
        // 2 s may still be on its way to r, so r#1 is not asked for it.
        rDown = true;
        const last = `r-${i}`;
        await a.proc.until(() => (a.deliveries().has(last) ? true : undefined), 10_000, `${last} at a`).catch(() => undefined);
        r1.downAt = Date.now() - 2_000;
        await r.kill();
        const back = Date.now() + o.downMs;
        void (async () => {
          await pause(Math.max(0, back - Date.now()));
          const r2 = await Rx2pNode.start('r', [...rArgs, '--catch-up', String(o.catchUpSeconds)]);
          all.push(r2);
          await r2.proc.until(() => (r2.peers.size >= 1 ? true : undefined), 20_000, 'r again joined');
          incarnations.push({ name: 'r#2', node: r2, upAt: Date.now(), downAt: Infinity });
          senders[2] = ['r', (t) => r2.send(t)];
          r = r2;
          rDown = false;
        })();
      }
      await pause(o.intervalMs);
    }
    // Quiet: until no rx2p node delivered anything for 5 s (or 120 s at most).
    const total = () => incarnations.reduce((n, x) => n + x.node.records.length, 0);
    let last = total(), quietSince = Date.now();
    const giveUp = Date.now() + 120_000;
    while (Date.now() - quietSince < 5_000 && Date.now() < giveUp) {
      await pause(500);
      if (total() !== last) { last = total(); quietSince = Date.now(); }
    }
    const result: IncarnationResult[] = [];
    for (const inc of incarnations) {
      const got = new Map<string, Array<{ time: number; id: string }>>();
      for (const rec of inc.node.records) {
        if (rec.type !== 'message') continue;
        const t = (rec.packets as string[])[0] ?? '';
        got.set(t, [...(got.get(t) ?? []), { time: rec.time as number, id: rec.id as string }]);
      }
      let lost = 0, expected = 0;
      const me = inc.name[0]!;
      for (const [text, s] of sent) {
        if (s.from === me || s.at < inc.upAt || s.at > inc.downAt) continue;
        expected++;
        if (!got.has(text)) lost++;
      }
      const duplicates = [...got].filter(([, c]) => c.length > 1).map(([text, c]) => ({ text, times: c.map((x) => x.time), ids: c.map((x) => x.id.slice(0, 12)) }));
      const errors: Record<string, number> = {};
      for (const rec of inc.node.records) if (rec.type === 'error') errors[`${String(rec.code)}: ${String(rec.message).slice(0, 80)}`] = (errors[`${String(rec.code)}: ${String(rec.message).slice(0, 80)}`] ?? 0) + 1;
      result.push({ node: inc.name, lost, expected, duplicates, disconnects: inc.node.disconnects.map((d) => d.slice(0, 12)), errors });
    }
    const rIds = new Set(incarnations.filter((x) => x.name.startsWith('r')).map((x) => x.node.id));
    const names = new Map<string, string>([...incarnations.map((x) => [x.node.id, x.name] as [string, string]), [p.id, 'p'], [q.id, 'q']]);
    const py2pDelivered: Record<string, number> = {};
    for (const n of [p, q]) py2pDelivered[n.name] = n.records.filter((x) => x.type === 'message').length;
    void rx;
    return {
      options: o,
      seconds: Math.round((Date.now() - started) / 1000),
      ...classify([p, q], rIds, r1.downAt + 2_000),
      // A peer py2p drops in the turn where an exception the kill explains stopped its loop
      // (mainloop drops the peer whose frame it was handling) is the kill's doing too.
      py2pUnexpectedLost: [p, q].reduce((k, n) => k + n.records.filter((x) => x.type === 'peer-down' && !rIds.has(x.id as string) && !nearKillException(n, x.at, r1.downAt + 2_000)).length, 0),
      py2pLostPeers: Object.fromEntries([p, q].map((n) => [n.name, n.records.filter((x) => x.type === 'peer-down').map((x) => `${names.get(x.id as string) ?? String(x.id).slice(0, 12)} at ${((x.at - r1.downAt - 2_000) / 1000).toFixed(1)} s from the kill`)])),
      rx2p: result,
      py2pDelivered,
      py2pLateRelays: lateRelays([p, q]),
    };
  } finally {
    for (const x of all) await (x instanceof Py2pNode ? x.quit() : x.stop());
    live.remove();
  }
}

/**
 * Splits py2p's exceptions into those the kill explains and the rest: a failed write to
 * the killed node (py2p records it, then drops the peer), and, within 10 s of the kill,
 * py2p's send() or waterfall() stopping with "dictionary changed size during iteration"
 * because that failed write removed the peer from the routing table it was iterating.
 */
function classify(nodes: Py2pNode[], killed: Set<string>, killedAt: number): { py2pExceptions: Py2pException[]; py2pExceptionsFromKill: Py2pException[] } {
  const out = { py2pExceptions: [] as Py2pException[], py2pExceptionsFromKill: [] as Py2pException[] };
  for (const n of nodes) {
    for (const e of n.exceptions) {
      const tb = String(e.traceback ?? '');
      const peer = String(e.peer ?? '');
      const x: Py2pException = { node: n.name, peer: peer.slice(0, 12), killed: killed.has(peer), where: e.type === 'exception' ? 'daemon' : 'call', error: String(e.error), traceback: tb, at: e.at };
      const writeToKilled = x.killed && e.in === 'send';
      const iteration = /dictionary changed size during iteration/.test(tb) && e.at >= killedAt && e.at < killedAt + 10_000;
      (writeToKilled || iteration ? out.py2pExceptionsFromKill : out.py2pExceptions).push(x);
    }
  }
  return out;
}

function lateRelays(nodes: Py2pNode[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    for (const r of n.records) {
      if (r.type !== 'late-relay') continue;
      const age = Number(r.age);
      const k = `${n.name} ${String(r.flag)} age ${age >= 60 ? '>=60' : age >= 30 ? '30-59' : '5-29'} s`;
      out[k] = (out[k] ?? 0) + 1;
    }
  }
  return out;
}

/** True where `node` recorded, within 1 s before `at`, an exception the kill explains. */
function nearKillException(node: Py2pNode, at: number, killedAt: number): boolean {
  const { py2pExceptionsFromKill } = classify([node], new Set(), killedAt);
  return py2pExceptionsFromKill.some((e) => e.at !== undefined && e.at <= at + 100 && e.at >= at - 1_000);
}
