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
// npm test runs it for 5 s; RX2P_SOAK=1 runs it for 30 s (the driver: spec/hostile/churn-driver.ts).
import { expect } from 'chai';
import { ChurnMesh, DURATION_MS } from '../hostile/churn-driver.js';
import { waitFor } from '../helpers.js';

describe('churn with repair: nodes closed and restarted at random while broadcasting', function () {
  this.timeout(DURATION_MS + 60_000);
  let mesh: ChurnMesh | undefined;

  afterEach(async () => {
    await mesh?.closeAll();
    mesh = undefined;
  });

  it(`delivers every broadcast, exactly once, to every node up from its sending to the end (${DURATION_MS / 1000} s)`, async function () {
    await Promise.resolve(); // baseline after mocha armed its timer, as in the check below
    const m = (mesh = new ChurnMesh({ repairIntervalMs: 300 }));
    await m.build();
    await m.drive();
    const { seed, sent, closes, restarts, all } = m;

    const counted = sent.filter((s) => m.stayedUp(s.sender, s.at));
    const last = m.up();
    const expected = counted.flatMap((s) => last.filter((i) => i !== s.sender && i.upAt <= s.at).map((i) => ({ s, i })));
    // The heal: every node that is up dials the first of them.
    const hub = last[0]!;
    await Promise.all(last.slice(1).map((i) => i.node.connect('127.0.0.1', hub.node.outAddr[1]).catch(() => undefined)));
    const healedAt = Date.now();
    await waitFor(() => expected.every(({ s, i }) => i.got.has(s.tag)), 15_000, 'every expected delivery').catch(() => undefined);
    const tookMs = Date.now() - healedAt;
    // A few more repair rounds, for duplicates to show if there were any: a node sends a
    // summary to each peer it dialled every interval; wait until each has sent three
    // rounds' worth of repair messages (a counter, not a clock).
    const rounds = last.map((i) => ({ i, until: i.node.stats.repairControlFrames + 3 * i.node.outgoing.length }));
    await waitFor(() => rounds.every(({ i, until }) => i.node.stats.repairControlFrames >= until), 10_000, 'three more repair rounds');
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

    await m.finish();
    expect(m.crashes).to.deep.equal([]);
    expect(sent.length).to.be.greaterThan(0);
    expect(misses.map(({ s, i }) => `${s.tag}→${i.slot}`)).to.deep.equal([]);
    expect(duplicates).to.deep.equal([]);
    expect(history).to.deep.equal([]);
  });
});
