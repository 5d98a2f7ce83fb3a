// The connection pipeline at the stream level: socketBytes$ → deframe → inflate →
// parseMessage, fed arbitrary chunkings of valid and invalid byte streams. The codec's
// own property tests (spec/protocol) check single frames; these check that splitting
// a stream anywhere changes nothing, and that whatever arrives ends only in values or
// typed errors.
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import fc from 'fast-check';
import { catchError, endWith, from, map, of, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { deflateSync } from 'node:zlib';
import {
  deframe, encodeFrame, encodeLength, inflate, parseMessage, socketBytes$, PathfindingMessage, Protocol, ProtocolError,
  type CodecLimits, type ParsedFrame,
} from '../../src/index.js';

const protocol = new Protocol('mesh', 'Plaintext');
const limits: CodecLimits = { maxFrameBytes: 64 * 1024, maxDecompressedBytes: 64 * 1024, maxPackets: 64 };

/** What a pipeline did, in a form that compares with deep equality. */
type Outcome =
  | { msg: string; type: string; sender: string; payload: string[]; fail: boolean }
  | { undecodable: string }
  | { error: string }
  | 'complete';

function describeFrame(f: ParsedFrame): Outcome {
  if (!f.ok) return { undecodable: f.error.code };
  const m = f.msg;
  return { msg: m.id, type: m.msgType, sender: m.sender, payload: m.payload.map((p) => p.toString('hex')), fail: f.compressionFail };
}

/** The pipeline a Connection builds, over any source of chunks. */
function pipeline(source: Observable<Uint8Array>, methods: readonly string[], onBuffered?: (bytes: number, completed: number) => void): Observable<Outcome> {
  return source.pipe(
    deframe({ maxFrameBytes: limits.maxFrameBytes, onBuffered }),
    inflate(() => methods, limits),
    parseMessage(protocol, limits),
    map(describeFrame),
    endWith<Outcome>('complete'),
    catchError((e: unknown) => {
      // Only typed codec errors may end the stream.
      if (!(e instanceof ProtocolError)) throw e;
      return of<Outcome>({ error: e.code });
    }),
  );
}

/** Runs the pipeline synchronously over the given chunks. */
function run(chunks: Uint8Array[], methods: readonly string[] = ['gzip']): Outcome[] {
  const out: Outcome[] = [];
  pipeline(from(chunks), methods).subscribe({ next: (o) => out.push(o), error: (e) => { throw e; } });
  return out;
}

/** Splits bytes at the given cut points (any numbers; taken modulo the length). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  if (bytes.length === 0) return [bytes];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) { out.push(bytes.subarray(at, p)); at = p; }
  out.push(bytes.subarray(at));
  return out;
}

const packet = fc.oneof(fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 300 }));
const message = fc.record({
  type: fc.constantFrom('broadcast', 'waterfall', 'whisper', 'renegotiate'),
  sender: fc.string({ minLength: 1, maxLength: 20 }),
  payload: fc.array(packet, { maxLength: 8 }),
  time: fc.integer({ min: 0, max: 2 ** 40 }),
  gzip: fc.boolean(),
}).map((m) => new PathfindingMessage(protocol, m.type, m.sender, m.payload, m.gzip ? ['gzip'] : [], m.time));
const cuts = fc.array(fc.nat(), { maxLength: 40 });

/** A stream segment: a valid message, a frame whose body is random, or raw random bytes. */
const segment = fc.oneof(
  { weight: 3, arbitrary: message.map((m) => m.string) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => encodeFrame(b)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => encodeFrame(deflateSync(b))) },
);

describe('connection pipeline under arbitrary chunking (fast-check)', function () {
  this.timeout(60_000);

  it('delivers every message of a valid stream, in order, however the stream is split', function () {
    fc.assert(fc.property(fc.array(message, { maxLength: 12 }), cuts, (msgs, at) => {
      const stream = Buffer.concat(msgs.map((m) => m.string));
      const out = run(split(stream, at));
      expect(out.at(-1)).to.equal('complete');
      const got = out.slice(0, -1) as Array<{ msg: string; type: string; sender: string; payload: string[] }>;
      expect(got.map((o) => o.msg)).to.deep.equal(msgs.map((m) => m.id));
      expect(got.map((o) => o.type)).to.deep.equal(msgs.map((m) => m.msgType));
      expect(got.map((o) => o.payload)).to.deep.equal(msgs.map((m) => m.payload.map((p) => p.toString('hex'))));
    }), { numRuns: 300 });
  });

  it('gives the same outcome for any chunking of any mix of valid frames, random frames and garbage', function () {
    fc.assert(fc.property(fc.array(segment, { maxLength: 10 }), cuts, (segments, at) => {
      const stream = Buffer.concat(segments);
      const whole = run([stream]);
      const chunked = run(split(stream, at));
      // Only values, typed undecodable frames, and at most one typed terminal error.
      expect(chunked).to.deep.equal(whole);
      const last = whole.at(-1)!;
      expect(last === 'complete' || (typeof last === 'object' && 'error' in last)).to.equal(true);
      for (const o of whole) if (typeof o === 'object' && 'undecodable' in o) expect(o.undecodable).to.match(/^ERR_/);
    }), { numRuns: 500 });
  });

  it('ends in a typed error or completes, whatever random bytes arrive in whatever chunks', function () {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), cuts, fc.constantFrom<string[]>([], ['gzip']), (bytes, at, methods) => {
      const out = run(split(Buffer.from(bytes), at), methods);
      const last = out.at(-1)!;
      expect(last === 'complete' || (typeof last === 'object' && 'error' in last && /^ERR_/.test(last.error))).to.equal(true);
    }), { numRuns: 1_000 });
  });

  it('splits a stream at every byte boundary, and into single bytes, with the same result', function () {
    const a = new PathfindingMessage(protocol, 'broadcast', 'alice', ['broadcast', 'hello', Buffer.alloc(300, 1)], [], 1_700_000_000);
    const b = new PathfindingMessage(protocol, 'whisper', 'bob', ['whisper', 'x'.repeat(500)], ['gzip'], 1_700_000_001);
    const stream = Buffer.concat([a.string, b.string, encodeFrame(Buffer.alloc(0))]);
    const whole = run([stream]);
    expect(whole.map((o) => (typeof o === 'object' && 'msg' in o ? o.msg : o))).to.deep.equal([a.id, b.id, { undecodable: 'ERR_MALFORMED_MESSAGE' }, 'complete']);
    for (let i = 1; i < stream.length; i++) expect(run([stream.subarray(0, i), stream.subarray(i)]), `split at ${i}`).to.deep.equal(whole);
    for (let i = 1; i < stream.length; i += 7) {
      for (let j = i + 1; j < stream.length; j += 11) {
        expect(run([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]), `split at ${i}, ${j}`).to.deep.equal(whole);
      }
    }
    expect(run([...stream].map((byte) => Buffer.from([byte])))).to.deep.equal(whole);
  });

  it('refuses an oversized size header as soon as its 4 bytes are in, before any body, after the frames before it', function () {
    fc.assert(fc.property(fc.array(message, { maxLength: 4 }), fc.integer({ min: limits.maxFrameBytes + 1, max: 0xffffffff }), cuts, (msgs, size, at) => {
      const stream = Buffer.concat([...msgs.map((m) => m.string), encodeLength(size)]);
      const out = run(split(stream, at));
      expect(out.length).to.equal(msgs.length + 1);
      expect(out.at(-1)).to.deep.equal({ error: 'ERR_FRAME_TOO_LARGE' });
    }), { numRuns: 200 });
  });

  it('reports the bytes held for the frame in progress, and the frames each chunk completed', function () {
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), cuts, (msgs, at) => {
      const frames = msgs.map((m) => m.string);
      const ends: number[] = [];
      let total = 0;
      for (const f of frames) ends.push((total += f.length));
      const chunks = split(Buffer.concat(frames), at);
      const reports: Array<[number, number]> = [];
      pipeline(from(chunks), ['gzip'], (bytes, completed) => reports.push([bytes, completed])).subscribe();
      expect(reports.length).to.equal(chunks.length);
      let fed = 0;
      let done = 0;
      reports.forEach(([bytes, completed], i) => {
        fed += chunks[i]!.length;
        const nowDone = ends.filter((e) => e <= fed).length;
        expect(completed, `completed after chunk ${i}`).to.equal(nowDone - done);
        done = nowDone;
        expect(bytes, `held after chunk ${i}`).to.equal(fed - (ends[done - 1] ?? 0));
      });
      expect(reports.at(-1)![0]).to.equal(0);
    }), { numRuns: 300 });
  });

  it('ends with DecompressedTooLargeError on a bomb and TooManyPacketsError past maxPackets, after the frames before them', function () {
    const ok = new PathfindingMessage(protocol, 'broadcast', 's', ['broadcast', 'fine'], [], 1);
    const bomb = encodeFrame(deflateSync(Buffer.alloc(10 * limits.maxDecompressedBytes)));
    expect(run([Buffer.concat([ok.string, bomb, ok.string])])).to.deep.equal([run([ok.string])[0], { error: 'ERR_DECOMPRESSED_TOO_LARGE' }]);
    const many = new PathfindingMessage(protocol, 'broadcast', 's', Array.from({ length: limits.maxPackets }, () => 'p'), [], 1);
    expect(run([Buffer.concat([ok.string, many.string])])).to.deep.equal([run([ok.string])[0], { error: 'ERR_TOO_MANY_PACKETS' }]);
  });

  it('reads the same through socketBytes$ over a real Duplex stream, written in arbitrary chunks', async function () {
    const samples = fc.sample(fc.tuple(fc.array(segment, { maxLength: 8 }), cuts), { numRuns: 50, seed: 7 });
    for (const [segments, at] of samples) {
      const stream = Buffer.concat(segments);
      const duplex = new PassThrough();
      const out: Outcome[] = [];
      const done = new Promise<void>((resolve, reject) => {
        pipeline(socketBytes$(duplex), ['gzip']).subscribe({ next: (o) => out.push(o), error: reject, complete: resolve });
      });
      for (const chunk of split(stream, at)) duplex.write(chunk);
      duplex.end();
      duplex.resume();
      await done;
      expect(out).to.deep.equal(run([stream]));
    }
  });
});

describe('connection pipeline in virtual time (marbles)', function () {
  const frame1 = new PathfindingMessage(protocol, 'broadcast', 'a', ['broadcast', 'one'], [], 1).string;
  const frame2 = new PathfindingMessage(protocol, 'broadcast', 'b', ['broadcast', 'two'], [], 2).string;
  const frame3 = new PathfindingMessage(protocol, 'whisper', 'c', ['whisper', 'three'], ['gzip'], 3).string;
  /** A frame's body (what deframe emits), as hex. */
  const body = (frame: Buffer) => frame.subarray(4).toString('hex');
  const hex = (b: Buffer) => b.toString('hex');

  function scheduler(): TestScheduler {
    return new TestScheduler((actual, expected) => { expect(actual).to.deep.equal(expected); });
  }

  it('emits each frame when its last byte arrives, several per chunk or one across chunks', function () {
    scheduler().run(({ cold, expectObservable }) => {
      // A group (xy) takes as many frames as its characters: later events are spaced out.
      const source = cold<Uint8Array>('-a-b-----c|', {
        a: frame1.subarray(0, 5),
        b: Buffer.concat([frame1.subarray(5), frame2, frame3.subarray(0, 1)]),
        c: frame3.subarray(1),
      });
      const bodies = source.pipe(deframe({ maxFrameBytes: 1024 }), map(hex));
      expectObservable(bodies).toBe('---(xy)--z|', { x: body(frame1), y: body(frame2), z: body(frame3) });
    });
  });

  it('errors with FrameTooLargeError the moment an oversized header completes, whatever follows', function () {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<Uint8Array>('-a-b-c-|', {
        a: Buffer.concat([frame1, Buffer.from([0x7f, 0xff])]),
        b: Buffer.from([0xff, 0xff, 1, 2, 3]),
        c: frame2,
      });
      const out = source.pipe(
        deframe({ maxFrameBytes: 1024 }),
        map(hex),
        catchError((e: ProtocolError) => of(`error:${e.code}`)),
      );
      expectObservable(out).toBe('-x-(e|)', { x: body(frame1), e: 'error:ERR_FRAME_TOO_LARGE' });
      // The socket's stream is unsubscribed at once: nothing more is read from it.
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('decodes through inflate and parseMessage at the time the frame completes', function () {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold<Uint8Array>('-a--b-----|', { a: frame3.subarray(0, 10), b: Buffer.concat([frame3.subarray(10), frame1]) });
      const out = pipeline(source, ['gzip']).pipe(map((o) => (typeof o === 'object' && 'payload' in o ? Buffer.from(o.payload[1]!, 'hex').toString() : o)));
      expectObservable(out).toBe('----(xy)--(c|)', { x: 'three', y: 'one', c: 'complete' });
    });
  });
});
