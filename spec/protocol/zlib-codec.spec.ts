// One zlib codec (issue #22): the synchronous engine (pako, SyncZlib) and node:zlib's
// (src/streams/zlib-async.ts) share src/protocol/zlib-format.ts's decisions, and read
// each other's output alike, limits and failures included.
import { expect } from 'chai';
import sinon from 'sinon';
import { deflateSync, gzipSync } from 'node:zlib';
import { DecompressedTooLargeError, DecompressionFailedError } from '../../src/protocol/errors.js';
import { SyncZlib } from '../../src/protocol/sync-zlib.js';
import { mayBeCompressed } from '../../src/protocol/zlib-format.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { compressFrameSync, deflateNodeSync, inflateAsync, inflateNodeSync } from '../../src/streams/zlib-async.js';
import { IdleReleasingZlib } from '../../src/streams/zlib-codec.js';
import { prng } from '../prng.js';

function sample(seed: number, n: number): Buffer {
  const rand = prng(seed);
  // Half text-like (compressible), half random.
  return Buffer.from(Array.from({ length: n }, (_, i) => (i % 2 ? Math.floor(rand() * 256) : 97 + (i % 7))));
}

describe('one zlib codec: SyncZlib and node:zlib', function () {
  it('read each other\'s streams, zlib and gzip, with trailing bytes ignored alike', async function () {
    const sync = new SyncZlib();
    for (const [seed, n] of [[1, 0], [2, 1], [3, 100], [4, 70_000]] as const) {
      const plain = sample(seed, n);
      expect(inflateNodeSync(sync.deflate(plain), 1 << 20, 'gzip').equals(plain)).to.equal(true);
      expect(sync.inflate(deflateNodeSync(plain), 1 << 20, 'gzip').equals(plain)).to.equal(true);
      const gz = Buffer.concat([gzipSync(plain), Buffer.from('trailing')]);
      expect(sync.inflate(gz, 1 << 20, 'gzip').equals(plain)).to.equal(true);
      expect(inflateNodeSync(gz, 1 << 20, 'gzip').equals(plain)).to.equal(true);
      expect((await inflateAsync(gz, 1 << 20, 'gzip')).equals(plain)).to.equal(true);
      expect(mayBeCompressed(sync.deflate(plain), 'gzip')).to.equal(true);
      expect(mayBeCompressed(deflateSync(plain), 'gzip')).to.equal(true);
    }
  });

  it('refuse past the cap and fail on garbage with the same errors', async function () {
    const sync = new SyncZlib();
    const big = Buffer.alloc(10_000, 1);
    for (const body of [sync.deflate(big), deflateNodeSync(big)]) {
      expect(() => sync.inflate(body, 9_999, 'gzip')).to.throw(DecompressedTooLargeError);
      expect(() => inflateNodeSync(body, 9_999, 'gzip')).to.throw(DecompressedTooLargeError);
      let err: unknown;
      await inflateAsync(body, 9_999, 'gzip').catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(DecompressedTooLargeError);
    }
    const garbage = Buffer.from([0x78, 0x9c, 1, 2, 3, 4, 5]);
    expect(() => sync.inflate(garbage, 100, 'gzip')).to.throw(DecompressionFailedError);
    expect(() => inflateNodeSync(garbage, 100, 'gzip')).to.throw(DecompressionFailedError);
  });

  it('frame a compressed body the same way', function () {
    const plainFrame = encodeFrame(Buffer.from('0123456789'.repeat(20)));
    const framed = compressFrameSync(plainFrame);
    expect(framed.readUInt32BE(0)).to.equal(framed.length - 4);
    expect(inflateNodeSync(framed.subarray(4), 1000, 'gzip').equals(plainFrame.subarray(4))).to.equal(true);
  });

  it('a reset SyncZlib deflates byte for byte like a new one', function () {
    const kept = new SyncZlib();
    for (let i = 0; i < 5; i++) {
      const plain = sample(10 + i, 5000);
      expect(kept.deflate(plain).equals(new SyncZlib().deflate(plain))).to.equal(true);
    }
  });
});

describe('IdleReleasingZlib', function () {
  afterEach(() => sinon.restore());

  it('lets go of its states once unused for idleMs, on its clock, not before', function () {
    const clock = sinon.useFakeTimers();
    const release = sinon.spy(SyncZlib.prototype, 'release');
    const z = new IdleReleasingZlib(1000, () => clock.now);
    z.deflate(Buffer.from('a'));
    clock.tick(600);
    z.deflate(Buffer.from('b'));
    clock.tick(600); // 1200 since the first use, 600 since the last
    expect(release.callCount).to.equal(0);
    clock.tick(500);
    expect(release.callCount).to.equal(1);
    expect(clock.countTimers()).to.equal(0);
    expect(z.inflate(z.deflate(Buffer.from('again')), 100, 'gzip').toString()).to.equal('again');
    z.release();
    expect(clock.countTimers()).to.equal(0);
  });
});
