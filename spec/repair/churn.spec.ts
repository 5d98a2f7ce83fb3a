// Churn with repair: ten nodes on loopback, closed and restarted at random while they
// broadcast (as spec/hostile/churn.spec.ts), every node with repair on.
//
// How delivery is measured. A broadcast counts if its sender stayed up SETTLE_MS after
// sending it. It is expected at every other node that was up when it was sent and stayed
// up to the end: a node up for the message's whole repair window (the window, 60 s, is
// longer than the run). Where it was at send time in the mesh does not matter: at the end
// every node that is up dials one of them (a heal: churn can leave a node isolated, and
// nothing repairs across no link), and repair must then bring every expected delivery,
// each exactly once. Nodes that came up after a broadcast was sent must not get it
// (restarted nodes keep their id and port, and get no history).
//
// npm test runs it for 5 s; RX2P_SOAK=1 runs it for 30 s.
import { prng } from '../prng.js';
import { expect } from 'chai';
import { MeshSocket, type MeshOptions } from '../../src/index.js';
import { activeResources, leakedResources, waitFor } from '../helpers.js';

const SOAK = process.env.RX2P_SOAK === '1';
const DURATION_MS = SOAK ? 30_000 : 5_000;
const NODES = 10;
const MIN_UP = 4;
const SETTLE_MS = 1_500;

interface Instance {
  slot: number;
  node: MeshSocket;
  upAt: number;
  downAt: number | undefined;
  got: Map<string, number>;
}

interface Sent {
  tag: string;
  sender: Instance;
  at: number;
}


describe('churn with repair: nodes closed and restarted at random while broadcasting', function () {
  this.timeout(DURATION_MS + 60_000);
  const all: Instance[] = [];

  afterEach(async () => {
    await Promise.all(all.map((i) => i.node.close()));
    all.length = 0;
  });

  it(`delivers every broadcast, exactly once, to every node up from its sending to the end (${DURATION_MS / 1000} s)`, async function () {
    const seed = Number(process.env.RX2P_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
    await Promise.resolve(); // baseline after mocha armed its timer, as in the check below
    const baseline = activeResources();
    const crashes: unknown[] = [];
    const onCrash = (e: unknown) => { crashes.push(e); };
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);

    const ports: number[] = new Array(NODES).fill(0);
    const current: Array<Instance | undefined> = new Array(NODES).fill(undefined);
    const options = (slot: number): MeshOptions => ({
      // The same salt and port give a restarted node its old id, so its dialling peers
      // find it again by reconnecting.
      userSalt: `churn-${slot}`, sweepIntervalMs: 100, reconnectIntervalMs: 200, handshakeTimeoutMs: 2_000, repairIntervalMs: 300,
    });

    async function start(slot: number): Promise<Instance> {
      let node: MeshSocket;
      try {
        node = await MeshSocket.create('127.0.0.1', ports[slot]!, options(slot));
      } catch {
        node = await MeshSocket.create('127.0.0.1', 0, options(slot)); // the old port was taken meanwhile
      }
      ports[slot] = node.outAddr[1];
      const inst: Instance = { slot, node, upAt: Date.now(), downAt: undefined, got: new Map() };
      node.messages$.subscribe((m) => {
        const t = m.packets[1]!.toString();
        inst.got.set(t, (inst.got.get(t) ?? 0) + 1);
      });
      all.push(inst);
      current[slot] = inst;
      return inst;
    }

    async function stop(inst: Instance): Promise<void> {
      inst.downAt = Date.now();
      current[inst.slot] = undefined;
      await inst.node.close();
    }

    const up = () => current.filter((i): i is Instance => i !== undefined);

    // A connected start: each node joins a random earlier one.
    for (let slot = 0; slot < NODES; slot++) {
      const inst = await start(slot);
      if (slot > 0) {
        const target = pick(up().filter((i) => i !== inst));
        await inst.node.connect('127.0.0.1', target.node.outAddr[1]);
      }
    }
    await waitFor(() => up().every((i) => i.node.routingTable.size > 0), 5_000, 'initial mesh');

    const sent: Sent[] = [];
    let closes = 0;
    let restarts = 0;
    let serial = 0;
    const end = Date.now() + DURATION_MS;
    while (Date.now() < end) {
      const r = random();
      const live = up();
      if (r < 0.08 && live.length > MIN_UP) {
        await stop(pick(live));
        closes++;
      } else if (r < 0.16 && live.length < NODES) {
        const slot = pick([...current.keys()].filter((s) => current[s] === undefined));
        const inst = await start(slot);
        const target = pick(up().filter((i) => i !== inst));
        inst.node.connect('127.0.0.1', target.node.outAddr[1]).catch(() => undefined);
        restarts++;
      } else {
        const sender = pick(live);
        const tag = `churn-${seed}-${++serial}`;
        sent.push({ tag, sender, at: Date.now() });
        sender.node.send(tag);
      }
      // Pace the workload (about 40 actions a second), letting sockets and sweeps run.
      await new Promise((res) => setTimeout(res, 25));
    }

    const stayedUp = (i: Instance, from: number) => i.upAt <= from && (i.downAt === undefined || i.downAt >= from + SETTLE_MS);
    const counted = sent.filter((s) => stayedUp(s.sender, s.at));
    const last = up();
    const expected = counted.flatMap((s) => last.filter((i) => i !== s.sender && i.upAt <= s.at).map((i) => ({ s, i })));
    // The heal: every node that is up dials the first of them.
    const hub = last[0]!;
    await Promise.all(last.slice(1).map((i) => i.node.connect('127.0.0.1', hub.node.outAddr[1]).catch(() => undefined)));
    const healedAt = Date.now();
    await waitFor(() => expected.every(({ s, i }) => i.got.has(s.tag)), 15_000, 'every expected delivery').catch(() => undefined);
    const tookMs = Date.now() - healedAt;
    // A few more intervals, for duplicates to show if there were any.
    await new Promise((res) => setTimeout(res, 1_000));
    const misses = expected.filter(({ s, i }) => !i.got.has(s.tag));
    const delivered = expected.length - misses.length;
    const duplicates = all.flatMap((i) => [...i.got].filter(([, n]) => n > 1).map(([t, n]) => `${t}x${n}@${i.slot}`));
    const tags = new Map(sent.map((s) => [s.tag, s]));
    // History: a broadcast delivered to a node that came up more than 3 s after it was sent
    // (the horizon's slack of 2 s, and message times are whole seconds).
    const history = all.flatMap((i) => [...i.got.keys()].filter((t) => (tags.get(t)?.at ?? Infinity) < i.upAt - 3_000).map((t) => `${t}@${i.slot}: ${i.upAt - tags.get(t)!.at} ms`));
    const repaired = all.reduce((n, i) => n + i.node.stats.repairReceived, 0);
    console.log(`      churn with repair (seed ${seed}): ${sent.length} broadcasts (${counted.length} counted), ${closes} closes, ${restarts} restarts; `
      + `expected deliveries ${expected.length}, delivered ${delivered} (${repaired} by repair, all there ${tookMs} ms after the heal), misses ${misses.length}, duplicates ${duplicates.length}, history ${history.length}`);
    for (const { s, i } of misses.slice(0, 10)) {
      console.log(`        miss: ${s.tag} from slot ${s.sender.slot} to slot ${i.slot} (sent ${s.at - i.upAt} ms after it came up)`);
    }

    await Promise.all(all.map((i) => i.node.close()));
    all.length = 0;
    await waitFor(() => Object.keys(leakedResources(baseline)).length === 0, 3_000, 'handles released')
      .catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(leakedResources(baseline))}`); });
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    expect(crashes).to.deep.equal([]);
    expect(sent.length).to.be.greaterThan(0);
    expect(misses.map(({ s, i }) => `${s.tag}→${i.slot}`)).to.deep.equal([]);
    expect(duplicates).to.deep.equal([]);
    expect(history).to.deep.equal([]);
  });
});
