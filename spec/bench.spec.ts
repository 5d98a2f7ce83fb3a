// Keeps the bench from rotting: W1 in one process, a few hundred messages, for rx2p
// and the baseline; and the table and chart it prints. No timing is asserted.
import { expect } from 'chai';
import { row, svgChart, table } from '../bench/report.js';
import { Placement, throughput } from '../bench/workloads.js';
import { authCosts } from '../bench/auth.js';
import { Agent, KIND_FLOOD, KIND_LATENCY, makePayload } from '../bench/agent.js';

describe('bench (smoke)', function () {
  this.timeout(15_000);

  it('runs W1 in one process for rx2p and the baseline and reports positive figures', async function () {
    const place = new Placement('inproc');
    const rows = [];
    for (const impl of ['baseline', 'rx2p'] as const) {
      const r = await throughput(place, impl, 'plain', 3, 100, 5_000, 300);
      expect(r.sent, `${impl} sent`).to.equal(300);
      expect(r.delivered, `${impl} delivered`).to.equal(1);
      expect(r.duplicateDeliveries, `${impl} delivered twice`).to.equal(0);
      expect(r.msgsPerSec, `${impl} msg/s`).to.be.greaterThan(0);
      expect(r.framesPerMsg, `${impl} frames per message`).to.be.greaterThan(0);
      rows.push(r);
    }
    const [baseline, rx2p] = rows as [typeof rows[0], typeof rows[0]];
    const r = row({
      workload: 'W1', what: 'broadcast 100 B, N=3', mode: 'inproc', variant: 'Plaintext', metric: 'msg/s per receiver',
      rx2p: rx2p.msgsPerSec, baseline: baseline.msgsPerSec, better: 'higher', target: 'ratio >= 0.8', met: true,
    });
    expect(r.ratio).to.be.greaterThan(0);
    expect(table([r])).to.include('W1');
    expect(svgChart([r], 'title', 'subtitle')).to.match(/^<svg[\s\S]*<\/svg>\n$/);
  });

  it('counts a payload delivered twice once, as a duplicate delivery (not throughput)', function () {
    const agent = new Agent();
    const deliver = (p: Buffer): void => (agent as unknown as { onPayload(p: Buffer): void }).onPayload(p);
    deliver(makePayload(100, KIND_FLOOD, 1, 7));
    deliver(makePayload(100, KIND_FLOOD, 1, 7));
    // Another origin, another kind, another sequence number: three new payloads.
    deliver(makePayload(100, KIND_FLOOD, 2, 7));
    deliver(makePayload(100, KIND_LATENCY, 1, 7));
    deliver(makePayload(100, KIND_FLOOD, 1, 100_000));
    expect(agent.track()).to.deep.equal({ unique: 4, duplicateDeliveries: 1 });
    expect(agent.takeLatencies()).to.have.length(1);
  });

  it('runs W1 in the authenticated protocol (one process) and measures the Ed25519 costs', async function () {
    const r = await throughput(new Placement('inproc'), 'rx2p', 'auth', 3, 100, 5_000, 300);
    expect(r.sent).to.equal(300);
    expect(r.delivered).to.equal(1);
    const costs = authCosts(20);
    expect(costs.verifyUs).to.be.greaterThan(0);
    expect(costs.verificationLimit).to.be.closeTo(1e6 / costs.verifyUs, 1);
    expect(costs.receiverUs).to.be.greaterThan(0);
  });
});
