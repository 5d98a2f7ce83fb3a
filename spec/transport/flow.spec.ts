// Flow control in the transport seam, for every transport: the per-turn read budget
// (a connection's chunks get at most READ_BUDGET_MS of handling, and it hands on at most
// READ_BUDGET_BYTES, plus the chunk that crossed either, per turn of the event loop) and pause(): while paused, bytes$ gets nothing more, the
// medium stops reading and the sender's own backlog grows; resume() delivers it all.
import { expect } from 'chai';
import { asyncScheduler } from 'rxjs';
import {
  MemoryNetwork, MemoryTransport, TcpTransport, TlsTransport,
  type Transport, type TransportConnection,
} from '../../src/index.js';
import { ByteSource, READ_BUDGET_BYTES, READ_BUDGET_MS, READ_SLICE_BYTES } from '../../src/transport/byte-source.js';
import { nodeWsTransport } from '../../src/transport/ws-listener.js';
import { waitFor } from '../helpers.js';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { sharedCertificate } from '../../src/transport/certificates.js';
import { defaultTransport, listen } from '../../src/mesh-listen.js';
import { resolveOptions } from '../../src/options.js';
import { Protocol } from '../../src/protocol/protocol.js';

const MiB = 1024 * 1024;
const transports: Array<{ name: string; make: () => Transport; socket: boolean }> = [
  { name: 'TCP', make: () => new TcpTransport(), socket: true },
  { name: 'TLS', make: () => new TlsTransport(), socket: true },
  { name: 'WebSocket', make: () => nodeWsTransport({ maxMessageBytes: 16 * MiB, upgradeTimeoutMs: 5_000 }), socket: true },
  { name: 'memory', make: () => new MemoryTransport(new MemoryNetwork({ scheduler: asyncScheduler }), 'a'), socket: false },
];

async function pair(t: Transport): Promise<{ accepted: TransportConnection; dialled: TransportConnection; close: () => Promise<void> }> {
  const listener = await t.listen('127.0.0.1', 0);
  let accepted: TransportConnection | undefined;
  listener.accepted$.subscribe((c) => { accepted = c; });
  const dialled = t.dial('127.0.0.1', listener.address.port);
  dialled.bytes$.subscribe({ error: () => undefined });
  await waitFor(() => accepted !== undefined, 5_000, 'connection accepted');
  return {
    accepted: accepted!,
    dialled,
    close: async () => {
      dialled.destroy();
      accepted!.destroy();
      await listener.close();
    },
  };
}

/** Writes `total` bytes in 64 KiB chunks, waiting for drain when the transport asks to. */
async function writeAll(conn: TransportConnection, total: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let sent = 0; sent < total && !conn.destroyed; sent += chunk.length) {
    if (!conn.write(chunk)) await new Promise<void>((r) => conn.onceDrain(r));
  }
}

/**
 * Sends `total` bytes over a fresh pair and reads them, `work` run on each chunk: the
 * most bytes and the most chunks one turn of the event loop handed on.
 */
async function perTurn(t: Transport, total: number, work: () => void = () => undefined): Promise<{ bytes: number; chunks: number; chunk: number }> {
  const { accepted, dialled, close } = await pair(t);
  let bytes = 0;
  let chunks = 0;
  const most = { bytes: 0, chunks: 0, chunk: 0 };
  let got = 0;
  let imm: NodeJS.Immediate;
  const tick = () => {
    most.bytes = Math.max(most.bytes, bytes);
    most.chunks = Math.max(most.chunks, chunks);
    bytes = 0;
    chunks = 0;
    imm = setImmediate(tick);
  };
  imm = setImmediate(tick);
  accepted.bytes$.subscribe({
    next: (b) => {
      bytes += b.length;
      chunks++;
      got += b.length;
      most.chunk = Math.max(most.chunk, b.length);
      work();
    },
    error: () => undefined,
  });
  try {
    await writeAll(dialled, total);
    await waitFor(() => got >= total, 20_000, 'every byte read');
  } finally {
    clearImmediate(imm!);
    await close();
  }
  return most;
}

describe('transport seam flow control', function () {
  this.timeout(30_000);

  for (const t of transports) {
    if (t.socket) {
      it(`${t.name}: hands on at most the read budget (plus one chunk) per turn of the event loop`, async () => {
        const maxTurn = (await perTurn(t.make(), 16 * MiB)).bytes;
        console.log(`      ${t.name}: 16 MiB read, at most ${(maxTurn / 1024).toFixed(0)} KiB in one turn (budget ${READ_BUDGET_BYTES / 1024} KiB)`);
        expect(maxTurn).to.be.at.most(READ_BUDGET_BYTES + 64 * 1024);
      });
    }

    it(`${t.name}: pause() stops reading (the sender's backlog grows), resume() delivers every byte in order`, async () => {
      const { accepted, dialled, close } = await pair(t.make());
      let got = 0;
      let ordered = true;
      let expect8 = 0;
      accepted.bytes$.subscribe({
        next: (b) => {
          for (let i = 0; i < b.length; i += 4096) if (b[i] !== ((expect8 + i) >> 16 & 0xff)) ordered = false;
          expect8 += b.length;
          got += b.length;
        },
        error: () => undefined,
      });
      accepted.pause!();
      // Numbered 64 KiB chunks (each byte is the chunk's number mod 256), as much as the
      // medium takes before the sender's own backlog passes 1 MiB (a socket: the kernel's
      // buffers are full, nothing is read) or 32 MiB are sent.
      let sent = 0;
      const total = 32 * MiB;
      while (sent < total && dialled.writableLength < MiB) {
        dialled.write(Buffer.alloc(64 * 1024, (sent >> 16) & 0xff));
        sent += 64 * 1024;
        await new Promise((r) => setImmediate(r));
      }
      const whilePaused = got;
      try {
        if (t.socket) expect(dialled.writableLength, 'the sender is held back').to.be.at.least(MiB);
        expect(whilePaused).to.be.at.most(64 * 1024);
        accepted.resume!();
        await waitFor(() => got >= sent, 20_000, 'every byte after resume');
      } finally {
        await close();
      }
      console.log(`      ${t.name}: ${(whilePaused / 1024).toFixed(0)} KiB read while paused, ${(sent / MiB).toFixed(0)} MiB sent, all of it read after resume`);
      expect(got).to.equal(sent);
      expect(ordered).to.equal(true);
    });
  }
});

describe('the per-turn handling budget (time, not bytes)', function () {
  this.timeout(30_000);

  it('pauses the medium once the chunks of one turn took READ_BUDGET_MS to handle, and resumes it on the next turn (a clock of its own)', () => {
    let clock = 0;
    const calls: string[] = [];
    let turn: (() => void) | undefined;
    const source = new ByteSource(
      { pause: () => calls.push('pause'), resume: () => calls.push('resume') },
      { now: () => clock, nextTurn: (fn) => { turn = fn; return () => { turn = undefined; }; } },
    );
    const handled: number[] = [];
    // Each chunk takes 1 ms of the subscriber's work (the clock moves while it handles it).
    source.bytes$.subscribe((b) => { handled.push(b.length); clock += 1; });
    calls.length = 0; // the subscription resumed the medium
    const chunk = Buffer.alloc(1024);
    source.push(chunk);
    expect(calls, 'one chunk, 1 ms: within the budget').to.deep.equal([]);
    for (let i = 1; i < READ_BUDGET_MS; i++) source.push(chunk);
    expect(calls, `${READ_BUDGET_MS} ms used: paused until the next turn`).to.deep.equal(['pause']);
    expect(source.paused).to.equal(true);
    turn!();
    expect(calls).to.deep.equal(['pause', 'resume']);
    expect(source.paused).to.equal(false);
    expect(handled.length).to.equal(READ_BUDGET_MS);
    // Chunks that take no time are held by the byte budget alone.
    clock = 0;
    const free = new ByteSource({ pause: () => calls.push('pause free'), resume: () => undefined }, { now: () => clock, nextTurn: () => () => undefined });
    free.bytes$.subscribe(() => undefined);
    for (let i = 0; i * 64 * 1024 < READ_BUDGET_BYTES - 64 * 1024; i++) free.push(Buffer.alloc(64 * 1024));
    expect(free.paused).to.equal(false);
    free.push(Buffer.alloc(64 * 1024));
    expect(free.paused).to.equal(true);
  });

  it('hands a chunk larger than READ_SLICE_BYTES on in slices, the budget checked between them: the rest waits for the next turn, in order, and the end after it', () => {
    let clock = 0;
    let turn: (() => void) | undefined;
    const calls: string[] = [];
    const source = new ByteSource(
      { pause: () => calls.push('pause'), resume: () => calls.push('resume') },
      { now: () => clock, nextTurn: (fn) => { turn = fn; return () => { turn = undefined; }; } },
    );
    // One 16 MiB chunk (a WebSocket message), its bytes numbered; each slice takes 1 ms.
    const big = Buffer.alloc(16 * MiB);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff;
    const pieces: Buffer[] = [];
    let completed = false;
    source.bytes$.subscribe({ next: (b) => { pieces.push(Buffer.from(b)); clock += 1; }, complete: () => { completed = true; } });
    source.push(big);
    source.end();
    const perTurn: number[] = [pieces.length];
    for (let guard = 0; turn !== undefined && guard < 10_000; guard++) {
      const before = pieces.length;
      turn();
      perTurn.push(pieces.length - before);
    }
    expect(Math.max(...pieces.map((p) => p.length))).to.equal(READ_SLICE_BYTES);
    expect(Math.max(...perTurn), 'slices handed on in one turn').to.equal(READ_BUDGET_MS);
    expect(Buffer.concat(pieces).equals(big), 'every byte, in order').to.equal(true);
    expect(completed, 'the end after the last slice').to.equal(true);
    expect(calls[0], 'the medium paused while the rest waits').to.equal('pause');
  });

  it('TCP and TLS sockets read at most READ_SLICE_BYTES at a time: the slicing never cuts their chunks', async () => {
    const { cert, key } = sharedCertificate();
    for (const kind of ['TCP', 'TLS'] as const) {
      let largest = 0;
      let got = 0;
      const server = kind === 'TCP'
        ? net.createServer((s) => s.on('data', (b: Buffer) => { largest = Math.max(largest, b.length); got += b.length; }))
        : tls.createServer({ cert, key }, (s) => s.on('data', (b: Buffer) => { largest = Math.max(largest, b.length); got += b.length; }));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as net.AddressInfo).port;
      const client = kind === 'TCP' ? net.connect({ host: '127.0.0.1', port }) : tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      try {
        await new Promise<void>((r) => client.once(kind === 'TCP' ? 'connect' : 'secureConnect', () => r()));
        client.write(Buffer.alloc(8 * MiB, 3));
        await waitFor(() => got >= 8 * MiB, 20_000, `${kind}: every byte read`);
      } finally {
        client.destroy();
        await new Promise<void>((r) => server.close(() => r()));
      }
      expect(largest, `${kind}: largest read`).to.be.at.most(READ_SLICE_BYTES);
    }
  });

  it('holds what is left of a chunk when the reader pauses inside it, and hands it on after resume()', () => {
    let turn: (() => void) | undefined;
    const source = new ByteSource({ pause: () => undefined, resume: () => undefined }, { nextTurn: (fn) => { turn = fn; return () => { turn = undefined; }; } });
    let got = 0;
    source.bytes$.subscribe((b) => {
      got += b.length;
      if (got === 2 * READ_SLICE_BYTES) source.pause();
    });
    source.push(Buffer.alloc(8 * READ_SLICE_BYTES));
    expect(got, 'nothing past the pause').to.equal(2 * READ_SLICE_BYTES);
    expect(source.paused).to.equal(true);
    source.resume();
    expect(got, 'the rest goes on in a turn of its own').to.equal(2 * READ_SLICE_BYTES);
    turn!();
    expect(got).to.equal(8 * READ_SLICE_BYTES);
    expect(source.paused).to.equal(false);
  });

  it('readBudgetBytes reaches the default TCP, TLS and WebSocket transports: a 16 KiB budget bounds every turn', async () => {
    const budget = 16 * 1024;
    const o = resolveOptions({ readBudgetBytes: budget, webSocket: { port: 0 } });
    const l = listen(new TcpTransport(), '127.0.0.1', 0, o);
    const [tcpListener] = await l.listening;
    try {
      for (const [name, t] of [
        ['TCP', defaultTransport(new Protocol('mesh', 'Plaintext'), o)],
        ['TLS', defaultTransport(new Protocol('mesh', 'SSL'), o)],
        ['WebSocket', l.ws!],
      ] as const) {
        const most = await perTurn(t, 8 * MiB);
        console.log(`      ${name}, readBudgetBytes 16 KiB: at most ${(most.bytes / 1024).toFixed(0)} KiB in one turn (chunks up to ${(most.chunk / 1024).toFixed(0)} KiB)`);
        expect(most.bytes, name).to.be.at.most(budget + most.chunk);
      }
    } finally {
      await tcpListener.close();
    }
  });

  it('a budget of 0 is none: 32 chunks of 64 KiB in one turn, each handled for 1 ms, never pause the medium', () => {
    let pauses = 0;
    const source = new ByteSource({ pause: () => { pauses++; }, resume: () => undefined }, { budget: 0, budgetMs: 0 });
    let got = 0;
    source.bytes$.subscribe((b) => {
      got += b.length;
      const until = performance.now() + 1;
      while (performance.now() < until) { /* 1 ms of handling */ }
    });
    // (Until it has a subscriber, a source holds its medium paused.)
    pauses = 0;
    for (let i = 0; i < 32; i++) source.push(new Uint8Array(READ_SLICE_BYTES));
    expect(got).to.equal(32 * READ_SLICE_BYTES);
    expect(pauses).to.equal(0);
    expect(source.paused).to.equal(false);
  });

  it('TCP: a connection whose chunks each take 1 ms of handling hands on at most READ_BUDGET_MS of them (plus one) per turn', async () => {
    const maxChunks = (await perTurn(new TcpTransport(), 8 * MiB, () => {
      const until = performance.now() + 1;
      while (performance.now() < until) { /* the handling of one chunk: 1 ms of the loop */ }
    })).chunks;
    console.log(`      TCP, 1 ms per chunk: at most ${maxChunks} chunks in one turn (budget ${READ_BUDGET_MS} ms)`);
    expect(maxChunks).to.be.at.most(READ_BUDGET_MS + 1);
  });
});
