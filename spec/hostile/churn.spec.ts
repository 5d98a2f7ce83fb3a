// Churn: ten nodes on loopback, closed and restarted at random while they broadcast.
//
// How delivery is measured. At each send the test snapshots the connectivity graph from
// the routing tables: an edge u→v when u's routing table holds v's id and v is up (u
// floods to every peer in its table). Once the run is over, a broadcast is expected at
// every node reachable from the sender through nodes that stayed up from the send until
// SETTLE_MS after it (a node that went down meanwhile may have taken the message with it,
// and so may a sender that closed right after sending: such broadcasts are not counted).
// The check is that every expected delivery happened.
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
  got: Set<string>;
}

interface Sent {
  tag: string;
  sender: Instance;
  at: number;
  /** The instances reachable from the sender at send time. */
  reachable: Instance[];
}


describe('churn: nodes closed and restarted at random while broadcasting', function () {
  this.timeout(DURATION_MS + 60_000);
  const all: Instance[] = [];

  afterEach(async () => {
    await Promise.all(all.map((i) => i.node.close()));
    all.length = 0;
  });

  it(`delivers every broadcast to every node connected to the sender's component (${DURATION_MS / 1000} s)`, async function () {
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
      userSalt: `churn-${slot}`, sweepIntervalMs: 100, reconnectIntervalMs: 200, handshakeTimeoutMs: 2_000,
    });

    async function start(slot: number): Promise<Instance> {
      let node: MeshSocket;
      try {
        node = await MeshSocket.create('127.0.0.1', ports[slot]!, options(slot));
      } catch {
        node = await MeshSocket.create('127.0.0.1', 0, options(slot)); // the old port was taken meanwhile
      }
      ports[slot] = node.outAddr[1];
      const inst: Instance = { slot, node, upAt: Date.now(), downAt: undefined, got: new Set() };
      node.messages$.subscribe((m) => inst.got.add(m.packets[1]!.toString()));
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

    function reachableFrom(sender: Instance): Instance[] {
      const byId = new Map(up().map((i) => [i.node.id, i]));
      const seen = new Set<Instance>([sender]);
      const todo = [sender];
      while (todo.length) {
        const u = todo.pop()!;
        for (const [id, conn] of u.node.routingTable) {
          const v = byId.get(id);
          if (v && !conn.closed && !seen.has(v)) { seen.add(v); todo.push(v); }
        }
      }
      seen.delete(sender);
      return [...seen];
    }

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
        sent.push({ tag, sender, at: Date.now(), reachable: reachableFrom(sender) });
        sender.node.send(tag);
      }
      // Pace the workload (about 40 actions a second), letting sockets and sweeps run.
      await new Promise((res) => setTimeout(res, 25));
    }

    const stayedUp = (i: Instance, from: number) => i.upAt <= from && (i.downAt === undefined || i.downAt >= from + SETTLE_MS);
    const counted = sent.filter((s) => stayedUp(s.sender, s.at));
    const expected = counted.flatMap((s) => s.reachable.filter((i) => stayedUp(i, s.at)).map((i) => ({ s, i })));
    // Deliveries still in flight at the end get their settle period.
    await waitFor(() => expected.every(({ s, i }) => i.got.has(s.tag)), SETTLE_MS + 3_000, 'in-flight deliveries').catch(() => undefined);
    const misses = expected.filter(({ s, i }) => !i.got.has(s.tag));
    const delivered = expected.length - misses.length;
    console.log(`      churn (seed ${seed}): ${sent.length} broadcasts (${counted.length} counted), ${closes} closes, ${restarts} restarts; `
      + `expected deliveries ${expected.length}, delivered ${delivered}, misses ${misses.length}`);
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
  });
});
