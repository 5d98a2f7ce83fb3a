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
    const edges = (result.connectionsPerNode.mean * 150) / 2;
    expect(result.framesPerBroadcast.median).to.be.closeTo(2 * edges - 150 + 1, 3);
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

  it('keeps the traffic of a partition and its heal within a few broadcasts\' worth (no peers-list storm from hubs)', async () => {
    const { result } = await simulate({ nodes: 150, broadcasts: 8, seed: 5, partition: { fraction: 0.3, startMs: 1_000, endMs: 6_000, mode: 'reset' } });
    expect(result.duplicatesDelivered).to.equal(0);
    // A hub that asked all its peers for their lists on every incoming peer lost made this 10x.
    expect(Math.max(...result.framesPerWindow)).to.be.below(7 * result.framesPerBroadcast.median);
  });

  it('reads its command line', () => {
    const args = parseArgs(['--nodes', '50', '--broadcasts', '3', '--seed', '9', '--churn', '0.05', '--partition', '0.5@1000-5000:stall', '--json', 'out.json']);
    expect(args.config).to.deep.include({ nodes: 50, broadcasts: 3, seed: 9, churn: 0.05 });
    expect(args.config.partition).to.deep.equal({ fraction: 0.5, startMs: 1000, endMs: 5000, mode: 'stall' });
    expect(args.json).to.equal('out.json');
    expect(() => parseArgs(['--nodes', 'x'])).to.throw(/--nodes/);
    expect(() => parsePartition('0.5@5-1')).to.throw(/end after/);
  });
});
