import { expect } from 'chai';
import { lastValueFrom, toArray, firstValueFrom } from 'rxjs';
import { MemoryNetwork, type MemoryConnection } from '../../src/transport/memory.js';
import { HeapScheduler } from '../../src/transport/virtual-scheduler.js';
import type { TransportConnection } from '../../src/transport/transport.js';

async function pair(net: MemoryNetwork, sched: HeapScheduler): Promise<{ a: TransportConnection; b: TransportConnection }> {
  const listener = await net.transport('b').listen('b', 0);
  const accepted = firstValueFrom(listener.accepted$);
  const a = net.transport('a').dial('b', listener.address.port);
  await sched.runUntil(Infinity, () => (a as MemoryConnection).peer !== undefined);
  return { a, b: await accepted };
}

const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString();

describe('memory transport', () => {
  it('carries bytes in order, each after the link latency, in virtual time', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched, latencyMs: 7 });
    const listener = await net.transport('b').listen('b', 0);
    const accepted = firstValueFrom(listener.accepted$);
    const a = net.transport('a').dial('b', listener.address.port);
    a.write(Buffer.from('early '));
    await sched.runUntil(100, () => (a as MemoryConnection).peer !== undefined);
    expect(sched.now()).to.equal(7);
    const b = await accepted;
    expect(b.remoteAddress).to.equal('a');
    expect(a.remoteAddress).to.equal('b');
    const received: Array<[number, string]> = [];
    b.bytes$.subscribe((c) => received.push([sched.now(), Buffer.from(c).toString()]));
    a.write(Buffer.from('one '));
    a.write(Buffer.from('two'));
    await sched.runUntil(1000);
    expect(received).to.deep.equal([[14, 'early '], [14, 'one '], [14, 'two']]);
  });

  it('counts frames by their size headers, however the bytes are chunked', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched });
    const { a } = await pair(net, sched);
    const frame = (n: number) => Buffer.concat([Buffer.from([0, 0, 0, n]), Buffer.alloc(n, 1)]);
    const stream = Buffer.concat([frame(3), frame(0), frame(10)]);
    for (let i = 0; i < stream.length; i += 2) a.write(stream.subarray(i, i + 2));
    expect(net.counters.frames).to.equal(3);
    expect(net.counters.bytes).to.equal(stream.length);
  });

  it('shows an observer the head of every frame and its size, however the bytes are chunked', async () => {
    const sched = new HeapScheduler();
    const seen: Array<[string, number]> = [];
    const net = new MemoryNetwork({ scheduler: sched, frameHeadBytes: 4, onFrame: (head, size) => seen.push([Buffer.from(head).toString(), size]) });
    const { a } = await pair(net, sched);
    const frame = (body: string) => Buffer.concat([Buffer.from([0, 0, 0, body.length]), Buffer.from(body)]);
    const stream = Buffer.concat([frame('abcdefgh'), frame(''), frame('xy')]);
    for (let i = 0; i < stream.length; i += 3) a.write(stream.subarray(i, i + 3));
    expect(seen).to.deep.equal([['abcd', 8], ['', 0], ['xy', 2]]);
  });

  it('holds back writes beyond the bandwidth and says drain once they are out', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched, bytesPerMs: 1000, highWaterMark: 4000, latencyMs: 1 });
    const { a, b } = await pair(net, sched);
    const got: number[] = [];
    b.bytes$.subscribe((c) => got.push(c.length));
    const start = sched.now();
    expect(a.write(Buffer.alloc(3000))).to.equal(true);
    expect(a.write(Buffer.alloc(3000))).to.equal(false);
    let drainedAt = -1;
    a.onceDrain(() => { drainedAt = sched.now(); });
    await sched.runUntil(start + 100);
    expect(drainedAt).to.equal(start + 6);
    expect(got).to.deep.equal([3000, 3000]);
  });

  it('resets connections across a partition and fails dials across it until it heals', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched });
    const { a, b } = await pair(net, sched);
    const aEnd = lastValueFrom(a.bytes$.pipe(toArray())).catch((e: Error & { code: string }) => e.code);
    const bEnd = lastValueFrom(b.bytes$.pipe(toArray())).catch((e: Error & { code: string }) => e.code);
    net.partition([['a'], ['b']], 'reset');
    expect(await aEnd).to.equal('ECONNRESET');
    expect(await bEnd).to.equal('ECONNRESET');
    const again = net.transport('a').dial('b', 1);
    const failed = lastValueFrom(again.bytes$).catch((e: Error & { code: string }) => e.code);
    await sched.runUntil(sched.now() + 50);
    expect(await failed).to.equal('EHOSTUNREACH');
    net.heal();
    const third = net.transport('a').dial('b', 1);
    await sched.runUntil(sched.now() + 50);
    expect((third as MemoryConnection).peer).to.not.equal(undefined);
  });

  it('stalls bytes across a partition in stall mode and delivers them, in order, after it heals', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched, latencyMs: 5 });
    const { a, b } = await pair(net, sched);
    const received: string[] = [];
    b.bytes$.subscribe((c) => received.push(Buffer.from(c).toString()));
    a.write(Buffer.from('x'));
    net.partition([['a'], ['b']], 'stall');
    a.write(Buffer.from('y'));
    expect(a.writableLength).to.equal(1);
    await sched.runUntil(sched.now() + 1000);
    expect(received).to.deep.equal([]);
    net.heal();
    await sched.runUntil(sched.now() + 1000);
    expect(received).to.deep.equal(['x', 'y']);
  });

  it('delivers what was on the wire before a destroy, then ends the other side cleanly', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched, latencyMs: 3 });
    const { a, b } = await pair(net, sched);
    const all = lastValueFrom(b.bytes$.pipe(toArray()));
    a.write(Buffer.from('last words'));
    a.destroy();
    expect(a.destroyed).to.equal(true);
    await sched.runUntil(sched.now() + 10);
    expect(text(await all)).to.equal('last words');
    await b.closed;
    expect(net.openConnections).to.equal(0);
  });

  it('refuses a dial to a port nobody listens on', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched });
    const c = net.transport('a').dial('nowhere', 9);
    const code = lastValueFrom(c.bytes$).catch((e: Error & { code: string }) => e.code);
    await sched.runUntil(10);
    expect(await code).to.equal('ECONNREFUSED');
  });

  it('counts connections that link the same two hosts more than once', async () => {
    const sched = new HeapScheduler();
    const net = new MemoryNetwork({ scheduler: sched });
    const listener = await net.transport('b').listen('b', 0);
    const first = net.transport('a').dial('b', listener.address.port);
    await sched.runUntil(10);
    expect(net.duplicatePairs()).to.equal(0);
    const second = net.transport('a').dial('b', listener.address.port);
    await sched.runUntil(20);
    expect(net.duplicatePairs()).to.equal(1);
    second.destroy();
    first.destroy();
    expect(net.duplicatePairs()).to.equal(0);
  });
});
