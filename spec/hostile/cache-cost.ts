// Prints the heap cost of one de-duplication entry (a message id in the waterfall cache
// plus a content hash in the re-timed-copy cache), measured after full GCs.
// Run with: node --expose-gc --import tsx spec/hostile/cache-cost.ts [entries]
import { createHash } from 'node:crypto';
import { PathfindingMessage, Protocol, WaterfallCache } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const n = Number(process.argv[2] ?? 100_000);
gc();
const before = process.memoryUsage().heapUsed;
const ids = new WaterfallCache(n, 60);
const contents = new WaterfallCache(n, 60);
const protocol = new Protocol('mesh', 'Plaintext');
for (let i = 0; i < n; i++) {
  // The router's key shapes: a message's idKey (its SHA-384 digest as a 48-char latin1
  // string) and a SHA-1 content digest (20 latin1 chars).
  ids.add(new PathfindingMessage(protocol, 'broadcast', 'sender', ['broadcast', String(i)], [], 1_700_000_000).idKey, 1_700_000_000);
  contents.add(createHash('sha1').update(String(i)).digest('binary'), 1_700_000_000);
}
gc();
const perEntry = (process.memoryUsage().heapUsed - before) / n;
// Reading the caches after the measurement keeps them alive through it.
process.stdout.write(JSON.stringify({ entries: ids.size + contents.size, bytesPerEntry: perEntry }) + '\n');
