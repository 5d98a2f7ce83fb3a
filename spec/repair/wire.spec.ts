// The repair exchange's packets alone: round trips, and bad bytes that raise only typed errors.
import { expect } from 'chai';
import { MalformedControlError } from '../../src/index.js';
import { decodeHave, decodeSummary, decodeWant, encodeHave, encodeSummary, encodeWant, type Have, type Summary } from '../../src/protocol/repair-wire.js';
import { prng } from '../prng.js';

const idOf = (random: () => number) => String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(random() * 256)));

describe('repair wire packets', () => {
  it('decode(encode(x)) is x for summaries, haves and wants', () => {
    const random = prng(14);
    for (let n = 0; n < 200; n++) {
      const sum: Summary = {
        horizon: Math.floor(random() * 2 ** 32), completeSince: Math.floor(random() * 2 ** 32), bucketSeconds: 1 + Math.floor(random() * 60),
        buckets: Array.from({ length: Math.floor(random() * 40) }, () => ({
          index: Math.floor(random() * 2 ** 32), count: Math.floor(random() * 2 ** 32), x0: Math.floor(random() * 2 ** 32), x1: Math.floor(random() * 2 ** 32),
        })),
      };
      expect(decodeSummary(encodeSummary(sum), 64)).to.deep.equal(sum);
      const have: Have = {
        horizon: Math.floor(random() * 2 ** 32), bucketSeconds: 1 + Math.floor(random() * 60),
        buckets: Array.from({ length: Math.floor(random() * 5) }, () => {
          const k = Math.floor(random() * 20);
          return { index: Math.floor(random() * 2 ** 32), complete: random() < 0.5, ids: Array.from({ length: k }, () => idOf(random)), times: Array.from({ length: k }, () => Math.floor(random() * 2 ** 32)) };
        }),
      };
      expect(decodeHave(encodeHave(have), 4096)).to.deep.equal(have);
      const ids = Array.from({ length: Math.floor(random() * 50) }, () => idOf(random));
      expect(decodeWant(encodeWant(ids), 4096)).to.deep.equal(ids);
    }
  });

  it('refuses truncated, oversized and inconsistent packets with MalformedControlError only', () => {
    const random = prng(15);
    const ids = Array.from({ length: 100 }, () => idOf(random));
    expect(() => decodeWant(encodeWant(ids), 99)).to.throw(MalformedControlError);
    expect(() => decodeWant(Buffer.alloc(7), 10)).to.throw(MalformedControlError);
    const have = encodeHave({ horizon: 1, bucketSeconds: 2, buckets: [{ index: 1, complete: true, ids, times: ids.map(() => 5) }] });
    expect(() => decodeHave(have, 99)).to.throw(MalformedControlError);
    // A bucket announcing 2^32 - 1 ids in a short packet: refused before any is read.
    const lying = Buffer.from(have);
    lying.writeUInt32BE(0xffffffff, 6 + 5);
    expect(() => decodeHave(lying, 4096)).to.throw(MalformedControlError);
    expect(() => decodeSummary(Buffer.alloc(10 + 16 * 65), 64)).to.throw(MalformedControlError);
    expect(() => decodeSummary(Buffer.alloc(10), 64)).to.throw(MalformedControlError); // bucket of 0 s
    for (let n = 0; n < 2_000; n++) {
      const junk = Buffer.from(Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)));
      for (const decode of [() => decodeSummary(junk, 64), () => decodeHave(junk, 4096), () => decodeWant(junk, 4096)]) {
        try {
          decode();
        } catch (err) {
          expect(err).to.be.instanceOf(MalformedControlError);
        }
      }
    }
  });
});
