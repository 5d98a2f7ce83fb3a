// Decompression bombs and absurd size headers are refused early, without
// allocating what they announce.
import { expect } from 'chai';
import { Deflate } from 'pako';
import {
  DecompressedTooLargeError,
  Deframer,
  FrameTooLargeError,
  BadSizeHeaderError,
  PathfindingMessage,
  Protocol,
  decompress,
  encodeFrame,
} from '../../src/protocol/index.js';

const MiB = 1024 * 1024;
const BOMB_PLAIN_BYTES = 10 * 1000 * 1000;

/** zlib (or gzip) stream of `size` zero bytes, built without holding them in memory. */
function zeroBomb(size: number, gzip = false): Buffer {
  const deflater = new Deflate({ level: 9, gzip });
  const zeros = new Uint8Array(64 * 1024);
  for (let left = size; left > 0; left -= zeros.length) {
    deflater.push(left >= zeros.length ? zeros : zeros.subarray(0, left), false);
  }
  deflater.push(new Uint8Array(0), true);
  return Buffer.from(deflater.result);
}

interface Growth {
  arrayBuffers: number;
  rss: number;
}

function measure(fn: () => void): Growth {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  fn();
  // No GC in between: what the call allocated is still counted.
  const after = process.memoryUsage();
  return { arrayBuffers: after.arrayBuffers - before.arrayBuffers, rss: after.rss - before.rss };
}

const fmt = (n: number): string => `${(n / MiB).toFixed(2)} MiB`;

describe('decompression bombs and size headers', function () {
  // What this suite measures (time, memory) swings on a shared CI machine; a test whose
  // figure is over its bound is measured once more. A defect fails both runs.
  this.retries(1);
  const protocol = new Protocol('mesh', 'Plaintext');
  const limits = { maxFrameBytes: 16 * MiB, maxDecompressedBytes: 1 * MiB, maxPackets: 10_000 };
  let bomb: Buffer;
  let gzipBomb: Buffer;

  before(function () {
    bomb = zeroBomb(BOMB_PLAIN_BYTES);
    gzipBomb = zeroBomb(BOMB_PLAIN_BYTES, true);
  });

  it('the bomb really is 10 MB of zeros in about 10 KB', function () {
    expect(bomb.length).to.be.below(20_000);
    expect(decompress(bomb, 'gzip', { maxBytes: BOMB_PLAIN_BYTES }).length).to.equal(BOMB_PLAIN_BYTES);
  });

  it('decompress refuses 10 MB of zeros under a 1 MiB cap, holding little more than the cap', function () {
    let err: unknown;
    const growth = measure(() => {
      try {
        decompress(bomb, 'gzip', { maxBytes: 1 * MiB });
      } catch (e) {
        err = e;
      }
    });
    expect(err).to.be.instanceOf(DecompressedTooLargeError);
    expect((err as DecompressedTooLargeError).limit).to.equal(1 * MiB);
    console.log(`      zlib bomb via decompress: arrayBuffers ${fmt(growth.arrayBuffers)}, rss ${fmt(growth.rss)}`);
    expect(growth.arrayBuffers).to.be.below(8 * MiB);
    expect(growth.rss).to.be.below(8 * MiB);
  });

  it('the gzip-wrapped (RFC 1952) bomb is refused the same way', function () {
    let err: unknown;
    const growth = measure(() => {
      try {
        decompress(gzipBomb, 'gzip', { maxBytes: 1 * MiB });
      } catch (e) {
        err = e;
      }
    });
    expect(err).to.be.instanceOf(DecompressedTooLargeError);
    expect(growth.arrayBuffers).to.be.below(8 * MiB);
    expect(growth.rss).to.be.below(8 * MiB);
  });

  it('feedString lets DecompressedTooLargeError through instead of parsing the body as plaintext', function () {
    const wire = encodeFrame(bomb);
    let err: unknown;
    const growth = measure(() => {
      try {
        PathfindingMessage.feedString(protocol, wire, false, ['gzip'], limits);
      } catch (e) {
        err = e;
      }
    });
    expect(err).to.be.instanceOf(DecompressedTooLargeError);
    console.log(`      zlib bomb via feedString: arrayBuffers ${fmt(growth.arrayBuffers)}, rss ${fmt(growth.rss)}`);
    expect(growth.arrayBuffers).to.be.below(8 * MiB);
    expect(growth.rss).to.be.below(8 * MiB);
    expect(() => PathfindingMessage.decompressString(bomb, ['zstd', 'gzip'], limits)).to.throw(DecompressedTooLargeError);
  });

  it('a Deframer refuses a 4 GiB size header before allocating anything', function () {
    const d = new Deframer({ maxFrameBytes: 16 * MiB });
    let err: unknown;
    const growth = measure(() => {
      try {
        d.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]));
      } catch (e) {
        err = e;
      }
    });
    expect(err).to.be.instanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).size).to.equal(0xffffffff);
    expect((err as FrameTooLargeError).limit).to.equal(16 * MiB);
    expect(growth.arrayBuffers).to.be.below(1 * MiB);
    expect(d.buffered).to.equal(0);
    // It stays failed.
    expect(() => d.push(Buffer.from([0]))).to.throw(FrameTooLargeError);
  });

  it('a header split across chunks is checked as soon as its 4th byte arrives', function () {
    const d = new Deframer({ maxFrameBytes: 100 });
    expect(d.push(Buffer.from([0x00, 0x00]))).to.deep.equal([]);
    expect(d.push(Buffer.from([0x00]))).to.deep.equal([]);
    expect(() => d.push(Buffer.from([0x65]))).to.throw(FrameTooLargeError);
  });

  it('a Deframer holds only the bytes received of a large announced frame', function () {
    const d = new Deframer({ maxFrameBytes: 16 * MiB });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(16 * MiB, 0);
    const growth = measure(() => d.push(Buffer.concat([header, Buffer.alloc(10)])));
    expect(d.buffered).to.equal(14);
    expect(growth.arrayBuffers).to.be.below(1 * MiB);
  });

  it('feedString refuses a 4 GiB size header on a short body, and a frame over maxFrameBytes', function () {
    expect(() => PathfindingMessage.feedString(protocol, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2]))).to.throw(BadSizeHeaderError);
    const body = Buffer.alloc(2000);
    expect(() => PathfindingMessage.feedString(protocol, encodeFrame(body), false, null, { ...limits, maxFrameBytes: 1000 })).to.throw(
      FrameTooLargeError,
    );
  });
});
