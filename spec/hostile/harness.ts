// What every hostile suite does around its tests: no crash (uncaught exception or
// unhandled rejection) anywhere in the run, no socket or timer left behind by a test,
// and every error a node records typed. Call hostileHarness() inside a describe().
import { expect } from 'chai';
import { MeshError, ProtocolError, type MeshSocket } from '../../src/index.js';
import { activeResources, leakedResources, Nodes, waitFor } from '../helpers.js';
import { RawPeer, tally } from './raw-peer.js';

export interface HostileHarness {
  nodes: Nodes;
  /** Raw peers opened by the test, destroyed after it. */
  raws: RawPeer[];
  /** Waits for a raw peer to open and keeps it in raws. */
  keep(opening: Promise<RawPeer>): Promise<RawPeer>;
}

export function hostileHarness(suite: string): HostileHarness {
  const nodes = new Nodes();
  const raws: RawPeer[] = [];
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => { crashes.push(e); };
  let baseline: Record<string, number> = {};

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
    console.log(`      ${suite}: ${tally.inputs} hostile inputs in ${tally.writes} writes (${tally.bytes} bytes) over ${tally.connections} connections so far, ${crashes.length} crashes`);
    expect(crashes, 'uncaught exceptions / unhandled rejections').to.deep.equal([]);
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await nodes.closeAll();
    // Sockets and servers are released a moment after close(): no test leaves any behind.
    await waitFor(() => Object.keys(leakedResources(baseline)).length === 0, 2_000, 'handles released').catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(leakedResources(baseline))} (baseline ${JSON.stringify(baseline)})`); });
  });
  const keep = async (opening: Promise<RawPeer>): Promise<RawPeer> => {
    const r = await opening;
    raws.push(r);
    return r;
  };
  return { nodes, raws, keep };
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
