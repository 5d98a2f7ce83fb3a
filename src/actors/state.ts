// The router actor's state, and the few steps every behaviour module uses on it.
// Only the actor writes it: the handlers of its inputs (router.ts and the modules it
// calls), the stage and subflag handlers components registered, and the tasks handed
// to it (post, later). Other modules get snapshots through Router's getters.
import { Subject } from 'rxjs';
import { flags } from '../protocol/flags.js';
import type { CodecLimits, PathfindingMessage } from '../protocol/message.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { Connection } from '../streams/connection.js';
import { OffLoopPool } from '../streams/off-loop-pool.js';
import type { ResolvedOptions } from '../options.js';
import type { PendingConnection, TransportConnection } from '../transport/transport.js';
import { RX2P_CAPABILITY } from './capability.js';
import { makeStages, type RouterComponent, type Stages, type SubflagHandler } from './component.js';
import { Dedup } from './dedup.js';
import type { WaterfallCache } from './waterfall-cache.js';
import type { Packet, Redial, RouterCommand, RouterHost, RouterStats, PendingRequest, Settle } from './types.js';

export type { Hello, MeshEvent, Packet, PendingRequest, Redial, RouterCommand, RouterHost, RouterStats, Settle } from './types.js';
export type { RouterComponent, RouterExtension } from './component.js';

/** A piece of work handed to the actor, run as one of its inputs. */
export type Task = (s: RouterState) => void;

/**
 * Everything the router actor owns: the routing table, the connections awaiting a
 * handshake, the pending requests, the waterfall caches, dials and redials. The
 * behaviour modules are functions over it; its methods are the steps they share.
 */
export class RouterState {
  /** Handshaken peers by node id (py2p's routing_table). */
  readonly routingTable = new Map<string, Connection>();
  /** Connections whose handshake is not done yet (py2p's awaiting_ids). */
  readonly awaiting = new Set<Connection>();
  /** The node's share of the thread pool, made on first use. */
  private offLoopPool: OffLoopPool | undefined;

  /** The node's share of the thread pool: every inflate, digest and deflate off the loop takes a slot. */
  get pool(): OffLoopPool {
    return (this.offLoopPool ??= new OffLoopPool(this.host.options.maxOffLoopJobs));
  }
  /** Every connection not yet closed, handshaken or not. */
  readonly live = new Set<Connection>();
  /** Whispers waiting for a route through request/response, by request key. */
  readonly requests = new Map<string, PendingRequest>();
  /** De-duplication: its key, windows, caches and counters (dedup.ts). */
  readonly dedup: Dedup;
  /** The node's counters (MeshSocket.stats). */
  readonly stats: RouterStats = {
    framesIn: 0, framesOut: 0, delivered: 0, duplicates: 0, expired: 0, retimedDuplicates: 0, relaysSkipped: 0,
    queueDropped: 0, connectionsRefused: 0, signaturesVerified: 0, badSignatures: 0, errors: {},
    repairSent: 0, repairReceived: 0, repairRequests: 0, repairBytes: 0, repairControlBytes: 0, repairControlFrames: 0, repairRefused: 0, repairDeferred: 0,
  };
  /** Every message delivered has a proven sender (a component proves them): Message.verified. */
  readonly sendersProven: boolean;
  /** Trailing packets of flooded messages that are the components', not the user's. */
  readonly trailerPackets: number;
  /** The codec bounds every connection decodes with. */
  readonly limits: CodecLimits;
  /** The components' stage handlers, by stage, in the order they registered. */
  readonly stages: Stages = makeStages();
  /** The one handler of each subflag the router or a component handles (subflags.ts, the components). */
  readonly subflags = new Map<string, SubflagHandler>();
  /** The components, in the order they were given (started by the router, stopped on shutdown). */
  readonly components: readonly RouterComponent[];
  /** When each connection still in its transport handshake was accepted (the scheduler's clock). */
  readonly pendingSince = new WeakMap<PendingConnection, number>();
  /** New connections, whose events the actor then consumes. */
  readonly connections$ = new Subject<Connection>();
  /** Dials in flight, by host:port: their connections, whose waiters later dials join. */
  readonly dials = new Map<string, Connection>();
  /** Callers of connect() waiting for a connection's handshake. */
  readonly connectWaiters = new Map<Connection, Settle<boolean>[]>();
  /** Accepted connections still in their transport handshake (TLS), by remote address. */
  readonly pendingAccepts = new Map<string, PendingConnection>();
  /** Dialled peers lost without this node meaning it, by id: dialled again with backoff. */
  readonly redials = new Map<string, Redial>();
  /** Connections this node closed on purpose (dropped for cause, disconnect()): never re-dialled. */
  readonly closedOnPurpose = new WeakSet<Connection>();
  /** The last request/response serial handed out. */
  requestSerial = 0;
  /** True once the node has begun to close. */
  closing = false;
  /** The compression list of this node's handshake: its methods, RX2P_CAPABILITY, then the components' capabilities. */
  readonly handshakeMethods: string;
  private readonly textBytes = new Map<string, Buffer>();

  /**
   * @param command hands a command to the actor, as Router.command does (queued behind
   *   the input being handled, if any)
   */
  constructor(
    /** The socket side of the router: options, transport, identity, output. */
    readonly host: RouterHost,
    /** Hands a command to the actor (see the constructor's parameter). */
    readonly command: (c: RouterCommand) => void,
    /**
     * Hands a task to the actor: run at once if the actor is idle, else after the
     * input it is handling (and those queued before). The default runs it at once.
     */
    readonly post: (task: Task) => void = (task) => task(this),
  ) {
    const o = host.options;
    this.limits = { maxFrameBytes: o.maxFrameBytes, maxDecompressedBytes: o.maxDecompressedBytes, maxPackets: o.maxPackets, maxTimeChars: o.maxTimeChars };
    const components = (this.components = host.extensions ?? []);
    this.sendersProven = components.some((e) => e.provesSenders === true);
    this.trailerPackets = components.reduce((n, e) => n + (e.trailerPackets ?? 0), 0);
    this.dedup = new Dedup(o, this.stats, this.sendersProven);
    const capabilities = components.flatMap((e) => e.advertise ?? []);
    // RX2P_CAPABILITY first: every rx2p node names it, whatever its components (capability.ts).
    this.handshakeMethods = pyJsonDumps([...o.compression, RX2P_CAPABILITY, ...capabilities]);
  }

  /** Hands a task to the actor on the next tick (after the writes of this one are flushed). */
  later(task: Task): void {
    process.nextTick(() => this.post(task));
  }

  /** Registers the one handler of a subflag (a second registration of one subflag is an error). */
  registerSubflag(name: string, handler: SubflagHandler): void {
    if (this.subflags.has(name)) throw new Error(`subflag ${JSON.stringify(name)} has a handler already`);
    this.subflags.set(name, handler);
  }

  /** The seen-cache of de-duplication (dedup.ids), under the name probes of the router's state use. */
  get waterfalls(): WaterfallCache {
    return this.dedup.ids;
  }

  /** The re-timed-copy content cache of de-duplication (dedup.contents). */
  get contents(): WaterfallCache {
    return this.dedup.contents;
  }

  /** The node's options, resolved with their defaults. */
  get options(): ResolvedOptions {
    return this.host.options;
  }

  /** Milliseconds, for timeouts (the scheduler's clock, virtual in tests). */
  now(): number {
    return this.host.options.scheduler.now();
  }

  /** Unix seconds, for message times and ages (options.clock). */
  utc(): number {
    return this.host.options.clock();
  }

  /** Counts an error by code in stats, prints it at debug level 0 and emits it on events$. */
  recordError(error: Error, peer?: string): void {
    const code = (error as { code?: string }).code ?? error.name;
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
    this.host.print(0, `${peer ?? ''} ${error.message}`);
    this.host.emit({ type: 'error', error, peer });
  }

  /**
   * Makes a Connection of a transport connection and starts its handshake: it awaits
   * the peer's from now on, and both sides send theirs at once, uncompressed (the
   * peer's list is unknown yet).
   */
  adopt(link: TransportConnection, outgoing: boolean, expectedId?: string): Connection {
    const o = this.host.options;
    const conn = new Connection(link, {
      protocol: this.host.protocol,
      limits: this.limits,
      maxSendBufferBytes: o.maxSendBufferBytes,
      compressMinBytes: o.compressMinBytes,
      skipIncompressible: o.skipIncompressible,
      asyncZlibMinBytes: o.asyncZlibMinBytes,
      advertised: o.compression,
      supported: this.host.supported,
      outgoing,
      now: () => this.now(),
      schedule: (fn, ms) => {
        const sub = o.scheduler.schedule(fn, ms);
        return () => sub.unsubscribe();
      },
      maxUnhandledBytes: o.maxUnhandledBytes,
      maxInflatedBytesPerSecond: o.maxInflatedBytesPerSecond,
      untrustedMaxFrameBytes: o.untrustedMaxFrameBytes,
      offLoopPool: this.pool,
    });
    conn.id = expectedId;
    this.live.add(conn);
    this.awaiting.add(conn);
    this.connections$.next(conn);
    this.sendTo(conn, flags.whisper, [
      flags.handshake, this.host.id(), this.host.protocol.id,
      pyJsonDumps(this.host.outAddr()), this.handshakeMethods,
    ]);
    return conn;
  }

  /** Sends a message of type `msgType` from this node to one connection; returns the message sent. */
  sendTo(conn: Connection, msgType: string, payload: Packet[]): PathfindingMessage {
    const time = this.utc();
    if (msgType === flags.broadcast && this.stages.seal.length !== 0) payload = this.sealed(payload, time);
    const msg = conn.send(msgType, payload, this.host.id(), time);
    this.stats.framesOut++;
    if (msgType === flags.whisper || msgType === flags.broadcast) conn.lastSent = msg;
    return msg;
  }

  /**
   * Flags, subflags and this node's id as bytes, encoded once: the packets of every
   * message this node sends. The Buffers are shared, so they are never handed out
   * for writing; the map is emptied if callers use many distinct subflags.
   */
  bytesOf(text: string): Buffer {
    let b = this.textBytes.get(text);
    if (b === undefined) {
      if (this.textBytes.size >= 256) this.textBytes.clear();
      b = Buffer.from(text, 'utf8');
      this.textBytes.set(text, b);
    }
    return b;
  }

  /** A broadcast's payload as this node's components seal it (e.g. signed). */
  sealed(payload: Packet[], time: number): Packet[] {
    for (const seal of this.stages.seal) payload = seal(this, payload, time);
    return payload;
  }

  /** Closes a connection for a reason worth recording. */
  drop(conn: Connection, error: Error): void {
    this.closedOnPurpose.add(conn);
    this.recordError(error, conn.id ?? conn.remote);
    this.settleWaiters(conn, error);
    conn.destroy();
  }

  /** Settles, once conn's handshake is done or failed, a connect() that waits for it. */
  waitFor(conn: Connection, settle: Settle<boolean>): void {
    const list = this.connectWaiters.get(conn);
    if (list) list.push(settle);
    else this.connectWaiters.set(conn, [settle]);
  }

  /** Settles the connect() callers waiting on `conn`: with true or false, or rejected with the error. */
  settleWaiters(conn: Connection, result: boolean | Error): void {
    const list = this.connectWaiters.get(conn);
    if (!list) return;
    this.connectWaiters.delete(conn);
    for (const w of list) (result instanceof Error ? w.reject(result) : w.resolve(result));
  }

  /** Connections this node dialled, handshaken or not. */
  outgoingCount(): number {
    let n = 0;
    for (const c of this.live) if (c.outgoing) n++;
    return n;
  }
}
