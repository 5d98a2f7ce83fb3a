// The long live runs with py2p 0.2 (docs/py2p-interop.md), one JSON result on stdout:
//   PY2P_SRC=DIR npx tsx spec/interop/soak-run.ts pair Plaintext|SSL SECONDS
//   PY2P_SRC=DIR npx tsx spec/interop/soak-run.ts mixed Plaintext|SSL PER_NODE INTERVAL_MS DOWN_MS
import { py2pSource } from './live.js';
import { mixedScenario, pairScenario } from './scenarios.js';

const { src, why } = py2pSource();
if (!src) {
  process.stderr.write(`${why}\n`);
  process.exit(2);
}
const [kind, enc = 'Plaintext', ...nums] = process.argv.slice(2);
const encryption = enc === 'SSL' ? 'SSL' : 'Plaintext';
const result = kind === 'pair'
  ? await pairScenario(src, encryption, Number(nums[0] ?? 300))
  : await mixedScenario(src, { encryption, perNode: Number(nums[0] ?? 1000), intervalMs: Number(nums[1] ?? 100), downMs: Number(nums[2] ?? 5000), catchUpSeconds: 30 });
process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
