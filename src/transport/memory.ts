// An in-memory transport: ordered, reliable byte streams between nodes of one process,
// with latency, bandwidth, partitions and resets injected by a MemoryNetwork. All timing
// is on the RxJS scheduler the network is given (virtual time in a simulation): no
// wall-clock timer anywhere, so that a seeded run is reproducible byte for byte.
import { Observable, Subject, type SchedulerLike, type Subscriber } from 'rxjs';
import { ByteSource } from './byte-source.js';
import type { BoundAddress, Listener, ListenerNotice, Transport, TransportConnection } from './transport.js';

/** How a MemoryNetwork behaves: its clock, latency, bandwidth and buffers. */
export interface MemoryNetworkOptions {
  /** Where every delay is scheduled; its now() is the network's clock (ms). */
  scheduler: SchedulerLike;
  /** One-way delay from host `from` to host `to`, in ms. Default 1. */
  latencyMs?: number | ((from: string, to: string) => number);
  /** Bytes per ms one direction of a connection carries; Infinity (default) for no limit. */
  bytesPerMs?: number;
  /** write() returns false from this backlog on (net.Socket's default). Default 16 KiB. */
  highWaterMark?: number;
  /** A dial to an unreachable (partitioned) host fails after this long. Default 3,000 ms. */
  dialTimeoutMs?: number;
  /**
   * Called for every frame put on the wire, with the first frameHeadBytes bytes of its
   * body (fewer if the body is shorter) and the body's size: to classify traffic (a
   * simulation tells floods from repair this way). The head is the observer's to keep.
   */
  onFrame?: (head: Uint8Array, size: number) => void;
  /** How much of a frame's body onFrame sees. Default 256. */
  frameHeadBytes?: number;
}

/** What a partition does to connections that cross it when it starts. */
export type PartitionMode = 'reset' | 'stall';

/** Counters of the whole network since it was made (or since resetCounters()). */
export interface NetworkCounters {
  /** Frames (4-byte size header + body, as the mesh writes them) put on the wire. */
  frames: number;
  /** Bytes delivered. */
  bytes: number;
  /** Dials attempted. */
  dials: number;
  /** Dials that failed (nobody listening, or a partition). */
  dialsFailed: number;
  /** Connections reset by the network (partition in 'reset' mode, reset()). */
  resets: number;
}

/** An error as Node's sockets give them: a `code` (ECONNRESET…), not a MeshError, so the mesh treats it as the network's fault. */
export class MemoryNetError extends Error {
  constructor(
    /** The system-like code: ECONNREFUSED, ECONNRESET, ETIMEDOUT. */
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MemoryNetError';
  }
}

type Chunk = Buffer | typeof FIN | typeof RST;
const FIN = Symbol('fin');
const RST = Symbol('rst');

/** One direction of a connection: what is in flight from one end to the other, in order. */
class Pipe {
  /** Chunks on the wire, with the time each arrives. */
  private readonly flight: Array<{ at: number; chunk: Chunk }> = [];
  private head = 0;
  /** While stalled by a partition: chunks written and not yet sent (they count as backlog). */
  private readonly held: Chunk[] = [];
  heldBytes = 0;
  /** When the last chunk written finishes going out (bandwidth), and when it arrives. */
  private busyUntil = 0;
  private lastArrival = 0;
  private unsent: Array<{ until: number; bytes: number }> = [];
  private unsentBytes = 0;
  private armed = false;
  // Frame accounting: the size header being read, and body bytes left of the current frame.
  private header = 0;
  private headerBytes = 0;
  private bodyLeft = 0;
  /** The head of the current frame's body, being gathered for net.onFrame. */
  private frameHead: Buffer | undefined;
  private headFill = 0;
  private bodySize = 0;

  constructor(readonly net: MemoryNetwork, readonly from: MemoryConnection, readonly to: MemoryConnection) {}

  get stalled(): boolean {
    return !this.net.reachable(this.from.localHost, this.to.localHost) && this.net.partitionMode === 'stall';
  }

  /** Bytes written and not yet out on the wire. */
  backlog(): number {
    const now = this.net.now();
    while (this.unsent.length && this.unsent[0]!.until <= now) this.unsentBytes -= this.unsent.shift()!.bytes;
    return this.unsentBytes + this.heldBytes;
  }

  /** When the backlog will be gone (unless stalled). */
  drainsAt(): number {
    return this.busyUntil;
  }

  send(chunk: Chunk): void {
    if (this.stalled) {
      this.held.push(chunk);
      if (typeof chunk !== 'symbol') this.heldBytes += chunk.length;
      return;
    }
    const now = this.net.now();
    let at = now;
    if (typeof chunk !== 'symbol') {
      this.count(chunk);
      const bw = this.net.bytesPerMs;
      if (Number.isFinite(bw)) {
        const start = Math.max(now, this.busyUntil);
        this.busyUntil = start + chunk.length / bw;
        this.unsent.push({ until: this.busyUntil, bytes: chunk.length });
        this.unsentBytes += chunk.length;
        at = this.busyUntil;
      }
    }
    // Whole milliseconds: fewer distinct instants for the scheduler; never before an earlier chunk.
    at = Math.max(Math.ceil(at + this.net.latency(this.from.localHost, this.to.localHost)), this.lastArrival);
    this.lastArrival = at;
    this.flight.push({ at, chunk });
    this.arm();
  }

  /** A partition healed: what was held goes out now. */
  resume(): void {
    if (this.stalled || this.held.length === 0) return;
    const held = this.held.splice(0);
    this.heldBytes = 0;
    for (const c of held) this.send(c);
  }

  /** Drops what is held and in flight (the connection is gone). */
  clear(): void {
    this.flight.length = 0;
    this.head = 0;
    this.held.length = 0;
    this.heldBytes = 0;
    this.unsent = [];
    this.unsentBytes = 0;
  }

  private arm(): void {
    if (this.armed || this.head >= this.flight.length) return;
    this.armed = true;
    const delay = Math.max(0, this.flight[this.head]!.at - this.net.now());
    this.net.scheduler.schedule(() => this.arrive(), delay);
  }

  private arrive(): void {
    this.armed = false;
    if (this.stalled) return; // resumed by heal(): the partition holds what is in flight too
    const now = this.net.now();
    while (this.head < this.flight.length && this.flight[this.head]!.at <= now) {
      const { chunk } = this.flight[this.head]!;
      this.flight[this.head++] = undefined as never;
      this.to.receive(chunk);
    }
    if (this.head === this.flight.length) {
      this.flight.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.flight.length) {
      this.flight.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }

  /** After a heal: arrivals that were due while stalled happen now. */
  rearm(): void {
    if (this.stalled) return;
    this.resume();
    this.arm();
  }

  private count(chunk: Buffer): void {
    const c = this.net.counters;
    c.bytes += chunk.length;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, n - i);
        const head = this.frameHead;
        if (head !== undefined) {
          const copy = Math.min(take, head.length - this.headFill);
          chunk.copy(head, this.headFill, i, i + copy);
          this.headFill += copy;
          if (this.headFill === head.length) {
            this.frameHead = undefined;
            this.net.onFrame!(head, this.bodySize);
          }
        }
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      this.header = this.header * 256 + chunk[i++]!;
      if (++this.headerBytes === 4) {
        c.frames++;
        this.bodyLeft = this.bodySize = this.header;
        this.header = this.headerBytes = 0;
        if (this.net.onFrame !== undefined) {
          if (this.bodySize === 0) this.net.onFrame(Buffer.alloc(0), 0);
          else {
            this.frameHead = Buffer.allocUnsafe(Math.min(this.bodySize, this.net.frameHeadBytes));
            this.headFill = 0;
          }
        }
      }
    }
  }
}

/** One end of an in-memory connection. */
export class MemoryConnection implements TransportConnection {
  /** {@inheritDoc TransportConnection.bytes$} */
  readonly bytes$: Observable<Uint8Array>;
  /** {@inheritDoc TransportConnection.closed} */
  readonly closed: Promise<void>;
  /** {@inheritDoc TransportConnection.writableHighWaterMark} */
  readonly writableHighWaterMark: number;
  /** {@inheritDoc TransportConnection.remoteAddress} */
  remoteAddress: string | undefined;
  /** {@inheritDoc TransportConnection.remotePort} */
  remotePort: number | undefined;
  /** The connection's other end, once connected. */
  peer: MemoryConnection | undefined;
  /** True for the end that dialled. */
  dialler = false;
  private out: Pipe | undefined;
  /** Written before the dial connected. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly source: ByteSource;
  /** Arrived while the reader is paused (pause holds them here, in order, with the end). */
  private inbox: Chunk[] = [];
  private done = false;
  private isDestroyed = false;
  private endAfterConnect = false;
  private drainListeners: Array<() => void> = [];
  private drainArmed = false;
  private markClosed!: () => void;

  constructor(
    /** The network this connection belongs to. */
    readonly net: MemoryNetwork,
    /** This end's host. */
    readonly localHost: string,
    /** This end's port. */
    readonly localPort: number,
  ) {
    this.writableHighWaterMark = net.highWaterMark;
    this.closed = new Promise<void>((resolve) => { this.markClosed = resolve; });
    // The shared byte source, its next turn in the network's (virtual) time. Paused, the
    // chunks that arrive wait in the inbox, as they would in a socket's receive buffer.
    this.source = new ByteSource({
      pause: () => undefined,
      resume: () => { if (this.inbox.length !== 0) net.scheduler.schedule(() => this.flushInbox(), 0); },
    }, {
      nextTurn: (fn) => {
        const sub = net.scheduler.schedule(fn, 0);
        return () => sub.unsubscribe();
      },
    });
    this.bytes$ = this.source.bytes$;
  }

  /** {@inheritDoc TransportConnection.pause} */
  pause(): void {
    this.source.pause();
  }

  /** {@inheritDoc TransportConnection.resume} */
  resume(): void {
    this.source.resume();
  }

  private flushInbox(): void {
    while (this.inbox.length !== 0 && !this.source.paused && !this.done) this.deliver(this.inbox.shift()!);
  }

  /** {@inheritDoc TransportConnection.raw} */
  get raw(): unknown {
    return this;
  }

  /** {@inheritDoc TransportConnection.destroyed} */
  get destroyed(): boolean {
    return this.isDestroyed || this.done;
  }

  /** {@inheritDoc TransportConnection.writableLength} */
  get writableLength(): number {
    return this.out ? this.out.backlog() : this.earlyBytes;
  }

  /** {@inheritDoc TransportConnection.write} */
  write(chunk: Uint8Array): boolean {
    if (this.destroyed || this.endAfterConnect) return false;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.out) this.out.send(buf);
    else {
      this.early.push(buf);
      this.earlyBytes += buf.length;
    }
    return this.writableLength < this.writableHighWaterMark;
  }

  /** {@inheritDoc TransportConnection.writev} */
  writev(chunks: readonly Uint8Array[]): boolean {
    if (chunks.length === 1) return this.write(chunks[0]!);
    let total = 0;
    for (const c of chunks) total += c.length;
    return this.write(Buffer.concat(chunks as Uint8Array[], total));
  }

  /** {@inheritDoc TransportConnection.onceDrain} */
  onceDrain(listener: () => void): void {
    this.drainListeners.push(listener);
    this.armDrain();
  }

  private armDrain(): void {
    if (this.drainArmed || !this.out || this.destroyed) return;
    this.drainArmed = true;
    const check = () => {
      this.drainArmed = false;
      if (this.destroyed) return;
      if (this.writableLength > 0) return this.armDrain();
      const listeners = this.drainListeners.splice(0);
      for (const l of listeners) l();
    };
    // While stalled nothing drains; heal() re-checks.
    if (this.out.heldBytes > 0) return void (this.drainArmed = false);
    this.net.scheduler.schedule(check, Math.max(0, this.out.drainsAt() - this.net.now()));
  }

  /** {@inheritDoc TransportConnection.end} */
  end(): void {
    if (this.destroyed) return;
    if (!this.out) {
      this.endAfterConnect = true;
      return;
    }
    this.out.send(FIN);
    this.endAfterConnect = true;
  }

  /** {@inheritDoc TransportConnection.destroy} */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.isDestroyed = true;
    this.early = [];
    this.earlyBytes = 0;
    if (this.out) {
      // What is already on the wire still arrives, then the peer sees the close.
      this.out.send(FIN);
    }
    this.net.forget(this);
    this.close(error);
  }

  /** @internal The dial reached a listener (or the accepted end was made). */
  connect(peer: MemoryConnection, out: Pipe): void {
    this.peer = peer;
    this.out = out;
    this.remoteAddress = peer.localHost;
    this.remotePort = peer.localPort;
    if (this.isDestroyed) return;
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    for (const b of early) out.send(b);
    if (this.endAfterConnect) out.send(FIN);
    if (this.drainListeners.length) this.armDrain();
  }

  /** @internal */
  get outPipe(): Pipe | undefined {
    return this.out;
  }

  /** @internal Bytes (or the end) from the peer. */
  receive(chunk: Chunk): void {
    if (this.done) return;
    if (this.inbox.length !== 0 || this.source.paused) this.inbox.push(chunk);
    else this.deliver(chunk);
  }

  private deliver(chunk: Chunk): void {
    if (chunk === FIN) {
      // As a net.Socket without allowHalfOpen: the peer's end ends this side too.
      if (!this.isDestroyed && !this.endAfterConnect) this.out?.send(FIN);
      return this.close();
    }
    if (chunk === RST) return this.close(new MemoryNetError('ECONNRESET', 'connection reset by peer'));
    this.source.push(chunk);
  }

  /** @internal Ends this end: bytes$ completes (or errors), closed resolves. */
  close(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.net.forget(this);
    this.inbox = [];
    this.drainListeners = [];
    this.source.end(error);
    this.markClosed();
  }
}

class MemoryListener implements Listener {
  readonly accepted$ = new Subject<TransportConnection>();
  readonly notices$ = new Subject<ListenerNotice>();
  readonly conns = new Set<MemoryConnection>();
  private isClosed = false;

  constructor(private readonly net: MemoryNetwork, readonly address: BoundAddress) {}

  accept(conn: MemoryConnection): void {
    this.conns.add(conn);
    void conn.closed.then(() => this.conns.delete(conn));
    this.accepted$.next(conn);
  }

  get open(): boolean {
    return !this.isClosed;
  }

  close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.net.unbind(this);
      for (const c of [...this.conns]) c.destroy();
      this.accepted$.complete();
      this.notices$.complete();
    }
    return Promise.resolve();
  }
}

/** The transport of one host of a MemoryNetwork (what a MeshSocket is given). */
export class MemoryTransport implements Transport {
  /** {@inheritDoc Transport.name} */
  readonly name = 'memory';
  constructor(
    /** The network it dials and listens on. */
    readonly net: MemoryNetwork,
    /** The host it stands for. */
    readonly host: string,
  ) {}

  /** {@inheritDoc Transport.listen} */
  listen(host: string, port: number): Promise<Listener> {
    return this.net.bind(host, port);
  }

  /** {@inheritDoc Transport.dial} */
  dial(host: string, port: number): TransportConnection {
    return this.net.dial(this.host, host, port);
  }
}

/**
 * The medium: hosts, listeners, the connections between them, partitions, and the
 * counters of what crossed it. Make one per simulation, and one MemoryTransport per host.
 */
export class MemoryNetwork {
  /** The scheduler whose clock delivers every chunk. */
  readonly scheduler: SchedulerLike;
  /** Bandwidth of each link, bytes per millisecond (Infinity: none). */
  readonly bytesPerMs: number;
  /** Unsent bytes at which write() returns false. */
  readonly highWaterMark: number;
  /** A dial across a stalled partition fails after this long. */
  readonly dialTimeoutMs: number;
  /** Called with the head of each length-prefixed frame that crosses a link (for counting frames by kind). */
  readonly onFrame: ((head: Uint8Array, size: number) => void) | undefined;
  /** How many bytes of each frame onFrame is given. */
  readonly frameHeadBytes: number;
  /** Totals since the network was made (or resetCounters()). */
  readonly counters: NetworkCounters = { frames: 0, bytes: 0, dials: 0, dialsFailed: 0, resets: 0 };
  /** What a partition does to links across it: reset them, or stall them until heal(). */
  partitionMode: PartitionMode = 'reset';
  private readonly latencyOf: (from: string, to: string) => number;
  private readonly listeners = new Map<string, MemoryListener>();
  private readonly nextPort = new Map<string, number>();
  /** Connections open (either end still open), for partitions and resets. */
  private readonly open = new Set<MemoryConnection>();
  /** Host → partition group; hosts not named are in a group of their own (-1) together. */
  private groups: Map<string, number> | undefined;

  constructor(options: MemoryNetworkOptions) {
    this.scheduler = options.scheduler;
    const latency = options.latencyMs ?? 1;
    this.latencyOf = typeof latency === 'number' ? () => latency : latency;
    this.bytesPerMs = options.bytesPerMs ?? Infinity;
    this.highWaterMark = options.highWaterMark ?? 16 * 1024;
    this.dialTimeoutMs = options.dialTimeoutMs ?? 3_000;
    this.onFrame = options.onFrame;
    this.frameHeadBytes = Math.max(1, options.frameHeadBytes ?? 256);
  }

  /** The scheduler's time, in milliseconds. */
  now(): number {
    return this.scheduler.now();
  }

  /** The one-way latency from host `from` to host `to`, in milliseconds. */
  latency(from: string, to: string): number {
    return this.latencyOf(from, to);
  }

  /** The transport of host `host` on this network (pass it as the `transport` option). */
  transport(host: string): MemoryTransport {
    return new MemoryTransport(this, host);
  }

  /** Counters back to zero (e.g. between the join phase and the broadcasts). */
  resetCounters(): void {
    Object.assign(this.counters, { frames: 0, bytes: 0, dials: 0, dialsFailed: 0, resets: 0 });
  }

  /** Connections with at least one end open. */
  get openConnections(): number {
    return this.open.size;
  }

  /** Connections open at both ends beyond the first between the same two hosts (either direction). */
  duplicatePairs(): number {
    const pairs = new Map<string, number>();
    let extra = 0;
    for (const c of this.open) {
      const p = c.peer;
      if (!p || !c.dialler || c.destroyed || p.destroyed) continue;
      const key = c.localHost < p.localHost ? `${c.localHost}|${p.localHost}` : `${p.localHost}|${c.localHost}`;
      const n = (pairs.get(key) ?? 0) + 1;
      pairs.set(key, n);
      if (n > 1) extra++;
    }
    return extra;
  }

  /** False while a partition separates hosts a and b. */
  reachable(a: string, b: string): boolean {
    const g = this.groups;
    return g === undefined || (g.get(a) ?? -1) === (g.get(b) ?? -1);
  }

  /**
   * Splits the network: hosts of different groups (hosts named in no group form one
   * more) cannot reach each other. 'reset': connections across are reset at once and
   * dials across fail; 'stall': their bytes wait for heal() (writes back up, as on a
   * TCP connection whose packets are dropped), dials across time out.
   */
  partition(groups: ReadonlyArray<Iterable<string>>, mode: PartitionMode = 'reset'): void {
    this.heal();
    this.partitionMode = mode;
    const map = new Map<string, number>();
    groups.forEach((g, i) => { for (const h of g) map.set(h, i); });
    this.groups = map;
    if (mode === 'reset') {
      for (const c of [...this.open]) {
        if (c.peer && !c.destroyed && !this.reachable(c.localHost, c.peer.localHost)) this.resetConnection(c);
      }
    }
  }

  /** Ends the partition; stalled bytes move again. */
  heal(): void {
    if (!this.groups) return;
    this.groups = undefined;
    for (const c of [...this.open]) c.outPipe?.rearm();
    for (const c of [...this.open]) if (c.outPipe) c.onceDrain(() => undefined);
  }

  /** Resets one connection: both ends error with ECONNRESET now. */
  resetConnection(c: MemoryConnection): void {
    this.counters.resets++;
    const peer = c.peer;
    c.outPipe?.clear();
    peer?.outPipe?.clear();
    c.close(new MemoryNetError('ECONNRESET', 'connection reset'));
    peer?.close(new MemoryNetError('ECONNRESET', 'connection reset'));
  }

  /** Resets every open connection of a host (its link went down for a moment). */
  resetHost(host: string): void {
    for (const c of [...this.open]) if (c.localHost === host) this.resetConnection(c);
  }

  /** @internal */
  bind(host: string, port: number): Promise<Listener> {
    if (port === 0) {
      port = this.nextPort.get(host) ?? 1;
      while (this.listeners.has(`${host}:${port}`)) port++;
      this.nextPort.set(host, port + 1);
    }
    const key = `${host}:${port}`;
    if (this.listeners.has(key)) return Promise.reject(new MemoryNetError('EADDRINUSE', `${key} is in use`));
    const listener = new MemoryListener(this, { address: host, port, family: 'memory' });
    this.listeners.set(key, listener);
    return Promise.resolve(listener);
  }

  /** @internal */
  unbind(listener: MemoryListener): void {
    const key = `${listener.address.address}:${listener.address.port}`;
    if (this.listeners.get(key) === listener) this.listeners.delete(key);
  }

  /** @internal */
  forget(c: MemoryConnection): void {
    if (c.destroyed && (!c.peer || c.peer.destroyed)) {
      this.open.delete(c);
      if (c.peer) this.open.delete(c.peer);
    }
  }

  /** @internal */
  dial(from: string, host: string, port: number): MemoryConnection {
    this.counters.dials++;
    const ephemeral = this.nextPort.get(`~${from}`) ?? 40_000;
    this.nextPort.set(`~${from}`, ephemeral + 1);
    const client = new MemoryConnection(this, from, ephemeral);
    client.dialler = true;
    this.open.add(client);
    const fail = (code: string, message: string) => {
      this.counters.dialsFailed++;
      client.close(new MemoryNetError(code, message));
    };
    if (!this.reachable(from, host)) {
      this.scheduler.schedule(() => fail('EHOSTUNREACH', `${host}:${port} unreachable`), this.partitionMode === 'reset' ? this.latency(from, host) : this.dialTimeoutMs);
      return client;
    }
    // The connection exists once the dial has crossed to the listener.
    this.scheduler.schedule(() => {
      if (client.destroyed) return;
      const listener = this.listeners.get(`${host}:${port}`);
      if (!listener || !listener.open) return fail('ECONNREFUSED', `nothing listens on ${host}:${port}`);
      if (!this.reachable(from, host)) return fail('EHOSTUNREACH', `${host}:${port} unreachable`);
      const server = new MemoryConnection(this, host, port);
      this.open.add(server);
      const toServer = new Pipe(this, client, server);
      const toClient = new Pipe(this, server, client);
      server.connect(client, toClient);
      listener.accept(server);
      client.connect(server, toServer);
    }, this.latency(from, host));
    return client;
  }
}
