// Prints the heap cost of one de-duplication entry (a message id in the waterfall cache
// plus a content hash in the re-timed-copy cache), measured after full GCs.
// Run with: node --expose-gc --import tsx spec/hostile/cache-cost.ts [entries]
import { createHash } from 'node:crypto';
import { toBase58, WaterfallCache } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const n = Number(process.argv[2] ?? 100_000);
gc();
const before = process.memoryUsage().heapUsed;
const ids = new WaterfallCache(n, 60);
const contents = new WaterfallCache(n, 60);
for (let i = 0; i < n; i++) {
  // Real shapes: a base_58 SHA-384 id (about 66 characters), a base64 SHA-1 content key.
  ids.add(toBase58(createHash('sha384').update(String(i)).digest()), 1_700_000_000);
  contents.add(createHash('sha1').update(String(i)).digest('base64'), 1_700_000_000);
}
gc();
const perEntry = (process.memoryUsage().heapUsed - before) / n;
// Reading the caches after the measurement keeps them alive through it.
process.stdout.write(JSON.stringify({ entries: ids.size + contents.size, bytesPerEntry: perEntry }) + '\n');
