import { expect } from 'chai';
import fc from 'fast-check';
import { deflate as pakoDeflate } from 'pako';
import { decompress } from '../../src/protocol/compression.js';
import {
  Deframer,
  FrameTooLargeError,
  PathfindingMessage,
  Protocol,
  ProtocolError,
  compress,
  encodeFrame,
  fromBase58,
  toBase58,
} from '../../src/protocol/index.js';

const protocol = new Protocol('mesh', 'Plaintext');

const packet = fc.uint8Array({ maxLength: 2000 });
const textOrBytes = fc.oneof(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 80 }));
// Subsets/orders of gzip, the py2p methods this build lacks, and names py2p never knew.
const compressionList = fc.oneof(
  fc.constant(null),
  fc.uniqueArray(fc.constantFrom('gzip', 'bz2', 'lzma', 'zstd', 'snappy', ''), { maxLength: 6 }),
);
const time = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 2 ** 32 }));

/** Runs fn; it may return or throw a ProtocolError, nothing else. */
function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    expect(e.code).to.match(/^ERR_/);
  }
}

describe('codec properties (fast-check)', function () {
  this.timeout(30_000);

  it('feedString(msg.string) gives back the same message, sized and sizeless', function () {
    fc.assert(
      fc.property(
        textOrBytes,
        textOrBytes,
        fc.array(fc.oneof(packet, fc.string({ maxLength: 200 })), { maxLength: 20 }),
        compressionList,
        time,
        fc.boolean(),
        (msgType, sender, payload, comps, t, sizeless) => {
          const msg = new PathfindingMessage(protocol, msgType, sender, payload, comps, t);
          const wire = sizeless ? msg.nonLenString : msg.string;
          const back = PathfindingMessage.feedString(protocol, wire, sizeless, comps);
          expect(back.compressionFail).to.equal(false);
          expect(back.compressionUsed).to.equal(msg.compressionUsed);
          expect(back.compressionUsed).to.equal(comps?.includes('gzip') ? 'gzip' : null);
          expect(back.time).to.equal(BigInt(t));
          expect(back.id).to.equal(msg.id);
          expect(back.msgTypeBytes.equals(msg.msgTypeBytes)).to.equal(true);
          expect(back.senderBytes.equals(msg.senderBytes)).to.equal(true);
          expect(back.payload.length).to.equal(payload.length);
          back.payload.forEach((p, i) => expect(p.equals(msg.payload[i]!)).to.equal(true));
          expect(back.string.equals(msg.string)).to.equal(true);
          expect(back.length).to.equal(msg.string.length - 4);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('base58 round-trips any non-negative integer', function () {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 400n) - 1n }), (n) => {
        expect(fromBase58(toBase58(n))).to.equal(n);
      }),
      { numRuns: 500 },
    );
  });

  it('a Deframer yields the same frames whatever the chunking', function () {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.boolean(),
        (bodies, cutSeeds, copyFrames) => {
          const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
          const cuts = [...new Set(cutSeeds.map((s) => (stream.length === 0 ? 0 : s % (stream.length + 1))))].sort((a, b) => a - b);
          const d = new Deframer({ maxFrameBytes: 600, copyFrames });
          const out: Buffer[] = [];
          let prev = 0;
          for (const cut of [...cuts, stream.length]) {
            out.push(...d.push(stream.subarray(prev, cut)));
            prev = cut;
          }
          expect(out.map((b) => b.toString('hex'))).to.deep.equal(bodies.map((b) => Buffer.from(b).toString('hex')));
          expect(d.buffered).to.equal(0);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a Deframer fed random bytes only returns frames or throws FrameTooLargeError, then stays failed', function () {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), fc.nat({ max: 300 }), (chunks, max) => {
        const d = new Deframer({ maxFrameBytes: max });
        let failure: unknown;
        for (const c of chunks) {
          try {
            for (const f of d.push(c)) expect(f.length).to.be.at.most(max);
          } catch (e) {
            if (failure === undefined) {
              expect(e).to.be.instanceOf(FrameTooLargeError);
              failure = e;
            } else expect(e).to.equal(failure);
          }
          if (failure !== undefined) expect(d.failed).to.equal(true);
        }
        expect(d.buffered).to.be.at.most(max + 4);
      }),
      { numRuns: 500 },
    );
  });

  it('feedString on random bytes returns or throws a ProtocolError, never anything else', function () {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), compressionList, (bytes, sizeless, comps) => {
        onlyProtocolErrors(() => PathfindingMessage.feedString(protocol, bytes, sizeless, comps));
        // With a correct size header, the packet parser sees the random body.
        onlyProtocolErrors(() => PathfindingMessage.feedString(protocol, encodeFrame(bytes), false, comps));
        // A valid zlib stream of random bytes exercises decompression then parsing.
        onlyProtocolErrors(() => PathfindingMessage.feedString(protocol, encodeFrame(compress(bytes, 'gzip')), false, ['gzip']));
      }),
      { numRuns: 3000 },
    );
  });

  it('feedString on random text returns or throws a ProtocolError', function () {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.boolean(), (text, sizeless) => {
        onlyProtocolErrors(() => PathfindingMessage.feedString(protocol, text, sizeless, null));
      }),
      { numRuns: 300 },
    );
  });

  it('truncated or corrupted valid messages only raise ProtocolErrors, in feedString and in a Deframer', function () {
    fc.assert(
      fc.property(
        fc.array(packet, { maxLength: 6 }),
        compressionList,
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (payload, comps, cutSeed, flips) => {
          const wire = new PathfindingMessage(protocol, 'broadcast', 'sender', payload, comps, 1469151333).string;
          const cut = cutSeed % wire.length; // strictly shorter than the message
          const truncated = wire.subarray(0, cut);
          let err: unknown;
          try {
            PathfindingMessage.feedString(protocol, truncated, false, comps);
          } catch (e) {
            err = e;
          }
          expect(err).to.be.instanceOf(ProtocolError);
          onlyProtocolErrors(() => PathfindingMessage.feedString(protocol, truncated, true, comps));

          const d = new Deframer({ maxFrameBytes: wire.length });
          expect(d.push(truncated)).to.deep.equal([]);
          expect(d.buffered).to.equal(cut);

          const corrupted = Buffer.from(wire);
          for (const [pos, byte] of flips) corrupted[pos % corrupted.length] = byte;
          onlyProtocolErrors(() => PathfindingMessage.feedString(protocol, corrupted, false, comps));
          onlyProtocolErrors(() => PathfindingMessage.feedString(protocol, corrupted.subarray(4), true, comps));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('limits turn oversized input into ProtocolErrors', function () {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 30 }), fc.nat({ max: 40 }), (payload, maxPackets) => {
        const msg = new PathfindingMessage(protocol, 'broadcast', 'sender', payload, null, 1);
        onlyProtocolErrors(() =>
          PathfindingMessage.feedString(protocol, msg.string, false, null, {
            maxPackets,
            maxFrameBytes: 1000,
            maxDecompressedBytes: 1000,
          }),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('compress reuses one deflate state and still gives what a fresh pako deflate gives, byte for byte; decompress reuses one inflate state', function () {
    // Compressible and incompressible inputs of all sizes, in any order: a state left by
    // a large or a highly repetitive input must not change the next output.
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }))
        .map(([unit, times]) => Buffer.concat(Array.from({ length: times }, () => unit))),
    );
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 6 }), (inputs) => {
        for (const data of inputs) {
          const ours = compress(data, 'gzip');
          expect(Buffer.from(ours).equals(Buffer.from(pakoDeflate(data, { level: 6, legacyHash: true })))).to.equal(true);
          expect(Buffer.from(decompress(ours, 'gzip')).equals(Buffer.from(data))).to.equal(true);
        }
      }),
      { numRuns: 150 },
    );
    // An inflate that failed half-way leaves nothing behind for the next one.
    const good = compress(Buffer.alloc(5000, 7), 'gzip');
    expect(() => decompress(good.subarray(0, good.length - 10), 'gzip')).to.throw(ProtocolError);
    expect(decompress(good, 'gzip').equals(Buffer.alloc(5000, 7))).to.equal(true);
  });
});
