// Live py2p 0.2 beside rx2p: runs only where PY2P_SRC names a directory holding py2p's
// source as py_src (skipped otherwise, with the reason). Short by default; the long runs
// of the issue are spec/interop/soak-run.ts, or here PY2P_SOAK_SECONDS and
// PY2P_SOAK_BROADCASTS.
import { expect } from 'chai';
import { py2pSource } from './live.js';
import { mixedScenario, pairScenario } from './scenarios.js';

const { src, why } = py2pSource();
const pairSeconds = Number(process.env.PY2P_SOAK_SECONDS ?? 15);
const broadcasts = Number(process.env.PY2P_SOAK_BROADCASTS ?? 30);

describe('live py2p 0.2 beside rx2p (PY2P_SRC)', function () {
  this.timeout(Math.max(pairSeconds, broadcasts * 1.2) * 1000 + 120_000);
  before(function () {
    if (!src) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });

  for (const encryption of ['Plaintext', 'SSL'] as const) {
    it(`${encryption}: one rx2p node dialled into one py2p node for ${pairSeconds} s (past discovery's 5 s), broadcasts both ways: py2p raises nothing, neither drops the other, each delivers the other's broadcasts once`, async () => {
      const r = await pairScenario(src!, encryption, pairSeconds);
      console.log(`      ${encryption}: ${r.sentEach} broadcasts each way; py2p exceptions ${r.py2pExceptions.length}; lost peers: py2p ${r.py2pLost}, rx2p ${r.rx2pLost}; at py2p ${JSON.stringify(r.atPy2p)}, at rx2p ${JSON.stringify(r.atRx2p)}`);
      expect(r.py2pExceptions).to.deep.equal([]);
      expect([r.py2pLost, r.rx2pLost]).to.deep.equal([0, 0]);
      expect(r.atRx2p).to.deep.equal({ missing: 0, duplicated: 0 });
      expect(r.atPy2p).to.deep.equal({ missing: 0, duplicated: 0 });
    });
  }

  it(`mixed mesh of 3 rx2p and 2 py2p nodes, ${broadcasts} broadcasts from each, one rx2p node killed half-way and started again with --catch-up 30: every rx2p node delivers what was sent while it was up exactly once; py2p raises nothing the kill does not explain`, async () => {
    const r = await mixedScenario(src!, { encryption: 'Plaintext', perNode: broadcasts, intervalMs: 1_000, downMs: 3_000, catchUpSeconds: 30 });
    for (const x of r.rx2p) console.log(`      ${x.node}: ${x.expected} expected, ${x.lost} lost, ${x.duplicates.length} duplicated; disconnects ${x.disconnects.length}`);
    console.log(`      py2p: exceptions ${r.py2pExceptions.length} (+${r.py2pExceptionsFromKill.length} from the kill: writes to the killed node), unexpected peer losses ${r.py2pUnexpectedLost}; delivered ${JSON.stringify(r.py2pDelivered)}`);
    expect(r.py2pExceptions.map((e) => `${e.node} ${e.where} ${e.traceback}`)).to.deep.equal([]);
    expect(r.py2pUnexpectedLost).to.equal(0);
    for (const x of r.rx2p) {
      expect(x.lost, `${x.node} lost`).to.equal(0);
      expect(x.duplicates, `${x.node} duplicates`).to.deep.equal([]);
    }
  });
});
