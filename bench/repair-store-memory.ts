// Memory of the repair store at its default bounds (run with --expose-gc): filled past its
// count bound with 180-byte frames (a 100-byte broadcast), and past its byte bound with
// 4 KiB frames. Prints one JSON line: { countBound, byteBound }.
import { createHash } from 'node:crypto';
import { RepairStore } from '../src/actors/repair-store.js';
import { defaultOptions } from '../src/options.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function fill(frameSize: number, count: number) {
  const frame = Buffer.alloc(frameSize, 7);
  const before = used();
  const store = new RepairStore(defaultOptions.repairStoreMaxMessages, defaultOptions.repairStoreMaxBytes, 60, 2);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i++) {
    const key = createHash('sha256').update(String(i)).digest('binary').slice(0, 8);
    store.add(key, now - 30 + Math.floor((30 * i) / count), frame);
  }
  const totalBytes = used() - before;
  const result = {
    entries: store.size, frameBytes: store.bytes, arenaBytes: store.arenaBytes, totalBytes,
    overheadPerEntry: (totalBytes - store.arenaBytes) / store.size,
  };
  // Keep the store alive until measured.
  if (store.size < 0) console.log(store);
  return result;
}

// Unrelated allocations in the process (the loader, lazy compilation, timers) can only add to a
// figure, never take from it: each bound is filled three times and the smallest figure is kept.
function leastOf(frameSize: number, count: number) {
  const runs = [0, 1, 2].map(() => fill(frameSize, count));
  return runs.reduce((a, b) => (b.totalBytes < a.totalBytes ? b : a));
}

const countBound = leastOf(180, 2 * defaultOptions.repairStoreMaxMessages);
const byteBound = leastOf(4096, 2 * Math.ceil(defaultOptions.repairStoreMaxBytes / 4096));
console.log(JSON.stringify({ 'count bound': countBound, 'byte bound': byteBound }));
