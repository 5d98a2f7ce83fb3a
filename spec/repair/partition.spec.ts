// A mesh of four nodes split in two by a network partition between two network
// namespaces (as spec/hostile/netns.spec.ts makes them), while both sides broadcast.
// The partition lasts long enough that the connections across it reset: inside these
// namespaces TCP gives up quickly (tcp_retries2 = 3: about 3 s of retransmissions;
// keepalive probes 1 s apart, 2 of them, after keepAliveMs = 1 s idle), so 10 s does
// what 30 s or more would do with Linux's defaults (retransmissions for ~15 minutes).
// After the heal the dialling sides re-dial, the nodes compare what they hold, and every
// node ends with every message exactly once.
//
// Skipped (with the reason) unless running as root with a working `ip netns`.
import { expect } from 'chai';
import { waitFor } from '../helpers.js';
import { NodeProcess } from '../hostile/child.js';
import { linkUp, must, NetnsPair } from '../hostile/netns.js';

const net = new NetnsPair('r', 214);
const { tag, nsA, nsB, vethA, addrA, addrB } = net;
const PARTITION_MS = 10_000;
const PER_SIDE = 100;
const options = {
  sweepIntervalMs: 100, reconnectIntervalMs: 200, handshakeTimeoutMs: 2_000, keepAliveMs: 1_000,
  repairIntervalMs: 500, maxOutgoing: 0,
};

describe('repair across a network partition between namespaces', function () {
  this.timeout(90_000);
  const children: NodeProcess[] = [];
  // TCP gives up within seconds here (these settings are per namespace).
  net.forSuite([['tcp_retries2', '3'], ['tcp_keepalive_intvl', '1'], ['tcp_keepalive_probes', '2']]);

  afterEach(async function () {
    if (net.created && !linkUp(nsA, vethA)) must('-n', nsA, 'link', 'set', vethA, 'up');
    await Promise.all(children.splice(0).map((c) => c.close()));
  });

  async function start(ns: string, host: string, name: string): Promise<NodeProcess> {
    const child = await NodeProcess.spawn({ host, netns: ns, echo: true, options: { ...options, userSalt: `repair-${name}-${tag}` } });
    children.push(child);
    return child;
  }

  const peersOf = (n: NodeProcess) => {
    const set = new Set<string>();
    for (const e of n.events) {
      if (e.event === 'peer-connected') set.add(String(e.id));
      else if (e.event === 'peer-disconnected') set.delete(String(e.id));
    }
    return set;
  };

  it('after the heal every node has every message of both sides exactly once', async function () {
    const [a1, a2, b1, b2] = await Promise.all([start(nsA, addrA, 'a1'), start(nsA, addrA, 'a2'), start(nsB, addrB, 'b1'), start(nsB, addrB, 'b2')]);
    const nodes = [a1!, a2!, b1!, b2!];
    // Two links inside each side, two across: a2–a1, b2–b1, b1–a1, b2–a2.
    for (const [from, to, host] of [[a2, a1, addrA], [b2, b1, addrB], [b1, a1, addrA], [b2, a2, addrA]] as const) {
      expect((await from!.connect(host, to!.port)).ok).to.equal(true);
    }
    await waitFor(() => peersOf(a1!).size === 2 && peersOf(a2!).size === 2 && peersOf(b1!).size === 2 && peersOf(b2!).size === 2, 10_000, 'the mesh');
    a2!.send('before');
    await waitFor(() => [a1!, b1!, b2!].every((n) => n.messages.has('before')), 5_000, 'a broadcast before the partition');

    await net.partition();
    const partitionedAt = Date.now();
    const tags: string[] = [];
    // Both sides broadcast through the partition, 100 messages each.
    for (let i = 0; i < PER_SIDE; i++) {
      for (const [n, side] of [[a2!, 'a'], [b2!, 'b']] as const) {
        const t = `${side}-${i}`;
        tags.push(t);
        n.send(t);
      }
      const until = partitionedAt + ((i + 1) / PER_SIDE) * (PARTITION_MS - 2_000);
      await waitFor(() => Date.now() >= until, PARTITION_MS, 'the next send');
    }
    // The connections across reset: each side sees its peers on the other side go.
    await waitFor(() => !peersOf(a1!).has(b1!.id) && !peersOf(a2!).has(b2!.id) && !peersOf(b1!).has(a1!.id) && !peersOf(b2!).has(a2!.id),
      Math.max(1_000, partitionedAt + PARTITION_MS - Date.now()), 'the connections across to reset');
    const resetAfter = Date.now() - partitionedAt;
    await waitFor(() => Date.now() >= partitionedAt + PARTITION_MS, PARTITION_MS, 'the partition to last');
    expect(a1!.messages.has('b-0')).to.equal(false);
    expect(b1!.messages.has('a-0')).to.equal(false);

    await net.heal();
    const healedAt = Date.now();
    // What each node should have: everything but its own broadcasts.
    const own = new Map<NodeProcess, string>([[a2!, 'a-'], [b2!, 'b-']]);
    const expected = (n: NodeProcess) => ['before', ...tags].filter((t) => !(own.has(n) && (t.startsWith(own.get(n)!) || (n === a2 && t === 'before'))));
    await waitFor(() => nodes.every((n) => expected(n).every((t) => n.messages.has(t))), 40_000, 'every node to have every message');
    const caughtUp = Date.now() - healedAt;
    const reports = await Promise.all(nodes.map((n) => n.report()));
    for (const [i, r] of reports.entries()) {
      const n = nodes[i]!;
      expect(r.received, `deliveries at node ${i}`).to.equal(expected(n).length);
      expect(n.messages.size).to.equal(expected(n).length);
    }
    const total = tags.length + 1;
    const stats = reports.map((r) => r.stats as Record<string, number>);
    console.log(`      connections across had reset by ${resetAfter} ms into the ${PARTITION_MS / 1000} s partition; every node had all ${total} ${caughtUp} ms after the heal, each exactly once; repaired per node: ${stats.map((s) => s.repairReceived).join(', ')}; exchange bytes sent per node: ${stats.map((s) => s.repairControlBytes).join(', ')}`);
  });
});
