// What every hostile suite does around its tests: no crash (uncaught exception or
// unhandled rejection) anywhere in the run, no socket or timer left behind by a test,
// every error a node records typed, and, for a test that watches a victim and its
// honest peer, an event loop never stalled and honest deliveries that kept flowing
// during the attack. Call hostileHarness() inside a describe().
import { expect } from 'chai';
import { MeshError, ProtocolError, type MeshSocket } from '../../src/index.js';
import { activeResources, leakedResources, Nodes, waitFor } from '../helpers.js';
import { RawPeer, tally } from './raw-peer.js';
import { attackBounds, describeHealth, healthProblems, watchHealth, type HealthBounds, type HealthReport, type HealthWatch } from './health.js';

export interface HostileHarness {
  nodes: Nodes;
  /** Raw peers opened by the test, destroyed after it. */
  raws: RawPeer[];
  /** Waits for a raw peer to open and keeps it in raws. */
  keep(opening: Promise<RawPeer>): Promise<RawPeer>;
  /**
   * Measures event-loop delay and `node`'s broadcasts to `honest` from now to the end of
   * the test; the test fails if they break `bounds` (default attackBounds).
   */
  watch(node: MeshSocket, honest: MeshSocket, bounds?: HealthBounds): void;
}

export function hostileHarness(suite: string): HostileHarness {
  const nodes = new Nodes();
  const raws: RawPeer[] = [];
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => { crashes.push(e); };
  let baseline: Record<string, number> = {};
  let watching: { watch: HealthWatch; bounds: HealthBounds } | undefined;
  const reports: Array<{ test: string; report: HealthReport }> = [];

  beforeEach(async () => {
    // Mocha arms a hook's timeout timer once the hook function has returned its promise:
    // taken after an await, the baseline counts that timer, as the check in afterEach does.
    await Promise.resolve();
    baseline = activeResources();
  });
  before(() => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
  });
  after(() => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    if (reports.length) {
      const worst = reports.reduce((a, b) => (b.report.maxDelayMs > a.report.maxDelayMs ? b : a));
      const long = reports.filter((r) => r.report.expected >= 10);
      const least = long.length ? long.reduce((a, b) => (b.report.delivered / b.report.expected < a.report.delivered / a.report.expected ? b : a)) : undefined;
      console.log(`      ${suite} health over ${reports.length} attacks: worst loop delay ${worst.report.maxDelayMs.toFixed(1)} ms (${worst.test})`
        + (least ? `; least honest delivery ${least.report.delivered}/${least.report.expected} (${least.test})` : ''));
    }
    console.log(`      ${suite}: ${tally.inputs} hostile inputs in ${tally.writes} writes (${tally.bytes} bytes) over ${tally.connections} connections so far, ${crashes.length} crashes`);
    expect(crashes, 'uncaught exceptions / unhandled rejections').to.deep.equal([]);
  });
  afterEach(async function () {
    let problems: string[] = [];
    if (watching) {
      const { watch, bounds } = watching;
      watching = undefined;
      const report = await watch.stop();
      const test = this.currentTest?.title ?? '?';
      reports.push({ test, report });
      if (process.env.RX2P_HEALTH) console.log(`        health: ${describeHealth(report)}`);
      problems = healthProblems(report, bounds);
    }
    for (const r of raws.splice(0)) r.destroy();
    await nodes.closeAll();
    // Sockets and servers are released a moment after close(): no test leaves any behind.
    await waitFor(() => Object.keys(leakedResources(baseline)).length === 0, 2_000, 'handles released').catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(leakedResources(baseline))} (baseline ${JSON.stringify(baseline)})`); });
    expect(problems, 'health during the attack').to.deep.equal([]);
  });
  const keep = async (opening: Promise<RawPeer>): Promise<RawPeer> => {
    const r = await opening;
    raws.push(r);
    return r;
  };
  const watch = (node: MeshSocket, honest: MeshSocket, bounds: HealthBounds = attackBounds): void => {
    watching = { watch: watchHealth(node, honest), bounds };
  };
  return { nodes, raws, keep, watch };
}

/** Every error the node recorded is typed (a MeshError or a ProtocolError), with a code. */
export function expectTypedErrors(node: MeshSocket): void {
  const status = node.status;
  if (status === 'Nominal') return;
  for (const e of status) {
    expect(e instanceof MeshError || e instanceof ProtocolError, `${e.name}: ${e.message}`).to.equal(true);
    expect((e as MeshError).code).to.match(/^ERR_/);
  }
}
