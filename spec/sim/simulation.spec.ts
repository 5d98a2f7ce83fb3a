import { expect } from 'chai';
import { simulate } from '../../sim/sim.js';
import { parseArgs, parsePartition } from '../../sim/args.js';

describe('mesh simulation (real MeshSockets, memory transport, virtual time)', function () {
  this.timeout(120_000);

  it('gives the same result, byte for byte, for the same seed', async () => {
    const a = await simulate({ nodes: 80, broadcasts: 4, seed: 11 });
    const b = await simulate({ nodes: 80, broadcasts: 4, seed: 11 });
    expect(JSON.stringify(b.result)).to.equal(JSON.stringify(a.result));
    const c = await simulate({ nodes: 80, broadcasts: 4, seed: 12 });
    expect(JSON.stringify(c.result)).to.not.equal(JSON.stringify(a.result));
    // Repair's exchange, churn and a partition run on the scheduler too: still the same bytes.
    const rough = { nodes: 60, broadcasts: 4, seed: 13, churn: 0.05, churnDowntimeMs: 2_000, partition: { fraction: 0.3, startMs: 1_000, endMs: 4_000, mode: 'reset' as const } };
    const d = await simulate(rough);
    const e = await simulate(rough);
    expect(d.result.repaired).to.be.greaterThan(0);
    expect(JSON.stringify(e.result)).to.equal(JSON.stringify(d.result));
  });

  it('delivers every broadcast exactly once to every node of a connected mesh without churn', async () => {
    const { result } = await simulate({ nodes: 150, broadcasts: 5, seed: 3 });
    expect(result.connected).to.equal(true);
    expect(result.deliveryRatio).to.equal(1);
    expect(result.expected).to.equal(5 * 149);
    expect(result.duplicatesDelivered).to.equal(0);
    expect(result.duplicateLinks).to.equal(0);
    expect(result.asymmetricLinks).to.equal(0);
    // Peer discovery: no node is left a leaf by joining through a node that had just joined.
    expect(result.connectionsPerNode.min).to.be.at.least(4);
    // A flood costs one frame per link direction but the one it came in on: about 2E - N.
    // framesPerBroadcast counts the broadcast's own frames: repair's exchange is apart.
    const edges = (result.connectionsPerNode.mean * 150) / 2;
    expect(result.framesPerBroadcast.median).to.be.closeTo(2 * edges - 150 + 1, 3);
    // Repair (on by default) exchanges summaries and, with nothing lost, sends no copies.
    expect(result.repair).to.equal(true);
    expect(result.repairTraffic.controlFrames).to.be.greaterThan(0);
    expect(result.repairTraffic.answerFrames).to.equal(0);
    expect(result.repaired).to.equal(0);
    expect(result.deliveryRatioUpForWindow).to.equal(1);
  });

  it('delivers no duplicates through churn and a partition that heals, and the mesh is whole again after', async () => {
    const churn = await simulate({ nodes: 100, broadcasts: 8, seed: 5, churn: 0.05, churnDowntimeMs: 3_000 });
    expect(churn.result.duplicatesDelivered).to.equal(0);
    expect(churn.result.connectedAtEnd).to.equal(true);
    const cut = await simulate({ nodes: 100, broadcasts: 8, seed: 5, partition: { fraction: 0.3, startMs: 1_000, endMs: 6_000, mode: 'reset' } });
    expect(cut.result.duplicatesDelivered).to.equal(0);
    expect(cut.result.resets).to.be.greaterThan(0);
    expect(cut.result.deliveryRatio).to.equal(1);
    expect(cut.result.connectedAtEnd).to.equal(true);
    // Restored links displace their replacements: a heal does not leave every node with the links it lost on top.
    expect(cut.result.connectionsPerNodeAtEnd.median).to.be.at.most(cut.result.connectionsPerNode.median + 1);
  });

  it('with repair on, delivers every message exactly once to every node up for its whole repair window, through churn and a partition; without, the cut-off side loses what was sent meanwhile', async () => {
    // Up for the window: up when the message is sent and until the end of the run, which goes
    // on tailMs (15 s: a bucket to settle, a repair interval, the round trips) after the last
    // broadcast, heal or rejoin; whatever the node's component when it was sent.
    const partition = { fraction: 0.3, startMs: 1_000, endMs: 6_000, mode: 'reset' as const };
    const runs = {
      churn: await simulate({ nodes: 100, broadcasts: 8, seed: 5, churn: 0.05, churnDowntimeMs: 3_000 }),
      partition: await simulate({ nodes: 100, broadcasts: 8, seed: 5, partition }),
      both: await simulate({ nodes: 100, broadcasts: 8, seed: 7, churn: 0.05, churnDowntimeMs: 3_000, partition }),
    };
    for (const [name, { result }] of Object.entries(runs)) {
      expect(result.repair, name).to.equal(true);
      expect(result.deliveryRatioUpForWindow, name).to.equal(1);
      expect(result.lostUpForWindow, name).to.equal(0);
      expect(result.duplicatesDelivered, name).to.equal(0);
    }
    // The cut-off side got what was sent on the other side during the cut through repair.
    expect(runs.partition.result.repaired).to.be.greaterThan(0);
    expect(runs.partition.result.repairTraffic.answerFrames).to.be.greaterThan(0);
    const off = await simulate({ nodes: 100, broadcasts: 8, seed: 5, partition, repair: false });
    expect(off.result.repair).to.equal(false);
    expect(off.result.repairTraffic.frames).to.equal(0);
    expect(off.result.duplicatesDelivered).to.equal(0);
    expect(off.result.deliveryRatio).to.equal(1); // the sender's component still gets everything
    expect(off.result.lostUpForWindow).to.be.greaterThan(0);
    expect(off.result.deliveryRatioUpForWindow).to.be.below(0.9);
  });

  it('keeps the traffic of a partition and its heal within a few broadcasts\' worth (no peers-list storm from hubs)', async () => {
    const { result } = await simulate({ nodes: 150, broadcasts: 8, seed: 5, partition: { fraction: 0.3, startMs: 1_000, endMs: 6_000, mode: 'reset' } });
    expect(result.duplicatesDelivered).to.equal(0);
    // A hub that asked all its peers for their lists on every incoming peer lost made this 10x.
    expect(Math.max(...result.framesPerWindow)).to.be.below(7 * result.framesPerBroadcast.median);
  });

  it('reads its command line', () => {
    const args = parseArgs(['--nodes', '50', '--broadcasts', '3', '--seed', '9', '--churn', '0.05', '--partition', '0.5@1000-5000:stall', '--repair', 'off', '--tail', '9000', '--json', 'out.json']);
    expect(args.config).to.deep.include({ nodes: 50, broadcasts: 3, seed: 9, churn: 0.05, repair: false, tailMs: 9000 });
    expect(parseArgs(['--repair', 'on']).config.repair).to.equal(true);
    expect(() => parseArgs(['--repair', 'maybe'])).to.throw(/--repair/);
    expect(args.config.partition).to.deep.equal({ fraction: 0.5, startMs: 1000, endMs: 5000, mode: 'stall' });
    expect(args.json).to.equal('out.json');
    expect(() => parseArgs(['--nodes', 'x'])).to.throw(/--nodes/);
    expect(() => parsePartition('0.5@5-1')).to.throw(/end after/);
  });
});
