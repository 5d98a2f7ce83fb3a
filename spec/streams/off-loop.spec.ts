// The pipeline stages that hand work to the thread pool (node:zlib inflate, WebCrypto
// digest) keep frames in order and keep the bounds: what comes out is what the
// synchronous path gives, in the order the frames came.
import { expect } from 'chai';
import { deflateSync, gzipSync } from 'node:zlib';
import { from, lastValueFrom, toArray, catchError, of, concat, throwError } from 'rxjs';
import { DecompressedTooLargeError, PathfindingMessage, Protocol, inflate, parseMessage, type CodecLimits, type ParsedFrame } from '../../src/index.js';
import { digestLarge } from '../../src/streams/digest.js';
import type { InflatedFrame } from '../../src/streams/inflate.js';
import { prng, randomBuffer } from '../prng.js';

const protocol = new Protocol('mesh', 'Plaintext');
const limits: CodecLimits = { maxFrameBytes: 8 << 20, maxDecompressedBytes: 4 << 20, maxPackets: 64 };
const gzip = () => ['gzip'] as const;

function plainBody(text: string): Buffer {
  return new PathfindingMessage(protocol, 'broadcast', 'sender', ['broadcast', text], [], 1_700_000_000).string.subarray(4);
}

async function run(bodies: Buffer[], asyncMinBytes: number, end?: Error): Promise<Array<string | InflatedFrame>> {
  const source = end ? concat(from(bodies), throwError(() => end)) : from(bodies);
  return lastValueFrom(source.pipe(
    inflate(gzip, limits, { asyncMinBytes }),
    catchError((e: Error) => of(`error ${e.name}`)),
    toArray(),
  ));
}

const texts = (out: Array<string | InflatedFrame>) => out.map((o) => (typeof o === 'string' ? o : PathfindingMessage.fromBody(protocol, o.body).payload[1]!.toString().slice(0, 12)));

describe('pipeline stages off the event loop', function () {
  const small = plainBody('small');
  const big = plainBody('b'.repeat(2 << 20)); // inflates past the on-loop share (4 x 64 KiB)

  it('keeps frame order around bodies inflated on the thread pool, as the synchronous path does', async () => {
    // Its compressed body is past 64 KiB: straight to the thread pool.
    const random = randomBuffer(prng(37), 200_000);
    expect(deflateSync(plainBody(random.toString('latin1'))).length).to.be.above(64 * 1024);
    const bodies = [deflateSync(small), deflateSync(big), small, deflateSync(plainBody(random.toString('latin1'))), deflateSync(small), big];
    const offLoop = await run(bodies, 64 * 1024);
    const onLoop = await run(bodies, 0);
    expect(texts(offLoop)).to.deep.equal(texts(onLoop));
    expect(texts(offLoop)[1]).to.equal('bbbbbbbbbbbb');
    expect((offLoop as InflatedFrame[]).map((f) => f.compressionFail)).to.deep.equal((onLoop as InflatedFrame[]).map((f) => f.compressionFail));
  });

  it('ends with DecompressedTooLargeError for a bomb inflated on the thread pool, after the frames before it, and passes the source error on last', async () => {
    const bomb = deflateSync(Buffer.alloc(64 << 20));
    expect(await run([deflateSync(small), bomb, deflateSync(small)], 64 * 1024).then(texts)).to.deep.equal(['small', `error ${DecompressedTooLargeError.name}`]);
    const failure = new Error('socket reset');
    expect(await run([deflateSync(big), deflateSync(small)], 64 * 1024, failure).then(texts)).to.deep.equal(['bbbbbbbbbbbb', 'small', 'error Error']);
  });

  it('reads a gzip body with bytes after its end, as py2p does, on either path', async () => {
    const trailing = Buffer.concat([gzipSync(big), Buffer.from('junk after the end')]);
    expect(texts(await run([trailing], 64 * 1024))).to.deep.equal(['bbbbbbbbbbbb']);
    expect(texts(await run([trailing], 0))).to.deep.equal(['bbbbbbbbbbbb']);
  });

  it('digests large broadcasts on the thread pool to the same dedupKey, keeping order', async () => {
    const payloads = ['a', 'z'.repeat(2 << 20), 'b', 'y'.repeat(1 << 20)];
    const bodies = payloads.map((p) => new PathfindingMessage(protocol, 'broadcast', 'sender', ['broadcast', p], [], 1_700_000_000).string.subarray(4));
    const parsed: ParsedFrame[] = await lastValueFrom(from(bodies.map((body) => ({ raw: body, body, compressionFail: false }))).pipe(
      parseMessage(protocol, limits), digestLarge(), toArray(),
    ));
    const frames = parsed as Array<Extract<ParsedFrame, { ok: true }>>;
    expect(frames.map((f) => f.msg.payload[1]!.length)).to.deep.equal(payloads.map((p) => p.length));
    for (let i = 0; i < frames.length; i++) {
      const fresh = PathfindingMessage.fromBody(protocol, bodies[i]!);
      expect(frames[i]!.msg.dedupKey, `message ${i}`).to.equal(fresh.dedupKey);
    }
  });
});
