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
// npm test runs it for 5 s; RX2P_SOAK=1 runs it for 30 s (the driver: churn-driver.ts).
import { expect } from 'chai';
import { ChurnMesh, DURATION_MS, SETTLE_MS } from './churn-driver.js';
import { waitFor } from '../helpers.js';

describe('churn: nodes closed and restarted at random while broadcasting', function () {
  this.timeout(DURATION_MS + 60_000);
  let mesh: ChurnMesh | undefined;

  afterEach(async () => {
    await mesh?.closeAll();
    mesh = undefined;
  });

  it(`delivers every broadcast to every node connected to the sender's component (${DURATION_MS / 1000} s)`, async function () {
    await Promise.resolve(); // baseline after mocha armed its timer, as in the check below
    const m = (mesh = new ChurnMesh({}, true));
    await m.build();
    await m.drive();
    const { seed, sent, closes, restarts } = m;

    const counted = sent.filter((s) => m.stayedUp(s.sender, s.at));
    const expected = counted.flatMap((s) => s.reachable.filter((i) => m.stayedUp(i, s.at)).map((i) => ({ s, i })));
    // Deliveries still in flight at the end get their settle period.
    await waitFor(() => expected.every(({ s, i }) => i.got.has(s.tag)), SETTLE_MS + 3_000, 'in-flight deliveries').catch(() => undefined);
    const misses = expected.filter(({ s, i }) => !i.got.has(s.tag));
    const delivered = expected.length - misses.length;
    console.log(`      churn (seed ${seed}): ${sent.length} broadcasts (${counted.length} counted), ${closes} closes, ${restarts} restarts; `
      + `expected deliveries ${expected.length}, delivered ${delivered}, misses ${misses.length}`);
    for (const { s, i } of misses.slice(0, 10)) {
      console.log(`        miss: ${s.tag} from slot ${s.sender.slot} to slot ${i.slot} (sent ${s.at - i.upAt} ms after it came up)`);
    }

    await m.finish();
    expect(m.crashes).to.deep.equal([]);
    expect(sent.length).to.be.greaterThan(0);
    expect(misses.map(({ s, i }) => `${s.tag}→${i.slot}`)).to.deep.equal([]);
  });
});
