// The repair store alone: its bounds, its order, its bucket digests, against a model.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RepairStore } from '../../src/actors/repair-store.js';
import { word } from '../../src/actors/repair-store.js';
import { prng } from '../prng.js';

const keyFrom = (n: number) => '\0\0\0\0' + String.fromCharCode((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);

function frame(random: () => number, n: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (n * 31 + i * 7 + Math.floor(random() * 3)) & 255;
  return b;
}

interface StoreMemory { entries: number; frameBytes: number; arenaBytes: number; totalBytes: number; overheadPerEntry: number }
const mb = (n: number) => (n / 1e6).toFixed(1);

describe('repair store', () => {
  for (const [maxMessages, maxBytes, sizes] of [[100, 1 << 20, [10, 50]], [10_000, 64 * 1024, [1, 3_000]], [300, 20_000, [100, 5_000]]] as const) {
    it(`keeps a suffix of what it was given, intact, within ${maxMessages} entries and ${maxBytes} bytes (frames ${sizes[0]}-${sizes[1]} B)`, () => {
      const random = prng(maxMessages + maxBytes);
      const store = new RepairStore(maxMessages, maxBytes, 60, 2);
      const added: Array<{ key: string; time: number; frame: Buffer }> = [];
      for (let n = 0; n < 5_000; n++) {
        // Random short ids (as the tails of ids are): the store is given each message once.
        const key = String.fromCharCode(...Array.from({ length: 8 }, () => 49 + Math.floor(random() * 73)));
        const size = sizes[0] + Math.floor(random() * (sizes[1] - sizes[0]));
        const f = frame(random, n, size);
        const stored = store.add(key, 1000 + Math.floor(n / 100), random() < 0.5 ? f : [f.subarray(0, size >> 1), f.subarray(size >> 1)]);
        if (stored) added.push({ key, time: 1000 + Math.floor(n / 100), frame: f });
        else expect(size).to.be.greaterThan(maxBytes);
        expect(store.size).to.be.at.most(maxMessages);
        expect(store.bytes).to.be.at.most(maxBytes);
        expect(store.arenaBytes).to.be.at.most(maxBytes);
      }
      // What is held is the newest part of what was stored, in order, byte for byte.
      const held: string[] = [];
      store.forEach((key) => held.push(key));
      expect(held.length).to.equal(store.size);
      const suffix = added.slice(added.length - held.length);
      expect(held).to.deep.equal(suffix.map((x) => x.key));
      for (const x of suffix) expect(store.get(x.key)!.equals(x.frame)).to.equal(true);
      for (const x of added.slice(0, added.length - held.length)) expect(store.has(x.key)).to.equal(false);
      expect(store.bytes).to.equal(suffix.reduce((n, x) => n + x.frame.length, 0));
      if (sizes[1] * maxMessages < maxBytes) expect(store.size).to.equal(maxMessages);
      // Bucket digests: count and XOR of the held ids per 2 s of time.
      const model = new Map<number, { count: number; x0: number; x1: number }>();
      for (const x of suffix) {
        const d = model.get(Math.floor(x.time / 2)) ?? { count: 0, x0: 0, x1: 0 };
        d.count++;
        d.x0 = (d.x0 ^ word(x.key, 0)) >>> 0;
        d.x1 = (d.x1 ^ word(x.key, 4)) >>> 0;
        model.set(Math.floor(x.time / 2), d);
      }
      const digests = new Map([...store.digests()].map((d) => [d.index, { count: d.count, x0: d.x0, x1: d.x1 }]));
      expect(digests).to.deep.equal(model);
    });
  }

  it('drops what is older than its window, oldest first, and refuses a frame larger than its byte bound', () => {
    const store = new RepairStore(1_000, 10_000, 60, 2);
    for (let t = 0; t < 100; t++) store.add(keyFrom(t), 1000 + t, Buffer.alloc(10, t));
    store.expire(1000 + 60 + 50);
    expect(store.size).to.equal(50);
    expect(store.has(keyFrom(49))).to.equal(false);
    expect(store.has(keyFrom(50))).to.equal(true);
    expect(store.add(keyFrom(5_000), 1200, Buffer.alloc(10_001))).to.equal(false);
    expect(store.completeSince).to.equal(0);
  });

  it('measures its memory at its count bound and at its byte bound', function () {
    this.timeout(60_000);
    // In a process of its own with --expose-gc, so that the heap figures are its own.
    const script = fileURLToPath(new URL('../../bench/repair-store-memory.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, StoreMemory>;
    for (const [name, x] of Object.entries(m)) {
      console.log(`      at its ${name}: ${x.entries.toLocaleString('en-US')} entries, ${mb(x.frameBytes)} MB of frames in a ${mb(x.arenaBytes)} MB arena; `
        + `memory +${mb(x.totalBytes)} MB in all (heap and buffers, after GC): ${x.overheadPerEntry.toFixed(0)} bytes per entry beside the arena`);
    }
    // Beside the arena (at most repairStoreMaxBytes), a few dozen bytes per entry: ring, index, buckets.
    for (const x of Object.values(m)) {
      expect(x.arenaBytes).to.be.at.most(16 * 2 ** 20);
      expect(x.overheadPerEntry).to.be.below(100);
    }
  });
});
