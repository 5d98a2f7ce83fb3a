// A chain a–b–c where b is a real child process, killed (SIGKILL) while a broadcasts,
// then replaced by a new b (a new node: new id, new port) that joins a and c again.
import { expect } from 'chai';
import { countDeliveries, Nodes, waitFor } from '../helpers.js';
import { NodeProcess } from '../hostile/child.js';

const COUNT = 1_000;
const fast = { sweepIntervalMs: 100, repairIntervalMs: 500 };

describe('repair after a crash: chain a–b–c, b killed for 5 s while a broadcasts', function () {
  this.timeout(60_000);
  const nodes = new Nodes();
  const children: NodeProcess[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.close()));
    await nodes.closeAll();
  });

  async function scenario(catchUpSeconds: number) {
    // No node dials from peers lists (maxOutgoing 0): the chain stays a chain.
    const a = await nodes.make({ ...fast, maxOutgoing: 0 });
    const c = await nodes.make({ ...fast, maxOutgoing: 0 });
    const gotC = countDeliveries(c);
    const b = await NodeProcess.spawn({ host: '127.0.0.1', options: { ...fast, maxOutgoing: 0 } });
    children.push(b);
    await a.connect('127.0.0.1', b.port);
    await c.connect('127.0.0.1', b.port);
    await waitFor(() => a.routingTable.has(b.id) && c.routingTable.has(b.id), 5_000, 'the chain');
    a.send('before');
    await waitFor(() => gotC.has('before'), 5_000, 'a broadcast along the chain');

    await b.kill();
    await waitFor(() => a.routingTable.size === 0 && c.routingTable.size === 0, 5_000, 'b gone on both sides');
    // 1,000 broadcasts over 5 s, while b is down.
    const started = Date.now();
    const tags: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const t = `m-${i}`;
      tags.push(t);
      a.send(t);
      if (i % 200 === 199) {
        const until = started + ((i + 1) / COUNT) * 5_000;
        await waitFor(() => Date.now() >= until, 6_000, 'the next second');
      }
    }

    const b2 = await NodeProcess.spawn({ host: '127.0.0.1', echo: true, options: { ...fast, maxOutgoing: 0, catchUpSeconds } });
    children.push(b2);
    expect((await b2.connect('127.0.0.1', a.outAddr[1])).ok).to.equal(true);
    expect((await b2.connect('127.0.0.1', c.outAddr[1])).ok).to.equal(true);
    return { a, c, gotC, b2, tags };
  }

  it('with catchUpSeconds, c and the new b end with all 1,000 exactly once', async () => {
    const { a, c, gotC, b2, tags } = await scenario(30);
    const t0 = Date.now();
    await waitFor(() => tags.every((t) => gotC.has(t)) && tags.every((t) => b2.messages.has(t)), 20_000, 'c and the new b to have all 1,000');
    const took = Date.now() - t0;
    // Another interval: nothing more arrives (no duplicates).
    const until = Date.now() + 1_500;
    await waitFor(() => Date.now() > until, 3_000);
    const report = await b2.report();
    // The new b also caught up on 'before' (sent a few seconds before it started).
    expect(report.received, 'deliveries at the new b').to.equal(COUNT + 1);
    expect(b2.messages.size).to.equal(COUNT + 1);
    expect([...gotC.values()].filter((n) => n !== 1)).to.deep.equal([]);
    expect(gotC.size).to.equal(COUNT + 1);
    const stats = report.stats as Record<string, number>;
    console.log(`      all 1,000 at c and the new b ${took} ms after it joined; a sent ${a.stats.repairSent} repaired (${a.stats.repairBytes} bytes, ${a.stats.repairControlBytes} bytes of exchange), c received ${c.stats.repairReceived} by repair and the rest flooded from b; the new b: ${stats.repairReceived} repaired, ${stats.duplicates} duplicates dropped`);
  });

  it('without catchUpSeconds the new b gets no history', async () => {
    const { b2 } = await scenario(0);
    const until = Date.now() + 2_000; // four repair intervals
    await waitFor(() => Date.now() > until, 3_000);
    const report = await b2.report();
    expect(report.received).to.equal(0);
  });
});
