// The churn workload spec/hostile/churn.spec.ts and spec/repair/churn.spec.ts share: ten
// nodes on loopback, closed and restarted at random while they broadcast, with no crash
// and no handle left behind. Each spec measures delivery its own way from what it records.
import { MeshSocket, type MeshOptions } from '../../src/index.js';
import { prng } from '../prng.js';
import { activeResources, countDeliveries, leakedResources, waitFor } from '../helpers.js';

const SOAK = process.env.RX2P_SOAK === '1';
/** npm test runs it for 5 s; RX2P_SOAK=1 runs it for 30 s. */
export const DURATION_MS = SOAK ? 30_000 : 5_000;
const NODES = 10;
const MIN_UP = 4;
/** A node or sender must stay up this long after a send for the broadcast to count. */
export const SETTLE_MS = 1_500;

export interface Instance {
  slot: number;
  node: MeshSocket;
  upAt: number;
  downAt: number | undefined;
  /** Broadcast tag → how many times it was delivered here. */
  got: Map<string, number>;
}

export interface Sent {
  tag: string;
  sender: Instance;
  at: number;
  /** With `reachable: true`, the instances reachable from the sender at send time. */
  reachable: Instance[];
}

export class ChurnMesh {
  readonly seed = Number(process.env.RX2P_SEED ?? Date.now() % 1_000_000);
  readonly random = prng(this.seed);
  /** Every instance started, up or down. */
  readonly all: Instance[] = [];
  readonly sent: Sent[] = [];
  closes = 0;
  restarts = 0;
  readonly crashes: unknown[] = [];
  private readonly baseline = activeResources();
  private readonly onCrash = (e: unknown) => { this.crashes.push(e); };
  private readonly ports: number[] = new Array(NODES).fill(0);
  private readonly current: Array<Instance | undefined> = new Array(NODES).fill(undefined);

  /** Construct it after an `await Promise.resolve()` in the test, so the resource baseline counts mocha's timer. */
  constructor(
    private readonly extra: MeshOptions = {},
    private readonly trackReachable = false,
  ) {
    process.on('uncaughtException', this.onCrash);
    process.on('unhandledRejection', this.onCrash);
  }

  pick<T>(list: T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }

  up(): Instance[] {
    return this.current.filter((i): i is Instance => i !== undefined);
  }

  stayedUp(i: Instance, from: number): boolean {
    return i.upAt <= from && (i.downAt === undefined || i.downAt >= from + SETTLE_MS);
  }

  /** A connected start: each node joins a random earlier one. */
  async build(): Promise<void> {
    for (let slot = 0; slot < NODES; slot++) {
      const inst = await this.start(slot);
      if (slot > 0) {
        const target = this.pick(this.up().filter((i) => i !== inst));
        await inst.node.connect('127.0.0.1', target.node.outAddr[1]);
      }
    }
    await waitFor(() => this.up().every((i) => i.node.routingTable.size > 0), 5_000, 'initial mesh');
  }

  /** Closes, restarts and broadcasts at random for DURATION_MS. */
  async drive(): Promise<void> {
    let serial = 0;
    const end = Date.now() + DURATION_MS;
    while (Date.now() < end) {
      const r = this.random();
      const live = this.up();
      if (r < 0.08 && live.length > MIN_UP) {
        await this.stop(this.pick(live));
        this.closes++;
      } else if (r < 0.16 && live.length < NODES) {
        const slot = this.pick([...this.current.keys()].filter((s) => this.current[s] === undefined));
        const inst = await this.start(slot);
        const target = this.pick(this.up().filter((i) => i !== inst));
        inst.node.connect('127.0.0.1', target.node.outAddr[1]).catch(() => undefined);
        this.restarts++;
      } else {
        const sender = this.pick(live);
        const tag = `churn-${this.seed}-${++serial}`;
        this.sent.push({ tag, sender, at: Date.now(), reachable: this.trackReachable ? this.reachableFrom(sender) : [] });
        sender.node.send(tag);
      }
      // Pace the workload (about 40 actions a second), letting sockets and sweeps run.
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  /** Closes every node (again: close() is idempotent). */
  async closeAll(): Promise<void> {
    await Promise.all(this.all.map((i) => i.node.close()));
  }

  /** Closes every node, waits for their handles to go and stops watching for crashes. */
  async finish(): Promise<void> {
    await this.closeAll();
    this.all.length = 0;
    await waitFor(() => Object.keys(leakedResources(this.baseline)).length === 0, 3_000, 'handles released')
      .catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(leakedResources(this.baseline))}`); });
    process.off('uncaughtException', this.onCrash);
    process.off('unhandledRejection', this.onCrash);
  }

  private options(slot: number): MeshOptions {
    // The same salt and port give a restarted node its old id, so its dialling peers
    // find it again by reconnecting.
    return { userSalt: `churn-${slot}`, sweepIntervalMs: 100, reconnectIntervalMs: 200, handshakeTimeoutMs: 2_000, ...this.extra };
  }

  private async start(slot: number): Promise<Instance> {
    let node: MeshSocket;
    try {
      node = await MeshSocket.create('127.0.0.1', this.ports[slot]!, this.options(slot));
    } catch {
      node = await MeshSocket.create('127.0.0.1', 0, this.options(slot)); // the old port was taken meanwhile
    }
    this.ports[slot] = node.outAddr[1];
    const inst: Instance = { slot, node, upAt: Date.now(), downAt: undefined, got: countDeliveries(node) };
    this.all.push(inst);
    this.current[slot] = inst;
    return inst;
  }

  private async stop(inst: Instance): Promise<void> {
    inst.downAt = Date.now();
    this.current[inst.slot] = undefined;
    await inst.node.close();
  }

  /** The connectivity graph from the routing tables: u→v when u's table holds v's id and v is up (u floods to every peer in its table). */
  private reachableFrom(sender: Instance): Instance[] {
    const byId = new Map(this.up().map((i) => [i.node.id, i]));
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
}
