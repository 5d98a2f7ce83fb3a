import { expect } from 'chai';
import fc from 'fast-check';
import { WaterfallCache } from '../../src/index.js';

/** The cache's contract, written the obvious way: a list in insertion order. */
class Model {
  entries: Array<[string, number]> = [];
  constructor(readonly max: number, readonly ttl: number) {}
  private find(k: string) { return this.entries.find(([x]) => x === k); }
  private insert(k: string, now: number) {
    this.expire(now);
    while (this.entries.length >= this.max) this.entries.shift();
    this.entries.push([k, now]);
  }
  add(k: string, now: number) {
    if (this.find(k)) return false;
    this.insert(k, now);
    return true;
  }
  putIfAbsent(k: string, now: number) {
    const e = this.find(k);
    if (!e) this.insert(k, now);
    return e?.[1];
  }
  get(k: string) { return this.find(k)?.[1]; }
  expire(now: number) { while (this.entries.length && this.entries[0]![1] < now - this.ttl) this.entries.shift(); }
}

type Op = { kind: 'add' | 'put' | 'get' | 'expire'; key: number; dt: number };
const op = fc.record({ kind: fc.constantFrom<Op['kind']>('add', 'add', 'put', 'get', 'expire'), key: fc.nat(), dt: fc.constantFrom(0, 0, 0, 1, 2) });

function check(max: number, ttl: number, keySpace: number, ops: Op[]): void {
  const cache = new WaterfallCache(max, ttl);
  const model = new Model(max, ttl);
  let now = 1_000;
  for (const o of ops) {
    now += o.dt;
    const k = `k${o.key % keySpace}`;
    switch (o.kind) {
      case 'add': expect(cache.add(k, now)).to.equal(model.add(k, now)); break;
      case 'put': expect(cache.putIfAbsent(k, now)).to.equal(model.putIfAbsent(k, now)); break;
      case 'get':
        expect(cache.get(k)).to.equal(model.get(k));
        expect(cache.has(k)).to.equal(model.get(k) !== undefined);
        break;
      case 'expire': cache.expire(now); model.expire(now); break;
    }
    expect(cache.size).to.equal(model.entries.length);
  }
  expect(cache.entries()).to.deep.equal(model.entries);
}

describe('WaterfallCache', () => {
  it('behaves as an insertion-ordered list bounded by count and age (small bounds, many collisions)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 100 }), fc.array(op, { maxLength: 400 }),
      (max, ttl, keys, ops) => check(max, ttl, keys, ops)), { numRuns: 300 });
  });

  it('behaves the same while its table grows past its first size (thousands of entries)', () => {
    fc.assert(fc.property(fc.integer({ min: 1_100, max: 5_000 }), fc.array(op, { minLength: 5_000, maxLength: 12_000 }),
      (max, ops) => check(max, 1e9, 8_000, ops)), { numRuns: 6 });
  });

  it('evicts the oldest at the bound and counts it, and clear() empties it', () => {
    const c = new WaterfallCache(3, 60);
    for (const k of ['a', 'b', 'c', 'd']) expect(c.add(k, 1)).to.equal(true);
    expect(c.entries().map(([k]) => k)).to.deep.equal(['b', 'c', 'd']);
    expect(c.evicted).to.equal(1);
    expect(c.has('a')).to.equal(false);
    c.clear();
    expect(c.size).to.equal(0);
    expect(c.has('b')).to.equal(false);
    expect(c.add('b', 2)).to.equal(true);
  });

  it('shows an entry by its label when it was given one', () => {
    const c = new WaterfallCache(10, 60, (k) => `key:${k}`);
    c.add('a', 1, 'label-a');
    c.add('b', 2);
    expect(c.entries()).to.deep.equal([['label-a', 1], ['key:b', 2]]);
  });

  it('labels the entry added last with labelNewest(), also after a duplicate add or growth, never an evicted one', () => {
    const c = new WaterfallCache(3, 100);
    expect(c.add('a', 1)).to.equal(true);
    c.labelNewest('A');
    expect(c.add('b', 2)).to.equal(true);
    expect(c.add('a', 3)).to.equal(false);
    c.labelNewest('B');
    expect(c.entries()).to.deep.equal([['A', 1], ['B', 2]]);
    const one = new WaterfallCache(1, 100);
    one.add('x', 1);
    one.expire(500); // x is gone, and with it the newest entry
    one.labelNewest('X');
    expect(one.entries()).to.deep.equal([]);
    const big = new WaterfallCache(5000, 1e6);
    for (let i = 0; i < 1025; i++) big.add(`k${i}`, i);
    big.labelNewest('last');
    expect(big.entries().at(-1)).to.deep.equal(['last', 1024]);
    expect(big.entries()[1023]![0]).to.equal('k1023');
  });

  it('finds 48-byte digest keys among 100,000 and shows them through display()', () => {
    const c = new WaterfallCache(100_000, 1e9, (k) => `<${k.length}>`);
    const key = (i: number) => Buffer.alloc(48, i % 251).fill(i >>> 8, 0, 4).toString('latin1') + String(i);
    for (let i = 0; i < 120_000; i++) c.add(key(i), i);
    expect(c.size).to.equal(100_000);
    expect(c.has(key(19_999))).to.equal(false);
    expect(c.has(key(20_000))).to.equal(true);
    expect(c.get(key(119_999))).to.equal(119_999);
    expect(c.entries()[0]![0]).to.equal(`<${key(20_000).length}>`);
  });
});
