// An in-memory transport: ordered, reliable byte streams between nodes of one process,
// with latency, bandwidth, partitions and resets injected by a MemoryNetwork. All timing
// is on the RxJS scheduler the network is given (virtual time in a simulation): no
// wall-clock timer anywhere, so that a seeded run is reproducible byte for byte.
// Here: the network and its listeners; a connection's end in memory-connection.ts, the
// pipes between ends in memory-link.ts.
import { Subject, type SchedulerLike } from 'rxjs';
import { MemoryConnection } from './memory-connection.js';
import { MemoryNetError, Pipe } from './memory-link.js';
import type { BoundAddress, Listener, ListenerNotice, Transport, TransportConnection } from './transport.js';

export { MemoryConnection, MemoryNetError };

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
