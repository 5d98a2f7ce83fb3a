import { createHash } from 'node:crypto';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { interval, map, merge, mergeMap, Subject, type Observable, type Subscription } from 'rxjs';
import { flags } from '../protocol/flags.js';
import { fromBase58, toBase58 } from '../protocol/base58.js';
import { intersect } from '../protocol/compression.js';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';
import { Message, type MessageServer } from '../protocol/user-message.js';
import type { Protocol } from '../protocol/protocol.js';
import { isProtocolError } from '../protocol/errors.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { Connection, type ConnectionEvent } from '../streams/connection.js';
import type { ParsedFrame } from '../streams/parse.js';
import { get_socket, nodeTls } from '../streams/tls.js';
import {
  ConnectionClosedError, ConnectionLimitError, MeshError, FrameTimeoutError, HandshakeTimeoutError, MalformedControlError,
  DuplicatePeerError, InternalError, TlsError, MalformedHandshakeError, ProtocolMismatchError, RequestTimeoutError, SocketClosedError, TooManyDecodeFailuresError,
  TooManyRequestsError, UnknownFlagError,
} from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { WaterfallCache } from './waterfall-cache.js';
import { Repair, REPAIR_SUBFLAG, emptyRepairStats, type RepairStats } from './repair.js';

export type Packet = string | Uint8Array;

/** What the router tells the world. */
export type MeshEvent =
  | { type: 'peer-connected'; id: string; addr: [string, number]; outgoing: boolean }
  | { type: 'peer-disconnected'; id: string; addr: [string, number] | undefined; outgoing: boolean }
  | { type: 'error'; error: Error; peer?: string }
  /** Broadcasts repaired with one peer since the last such event (sent to it, received from it). */
  | { type: 'repair'; peer: string; sent: number; received: number; bytes: number };

/** Requests to the router from the socket's public methods. */
export type RouterCommand =
  | { type: 'connect'; host: string; port: number; id?: string; done: Settle<boolean> }
  | { type: 'whisper'; id: string; packets: Packet[]; done: Settle<void> }
  | { type: 'waterfall'; msg: PathfindingMessage; done: (isNew: boolean) => void }
  | { type: 'handle-request'; msg: PathfindingMessage; done: (handled: boolean) => void }
  | { type: 'disconnect'; peer: string | Connection; done: (found: boolean) => void }
  | { type: 'close' };

interface Settle<T> { resolve: (v: T) => void; reject: (e: Error) => void }

type RouterInput =
  | ConnectionEvent
  | { type: 'accepted'; socket: net.Socket }
  | { type: 'tick' }
  | { type: 'command'; command: RouterCommand };

interface PendingRequest {
  target: string;
  packets: Packet[];
  expiresAt: number;
  done: Settle<void>;
}

/** A lost dialled peer waiting to be dialled again. */
interface Redial {
  host: string;
  port: number;
  attempt: number;
  /** Scheduler time of the next attempt; Infinity while one is in flight. */
  dueAt: number;
}

export interface RouterStats extends RepairStats {
  framesIn: number;
  framesOut: number;
  delivered: number;
  duplicates: number;
  expired: number;
  retimedDuplicates: number;
  /** Waterfalls not relayed to a peer that was maxRelayBacklogBytes behind. */
  relaysSkipped: number;
  queueDropped: number;
  connectionsRefused: number;
  errors: Record<string, number>;
}

export interface RouterHost {
  readonly protocol: Protocol;
  readonly options: ResolvedOptions;
  readonly supported: readonly string[];
  readonly id: () => string;
  readonly outAddr: () => [string, number];
  readonly accepted$: Observable<net.Socket>;
  readonly server: MessageServer;
  deliver(message: Message): void;
  emit(event: MeshEvent): void;
  print(level: number, ...args: unknown[]): void;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const CONTENT_TRACK_LIMIT = 64 * 1024;
/**
 * With repair on, a broadcast dated this much before the node's horizon (its start, less
 * catchUpSeconds) is dropped unless asked for: history a peer repaired and flooded on
 * does not reach a node that did not ask for it. The slack allows for clocks a little
 * behind this node's.
 */
const HORIZON_SLACK_SECONDS = 2;
/**
 * A relayed message with this many payload bytes or more is written as a new head
 * and a view of its body, where a smaller one is copied (one buffer, batched with
 * others); the delivered message then keeps the body it came in.
 */
const PIECES_FROM_BYTES = 64 * 1024;

/**
 * The router actor: the one owner of the routing table, the connections awaiting a
 * handshake, the pending requests and the waterfall cache. It consumes one merged
 * stream (connection events, accepted sockets, commands, housekeeping ticks) and
 * handles each input to the end before the next: no other module touches its state.
 */
export class Router {
  readonly routingTable = new Map<string, Connection>();
  readonly awaiting = new Set<Connection>();
  readonly requests = new Map<string, PendingRequest>();
  readonly waterfalls: WaterfallCache;
  private readonly contents: WaterfallCache;
  readonly stats: RouterStats = {
    framesIn: 0, framesOut: 0, delivered: 0, duplicates: 0, expired: 0, retimedDuplicates: 0, relaysSkipped: 0,
    queueDropped: 0, connectionsRefused: 0, errors: {}, ...emptyRepairStats(),
  };
  /** Repair of missed broadcasts among rx2p nodes (options.repair), see repair.ts. */
  readonly repair: Repair | undefined;
  /** The compression list of this node's handshake (with the repair capability when on). */
  private readonly handshakeMethods: string;
  private readonly dials = new Map<string, Promise<boolean>>();
  private readonly connectWaiters = new Map<Connection, Settle<boolean>[]>();
  private readonly connections$ = new Subject<Connection>();
  private readonly limits: CodecLimits;
  private readonly subscription: Subscription;
  private readonly live = new Set<Connection>();
  /** An SSL node's TCP connections still in their TLS handshake, by remote address. */
  private readonly tlsPending = new Map<string, net.Socket>();
  /** Dialled peers lost without this node meaning it, by id: dialled again with backoff. */
  private readonly redials = new Map<string, Redial>();
  /** Connections this node closed on purpose (dropped for cause, disconnect()): never re-dialled. */
  private readonly closedOnPurpose = new WeakSet<Connection>();
  private requestSerial = 0;
  private readonly textBytes = new Map<string, Buffer>();
  private closing = false;
  /** The plain relay frame made while delivering `preparedFor` (one copy serves both). */
  private preparedRelay: Buffer | undefined;
  private preparedFor: PathfindingMessage | undefined;
  /** The message broadcastFromHere made last (for the repair store). */
  private lastBroadcast: PathfindingMessage | undefined;

  constructor(private readonly host: RouterHost) {
    const o = host.options;
    this.limits = { maxFrameBytes: o.maxFrameBytes, maxDecompressedBytes: o.maxDecompressedBytes, maxPackets: o.maxPackets };
    // Keyed on dedupKey (SHA-256 of what the id hashes): a duplicate frame is dropped
    // without SHA-384 or base_58 work; each entry shows the message's id.
    // An accepted message's time is within maxMessageAge of now either way, so it stays
    // acceptable for up to twice that: its id is kept as long.
    // A repaired message may be as old as the repair window: its id is kept that long too.
    this.waterfalls = new WaterfallCache(o.waterfallCacheSize, o.maxMessageAgeSeconds + Math.max(o.maxMessageAgeSeconds, o.repair ? o.repairWindowSeconds : 0));
    this.contents = new WaterfallCache(o.waterfallCacheSize, Math.max(o.retimedDuplicateWindowSeconds, 1));
    const inputs$: Observable<RouterInput> = merge(
      this.connections$.pipe(mergeMap((conn) => conn.events$)),
      host.accepted$.pipe(map((socket) => ({ type: 'accepted' as const, socket }))),
      interval(o.sweepIntervalMs, o.scheduler).pipe(map(() => ({ type: 'tick' as const }))),
    );
    this.repair = o.repair ? new Repair({
      options: o,
      stats: this.stats,
      now: () => this.now(),
      utc: () => this.utc(),
      // Not through sendTo: a repair message is not the peer's lastSent (what py2p's resend repeats).
      control: (conn, packets) => {
        this.stats.framesOut++;
        return conn.send(flags.whisper, [REPAIR_SUBFLAG, ...packets], this.host.id(), this.utc()).string.length;
      },
      emit: (e) => this.host.emit(e),
      recordError: (e, peer) => this.recordError(e, peer),
    }) : undefined;
    this.handshakeMethods = pyJsonDumps(this.repair ? Repair.advertise(o.compression) : o.compression);
    this.subscription = inputs$.subscribe((input) => this.handle(input));
  }

  /** Hands a command to the actor (handled synchronously, in order). */
  command(command: RouterCommand): void {
    if (this.closing && command.type !== 'close') {
      const err = new SocketClosedError();
      switch (command.type) {
        case 'waterfall': return command.done(false);
        case 'handle-request': return command.done(false);
        case 'disconnect': return command.done(false);
        default: return command.done.reject(err);
      }
    }
    // Commands are handled at once, in the caller's stack, like every other input:
    // not through an Observable of their own (a send's latency is mostly this path).
    this.handle({ type: 'command', command });
  }

  /**
   * send(): a broadcast from this node, handled at once like a command but without
   * one (no callback to allocate per message). False if a peer's buffer is full, the
   * node is closing, or the send failed (recorded like any input's failure).
   */
  broadcast(packets: Packet[], subflag: string, flag: string): boolean {
    if (this.closing) return false;
    try {
      const below = this.broadcastFromHere(packets, subflag, flag);
      if (this.repair !== undefined && flag === flags.broadcast) this.repair.note(this.lastBroadcast!, this.lastBroadcast!.string);
      return below;
    } catch (err) {
      this.recordError(new InternalError(err));
      return false;
    }
  }

  /** Ids of handshaken peers this node dialled. */
  get outgoing(): string[] {
    return [...this.routingTable].filter(([, c]) => c.outgoing).map(([id]) => id);
  }

  /** Ids of handshaken peers that dialled this node. */
  get incoming(): string[] {
    return [...this.routingTable].filter(([, c]) => !c.outgoing).map(([id]) => id);
  }

  /** Resolves once every connection has closed (after shutdown, each ends on its socket's close). */
  async closed(): Promise<void> {
    await Promise.all([...this.live].map((c) => c.whenClosed));
  }

  /** Milliseconds, for timeouts (the scheduler's clock, virtual in tests). */
  private now(): number {
    return this.host.options.scheduler.now();
  }

  /** Unix seconds, for message times and ages (options.clock). */
  private utc(): number {
    return this.host.options.clock();
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * One input, handled to the end. Nothing thrown here may end the actor's
   * subscription (that would stop the whole node): a throw is recorded as an
   * InternalError and costs at most the connection the input came from.
   */
  private handle(input: RouterInput): void {
    try {
      this.dispatch(input);
    } catch (err) {
      const conn = 'conn' in input ? input.conn : undefined;
      this.recordError(new InternalError(err), conn?.id ?? conn?.remote);
      conn?.destroy();
    }
  }

  private dispatch(input: RouterInput): void {
    switch (input.type) {
      case 'frame': return this.onFrame(input.conn, input.frame);
      case 'fault': return this.onFault(input.conn, input.error);
      case 'closed': return this.onClosed(input.conn);
      case 'accepted': return this.onAccepted(input.socket);
      case 'tick': return this.onTick();
      case 'command': return this.onCommand(input.command);
    }
  }

  private onCommand(c: RouterCommand): void {
    switch (c.type) {
      case 'connect': return this.dial(c.host, c.port, c.id, c.done);
      case 'whisper': return this.whisper(c.id, c.packets, c.done);
      case 'waterfall': return c.done(this.flood(c.msg, undefined));
      case 'handle-request': return c.done(this.handleSubflag(c.msg, undefined, true));
      case 'disconnect': return c.done(this.disconnect(c.peer));
      case 'close': return this.shutdown();
    }
  }

  // ---------------------------------------------------------------- connections

  /**
   * An SSL node's TCP connection, before its TLS handshake (the server's 'connection').
   * It counts as awaiting its handshake from now on, towards maxAwaiting and
   * maxConnections: connections that never finish TLS are bounded as plain ones are.
   */
  acceptRaw(socket: net.Socket): void {
    const o = this.host.options;
    if (this.closing) return void socket.destroy();
    const pending = this.tlsPending.size;
    if (this.awaiting.size + pending >= o.maxAwaiting || this.live.size + pending >= o.maxConnections) {
      return this.refuse(socket, this.awaiting.size + pending >= o.maxAwaiting);
    }
    const key = remoteKey(socket);
    this.tlsPending.set(key, socket);
    socket.once('close', () => {
      if (this.tlsPending.get(key) === socket) this.tlsPending.delete(key);
    });
  }

  /**
   * A TLS handshake that failed or timed out (the server's 'tlsClientError'): recorded
   * as a typed error once, unless the connection was refused before its handshake.
   */
  tlsFailed(error: Error, socket: net.Socket): void {
    const key = remoteKey(socket);
    if (!this.tlsPending.has(key)) return;
    this.tlsPending.delete(key);
    const code = (error as { code?: string }).code;
    const ms = this.host.options.handshakeTimeoutMs;
    this.recordError(code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? new HandshakeTimeoutError(ms) : new TlsError(error), key);
    socket.destroy();
  }

  private refuse(socket: net.Socket, awaitingFull: boolean): void {
    const o = this.host.options;
    this.stats.connectionsRefused++;
    this.recordError(new ConnectionLimitError(awaitingFull ? 'awaiting handshake' : 'connection', awaitingFull ? o.maxAwaiting : o.maxConnections), remoteKey(socket));
    socket.on('error', () => undefined);
    socket.destroy();
  }

  private onAccepted(socket: net.Socket): void {
    const o = this.host.options;
    if (this.closing) return void socket.destroy();
    // An SSL connection was counted from its TCP accept; from here on it is a Connection.
    if (this.tlsPending.size > 0) this.tlsPending.delete(remoteKey(socket));
    if (this.awaiting.size >= o.maxAwaiting || this.live.size >= o.maxConnections) {
      return this.refuse(socket, this.awaiting.size >= o.maxAwaiting);
    }
    this.host.print(1, `Incoming connection from ${socket.remoteAddress}:${socket.remotePort}`);
    this.adopt(socket, false);
  }

  private adopt(socket: net.Socket, outgoing: boolean, expectedId?: string): Connection {
    const o = this.host.options;
    const conn = new Connection(socket, {
      protocol: this.host.protocol,
      limits: this.limits,
      maxSendBufferBytes: o.maxSendBufferBytes,
      compressMinBytes: o.compressMinBytes,
      keepAliveMs: o.keepAliveMs,
      advertised: o.compression,
      supported: this.host.supported,
      outgoing,
      now: () => this.now(),
    });
    conn.id = expectedId;
    this.live.add(conn);
    this.awaiting.add(conn);
    this.connections$.next(conn);
    // Both sides send their handshake at once, uncompressed (the peer's list is unknown yet).
    this.sendTo(conn, flags.whisper, [
      flags.handshake, this.host.id(), this.host.protocol.id,
      pyJsonDumps(this.host.outAddr()), this.handshakeMethods,
    ]);
    return conn;
  }

  private dial(host: string, port: number, id: string | undefined, done: Settle<boolean>): void {
    const o = this.host.options;
    const [myHost, myPort] = this.host.outAddr();
    if (id !== undefined && (id === this.host.id() || this.routingTable.has(id))) return done.resolve(false);
    if (port === myPort && (host === myHost || isLoopbackPair(host, myHost))) return done.resolve(false);
    for (const c of this.routingTable.values()) {
      if (c.addr && c.addr[0] === host && c.addr[1] === port) return done.resolve(false);
    }
    for (const c of this.awaiting) {
      if (id !== undefined && c.id === id) return void this.waitFor(c, done);
    }
    const key = `${host}:${port}`;
    const pending = this.dials.get(key);
    if (pending) return void pending.then(done.resolve, done.reject);
    if (this.live.size >= o.maxConnections) return done.reject(new ConnectionLimitError('connection', o.maxConnections));
    this.host.print(1, `Attempting connection to ${host}:${port}`);
    const socket = this.host.protocol.encryption === 'SSL'
      ? nodeTls().connect({ host, port, ...get_socket(false) })
      : net.connect({ host, port });
    const conn = this.adopt(socket, true, id);
    conn.target = [host, port];
    const promise = new Promise<boolean>((resolve, reject) => this.waitFor(conn, { resolve, reject }));
    this.dials.set(key, promise);
    const forget = () => { this.dials.delete(key); };
    promise.then(forget, forget);
    promise.then(done.resolve, done.reject);
  }

  private waitFor(conn: Connection, settle: Settle<boolean>): void {
    const list = this.connectWaiters.get(conn);
    if (list) list.push(settle);
    else this.connectWaiters.set(conn, [settle]);
  }

  private settleWaiters(conn: Connection, result: boolean | Error): void {
    const list = this.connectWaiters.get(conn);
    if (!list) return;
    this.connectWaiters.delete(conn);
    for (const w of list) (result instanceof Error ? w.reject(result) : w.resolve(result));
  }

  private onFault(conn: Connection, error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    // The router's own reasons for dropping a peer were recorded when it dropped it (and
    // drop() closes without an error, so they never come back here); a MeshError here is
    // the connection's own reason, e.g. SendBufferOverflowError, and is recorded now.
    if (!conn.closed || isProtocolError(err) || err instanceof MeshError) this.recordError(err, conn.id ?? conn.remote);
    if (isProtocolError(err) || err instanceof MeshError) this.closedOnPurpose.add(conn);
    conn.destroy();
    this.settleWaiters(conn, err);
  }

  private onClosed(conn: Connection): void {
    this.live.delete(conn);
    this.repair?.onClosed(conn);
    queueMicrotask(() => conn.ended());
    this.awaiting.delete(conn);
    conn.destroy();
    // A dial that lost a crossed-connection race still ends connected, through the other one.
    this.settleWaiters(conn, this.connectedTo(conn) ? false : new ConnectionClosedError(`connection to ${conn.remote} closed before its handshake`));
    if (conn.id !== undefined && this.routingTable.get(conn.id) === conn) {
      this.routingTable.delete(conn.id);
      this.host.print(1, `Connection to node ${conn.id} has been closed`);
      this.host.emit({ type: 'peer-disconnected', id: conn.id, addr: conn.addr, outgoing: conn.outgoing });
      this.scheduleRedial(conn);
      if (!this.closing && this.outgoingCount() < this.host.options.maxOutgoing) this.requestPeers();
    }
  }

  /** Whether another connection already links this node to the peer conn was meant for. */
  private connectedTo(conn: Connection): boolean {
    if (conn.id !== undefined && this.routingTable.has(conn.id) && this.routingTable.get(conn.id) !== conn) return true;
    const t = conn.target;
    if (!t) return false;
    for (const c of this.routingTable.values()) {
      if (c !== conn && c.addr && c.addr[1] === t[1] && (c.addr[0] === t[0] || isLoopbackPair(c.addr[0], t[0]))) return true;
    }
    return false;
  }

  /** py2p's request_peers: ask every peer for its routing table. */
  private requestPeers(): void {
    for (const c of this.routingTable.values()) this.sendTo(c, flags.whisper, [flags.request, '*']);
  }

  private outgoingCount(): number {
    let n = 0;
    for (const c of this.live) if (c.outgoing) n++;
    return n;
  }

  private onTick(): void {
    const o = this.host.options;
    const now = this.now();
    // A dropped connection stays in these sets until its close event: skip it, so that
    // one connection is dropped (and counted) once, not once per timeout or per tick.
    for (const c of this.awaiting) {
      if (!c.closed && now - c.openedAt > o.handshakeTimeoutMs) this.drop(c, new HandshakeTimeoutError(o.handshakeTimeoutMs));
    }
    for (const c of this.live) {
      if (!c.closed && c.partialSince && now - c.partialSince > o.frameTimeoutMs) this.drop(c, new FrameTimeoutError(o.frameTimeoutMs));
    }
    for (const [rid, r] of this.requests) {
      if (now > r.expiresAt) {
        this.requests.delete(rid);
        r.done.reject(new RequestTimeoutError(r.target, o.requestTimeoutMs));
      }
    }
    const utc = this.utc();
    this.waterfalls.expire(utc);
    this.contents.expire(utc);
    this.redialDue(now);
    this.repair?.onTick();
  }

  /** A dialled peer lost without this node meaning it: dial it again after reconnectIntervalMs. */
  private scheduleRedial(conn: Connection): void {
    const o = this.host.options;
    const addr = conn.target ?? conn.addr;
    if (this.closing || o.reconnectIntervalMs === 0 || !conn.outgoing || !addr || conn.id === undefined || this.closedOnPurpose.has(conn)) return;
    this.redials.set(conn.id, { host: addr[0], port: addr[1], attempt: 0, dueAt: this.now() + o.reconnectIntervalMs });
  }

  /**
   * Dials the lost peers whose time has come. Each failure doubles the wait (at most 64x);
   * after maxReconnectAttempts failures the peer is forgotten. A peer back in the routing
   * table (it dialled us, or a peers list led to it) needs no redial.
   */
  private redialDue(now: number): void {
    const o = this.host.options;
    for (const [id, r] of this.redials) {
      if (this.routingTable.has(id)) {
        this.redials.delete(id);
        continue;
      }
      if (r.dueAt > now) continue;
      r.dueAt = Infinity;
      this.host.print(1, `Reconnecting to ${r.host}:${r.port} (attempt ${r.attempt + 1})`);
      this.dial(r.host, r.port, id, {
        resolve: () => { this.redials.delete(id); },
        reject: () => {
          if (this.redials.get(id) !== r) return;
          if (++r.attempt >= o.maxReconnectAttempts) this.redials.delete(id);
          else r.dueAt = this.now() + o.reconnectIntervalMs * 2 ** Math.min(r.attempt, 6);
        },
      });
    }
  }

  /** py2p's mesh_daemon.disconnect(handler): closes one peer's connection, by id or connection. */
  private disconnect(peer: string | Connection): boolean {
    const conn = typeof peer === 'string' ? this.routingTable.get(peer) : (this.live.has(peer) ? peer : undefined);
    if (!conn) return false;
    this.host.print(1, `Connection to node ${conn.id ?? conn.remote} has been closed`);
    this.closedOnPurpose.add(conn);
    conn.destroy();
    return true;
  }

  /** Closes a connection for a reason worth recording. */
  private drop(conn: Connection, error: Error): void {
    this.closedOnPurpose.add(conn);
    this.recordError(error, conn.id ?? conn.remote);
    this.settleWaiters(conn, error);
    conn.destroy();
  }

  private recordError(error: Error, peer?: string): void {
    const code = (error as { code?: string }).code ?? error.name;
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
    this.host.print(0, `${peer ?? ''} ${error.message}`);
    this.host.emit({ type: 'error', error, peer });
  }

  private shutdown(): void {
    if (this.closing) return;
    this.closing = true;
    for (const c of this.live) {
      c.destroy();
      c.socket.once('close', () => c.ended());
    }
    for (const list of this.connectWaiters.values()) for (const w of list) w.reject(new SocketClosedError());
    this.connectWaiters.clear();
    for (const r of this.requests.values()) r.done.reject(new SocketClosedError());
    this.requests.clear();
    this.redials.clear();
    for (const socket of this.tlsPending.values()) socket.destroy();
    this.tlsPending.clear();
    this.subscription.unsubscribe();
    // Sockets are destroyed; their close events no longer reach the actor, so tidy here.
    this.routingTable.clear();
    this.awaiting.clear();
    this.waterfalls.clear();
    this.contents.clear();
    this.repair?.clear();
    this.connections$.complete();
  }

  // ---------------------------------------------------------------- sending

  private sendTo(conn: Connection, msgType: string, payload: Packet[]): PathfindingMessage {
    const msg = conn.send(msgType, payload, this.host.id(), this.utc());
    this.stats.framesOut++;
    if (msgType === flags.whisper || msgType === flags.broadcast) conn.lastSent = msg;
    return msg;
  }

  /**
   * Writes msg (as msgType) to every given peer but `except`, encoding it once per
   * compression method in use. A relayed waterfall also skips the message's own
   * sender and any peer more than maxRelayBacklogBytes behind.
   */
  private fanOut(targets: Iterable<Connection>, msgType: string, source: PathfindingMessage, except?: Connection, relaying = false): boolean {
    // Almost always one method (or none) is in use: the first is kept in two locals.
    let method0: string | null | undefined;
    let frame0: Buffer | undefined;
    let others: Map<string | null, Buffer> | undefined;
    let payloadBytes: number | undefined;
    let pieces: [Buffer, Buffer] | null | undefined;
    let below = true;
    for (const conn of targets) {
      if (conn === except) continue;
      if (relaying) {
        const id = conn.idBytes;
        if (id !== undefined && source.senderIs(id)) continue;
        if (conn.backlog > this.host.options.maxRelayBacklogBytes) {
          this.stats.relaysSkipped++;
          continue;
        }
      }
      const method = conn.methodFor(payloadBytes ??= source.payloadBytes);
      if (method === null && relaying && payloadBytes >= PIECES_FROM_BYTES && (pieces ??= source.relayPieces(msgType) ?? null) !== null) {
        // A large message goes on as a new head and a view of its body: no copy.
        if (!conn.writePieces(pieces)) below = false;
        this.stats.framesOut++;
        continue;
      }
      let frame: Buffer | undefined;
      if (frame0 === undefined) {
        // Same payload and time, so the same id: no second hash of the payload.
        frame = frame0 = method === null && source === this.preparedFor ? this.preparedRelay! : source.relay(msgType, method);
        method0 = method;
      } else if (method === method0) {
        frame = frame0;
      } else {
        others ??= new Map();
        frame = others.get(method);
        if (frame === undefined) others.set(method, (frame = source.relay(msgType, method)));
      }
      if (!conn.write(frame)) below = false;
      this.stats.framesOut++;
      if (msgType === flags.broadcast) conn.lastSent = source;
    }
    return below;
  }

  /**
   * Flags, subflags and this node's id as bytes, encoded once: the packets of every
   * message this node sends. The Buffers are shared, so they are never handed out
   * for writing; the map is emptied if callers use many distinct subflags.
   */
  private bytesOf(text: string): Buffer {
    let b = this.textBytes.get(text);
    if (b === undefined) {
      if (this.textBytes.size >= 256) this.textBytes.clear();
      b = Buffer.from(text, 'utf8');
      this.textBytes.set(text, b);
    }
    return b;
  }

  private broadcastFromHere(packets: Packet[], subflag: string, flag: string): boolean {
    const payload: Packet[] = [this.bytesOf(subflag)];
    for (const p of packets) payload.push(p);
    const msg = new PathfindingMessage(this.host.protocol, this.bytesOf(flag), this.bytesOf(this.host.id()), payload, [], this.utc());
    const below = this.fanOut(this.routingTable.values(), flag, msg);
    // Our own id is listed in waterfalls, as py2p lists it. The copies peers flood back
    // are dropped for their sender (onFrame), so the entry is keyed on the SHA-384
    // digest the id already cost rather than on a SHA-256 of the payload as well.
    if (flag === flags.broadcast) this.waterfalls.add(msg.idKey, msg.timeNumber, msg.id);
    this.lastBroadcast = msg;
    return below;
  }

  /**
   * An admitted broadcast or waterfall from a peer: counted if it was a repair this node
   * asked for, and stored for repairing others if it was for the user (not a request
   * or response). The frame stored is the plain relay frame delivery already made.
   */
  private noteRepair(msg: PathfindingMessage, conn: Connection): void {
    const repair = this.repair!;
    repair.admitted(msg, conn);
    const subflag = msg.subflag;
    if (subflag === flags.request || subflag === flags.response || subflag === flags.peers || subflag === flags.handshake) return;
    const frame = msg === this.preparedFor ? this.preparedRelay! : msg.relayPieces(flags.waterfall) ?? msg.relay(flags.waterfall, null);
    repair.note(msg, frame);
  }

  private whisper(target: string, packets: Packet[], done: Settle<void>): void {
    const conn = this.routingTable.get(target);
    if (conn) {
      this.sendTo(conn, flags.whisper, [flags.whisper, ...packets]);
      return done.resolve();
    }
    const o = this.host.options;
    if (this.requests.size >= o.maxPendingRequests) return done.reject(new TooManyRequestsError(o.maxPendingRequests));
    this.host.print(0, "You aren't connected to the original sender. This reply is not guaranteed, but we're trying to make a connection and put the message through.");
    const digest = createHash('sha384').update(target).update(this.host.id()).update(String(this.utc())).update(String(++this.requestSerial)).digest();
    const requestId = toBase58(digest);
    this.requests.set(requestId, { target, packets, expiresAt: this.now() + o.requestTimeoutMs, done });
    this.broadcastFromHere([requestId, target], flags.request, flags.broadcast);
  }

  // ---------------------------------------------------------------- receiving

  private onFrame(conn: Connection, frame: ParsedFrame): void {
    if (conn.closed) return;
    this.stats.framesIn++;
    if (!frame.ok) return this.onUndecodable(conn, frame.error);
    conn.decodeFailures = 0;
    const msg = frame.msg;
    const type = msg.msgType;
    if (!conn.handshaken) {
      // Until the peer has said who it is, only its handshake is read.
      if (type === flags.whisper && msg.subflag === flags.handshake) this.onHandshake(conn, msg);
      return;
    }
    switch (type) {
      case flags.broadcast:
      case flags.waterfall:
        // This node's own broadcast, flooded back by a peer (or a forgery in its name).
        if (msg.senderIs(this.bytesOf(this.host.id()))) {
          this.stats.duplicates++;
          return;
        }
        if (!this.admit(msg)) return;
        // The user has the message before it is relayed: a relay is one socket write
        // per peer, and the user's latency need not include them.
        this.handleSubflag(msg, conn, false, true);
        if (this.repair !== undefined) this.noteRepair(msg, conn);
        this.relay(msg, conn);
        if (type === flags.broadcast) this.noteContent(msg);
        return;
      case flags.whisper:
        if (this.repair?.onWhisper(conn, msg)) return;
        this.handleSubflag(msg, conn, false);
        return;
      case flags.renegotiate:
        return this.onRenegotiate(conn, msg);
      default:
        this.recordError(new UnknownFlagError(type), conn.id);
    }
  }

  /**
   * A frame whose packets do not add up: py2p's answer is to ask the peer to stop
   * compressing and to send its last message again. This node stops compressing to
   * that peer first, so both frames arrive readable and the exchange converges.
   */
  private onUndecodable(conn: Connection, error: Error): void {
    const o = this.host.options;
    this.recordError(error, conn.id ?? conn.remote);
    if (++conn.decodeFailures > o.maxDecodeFailures) return this.drop(conn, new TooManyDecodeFailuresError(o.maxDecodeFailures));
    if (!conn.handshaken) return;
    conn.stopCompressing();
    this.sendTo(conn, flags.renegotiate, [flags.compression, '[]']);
    this.sendTo(conn, flags.renegotiate, [flags.resend]);
  }

  private onHandshake(conn: Connection, msg: PathfindingMessage): void {
    const p = msg.payload;
    if (p.length < 5) return this.drop(conn, new MalformedHandshakeError(`${p.length} packets, 5 expected`));
    const id = latin1(p[1]!);
    const protocolId = latin1(p[2]!);
    if (protocolId !== this.host.protocol.id) return this.drop(conn, new ProtocolMismatchError(this.host.protocol.id, protocolId));
    let addr: [string, number];
    let methods: string[];
    try {
      addr = parseAddr(JSON.parse(p[3]!.toString()));
      methods = parseMethods(JSON.parse(p[4]!.toString()));
      fromBase58(id);
      if (id.length === 0 || id.length > 128) throw new Error('bad node id');
    } catch (err) {
      return this.drop(conn, new MalformedHandshakeError((err as Error).message));
    }
    if (id === this.host.id()) {
      this.awaiting.delete(conn);
      this.settleWaiters(conn, false);
      conn.destroy();
      return;
    }
    const existing = this.routingTable.get(id);
    conn.id = id;
    conn.addr = addr;
    conn.setPeerCompression(methods);
    conn.handshaken = true;
    this.awaiting.delete(conn);
    if (existing && existing !== conn && existing.outgoing === conn.outgoing) {
      // Not crossed dials but a second connection claiming a connected peer's id. Ids are not
      // authenticated: replacing the working connection would let anyone displace a peer by
      // naming its id. Keep it, and probe it: if it is in fact dead (half-open after a
      // partition) the probe meets a reset, and the peer's next redial gets in.
      this.sendTo(existing, flags.whisper, [flags.request, '*']);
      if (conn.outgoing) {
        // This node dialled the same peer twice (two addresses): already connected.
        this.closedOnPurpose.add(conn);
        this.settleWaiters(conn, false);
        conn.destroy();
        return;
      }
      return this.drop(conn, new DuplicatePeerError(id));
    }
    if (existing && existing !== conn) {
      // Both nodes dialled each other. Keep the connection dialled by the node with the
      // larger id, as py2p does, so that both ends keep the same one.
      const keepExisting = (fromBase58(this.host.id()) > fromBase58(id)) !== conn.outgoing;
      this.host.print(1, `Resolving peer conflict on id ${id}`);
      if (keepExisting) {
        this.settleWaiters(conn, false);
        conn.destroy();
        return;
      }
      this.settleWaiters(existing, false);
      this.routingTable.delete(id);
      existing.destroy();
    }
    this.routingTable.set(id, conn);
    this.sendTo(conn, flags.whisper, [flags.peers, this.peerListJson()]);
    this.host.emit({ type: 'peer-connected', id, addr, outgoing: conn.outgoing });
    this.settleWaiters(conn, true);
    this.repair?.onPeer(conn, methods);
  }

  private peerListJson(): string {
    const list: Array<[[string, number], string]> = [];
    for (const [id, c] of this.routingTable) if (c.addr) list.push([c.addr, id]);
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return pyJsonDumps(list);
  }

  /**
   * De-duplicates and floods a broadcast or waterfall: a message older than the age
   * limit, or whose id was seen, is dropped; a new one goes on to every other peer as
   * a waterfall that keeps the original sender and time, hence the same id.
   */
  private flood(msg: PathfindingMessage, from: Connection | undefined): boolean {
    if (!this.admit(msg)) return false;
    this.relay(msg, from);
    if (msg.msgType !== flags.waterfall) this.noteContent(msg);
    return true;
  }

  /** Passes an admitted message on to every other peer as a waterfall, keeping its sender and time. */
  private relay(msg: PathfindingMessage, from: Connection | undefined): void {
    try {
      if (!this.closing) this.fanOut(this.routingTable.values(), flags.waterfall, msg, from, true);
    } finally {
      this.preparedRelay = this.preparedFor = undefined;
    }
  }

  /**
   * False for a message too old, dated too far ahead, already seen, or a py2p
   * re-timed copy of a message seen. An admitted message's id is in the cache.
   */
  private admit(msg: PathfindingMessage): boolean {
    const now = this.utc();
    const time = msg.timeNumber;
    const o = this.host.options;
    // Too old, or dated further ahead than clocks plausibly drift: a message from the
    // future would otherwise outlive its id in the cache and could be replayed.
    if ((time < now - o.maxMessageAgeSeconds && !this.repair?.wanted(msg, now)) || time > now + o.maxMessageAgeSeconds
      || (this.repair !== undefined && time < this.repair.horizon - HORIZON_SLACK_SECONDS && !this.repair.wanted(msg, now))) {
      this.stats.expired++;
      this.host.print(2, 'Waterfall expired');
      return false;
    }
    if (!this.waterfalls.add(msg.dedupKey, now)) {
      this.stats.duplicates++;
      this.host.print(3, 'Not rebroadcasting');
      return false;
    }
    this.waterfalls.labelNewest(displayId(msg));
    if (msg.msgType === flags.waterfall && !this.checkContent(msg, time)) {
      this.stats.retimedDuplicates++;
      return false;
    }
    return true;
  }

  /**
   * False for a waterfall that is a py2p re-timed copy of a message seen (see
   * retimedDuplicateWindowSeconds); its content is remembered either way.
   */
  private checkContent(msg: PathfindingMessage, time: number): boolean {
    const window = this.host.options.retimedDuplicateWindowSeconds;
    if (window <= 0 || msg.payloadBytes > CONTENT_TRACK_LIMIT) return true;
    const seenAt = this.contents.putIfAbsent(msg.contentKey, time);
    return seenAt === undefined || Math.abs(time - seenAt) > window;
  }

  /**
   * Remembers what an admitted broadcast says, so that re-timed copies of it are
   * caught. Nothing about the broadcast itself depends on it, so it is done after
   * the broadcast is delivered and relayed (a hash less before the user has it).
   */
  private noteContent(msg: PathfindingMessage): void {
    if (this.host.options.retimedDuplicateWindowSeconds <= 0 || msg.payloadBytes > CONTENT_TRACK_LIMIT) return;
    this.contents.putIfAbsent(msg.contentKey, msg.timeNumber);
  }

  /** Subflag-level handling (py2p handle_msg): automated subflags, else to the user. */
  private handleSubflag(msg: PathfindingMessage, conn: Connection | undefined, onlyRequests: boolean, relaying = false): boolean {
    const subflag = msg.subflag;
    if (subflag === undefined) return false;
    switch (subflag) {
      case flags.handshake:
        if (onlyRequests) return false;
        return true; // a repeated or flooded handshake changes nothing
      case flags.peers:
        if (onlyRequests) return false;
        if (conn) this.onPeers(conn, msg.payload);
        return true;
      case flags.request:
        this.onRequest(conn, msg.payload);
        return true;
      case flags.response:
        this.onResponse(msg.payload, conn);
        return true;
      default:
        if (onlyRequests) return false;
        this.stats.delivered++;
        this.host.deliver(new Message(this.ownCopy(msg, relaying), this.host.server));
        return true;
    }
  }

  /**
   * The message to hand the user, with bytes of its own (see compacted()). One that
   * is about to be relayed shares them with its plain relay frame, which relay() then
   * sends: one copy of the body instead of two.
   */
  private ownCopy(msg: PathfindingMessage, relaying: boolean): PathfindingMessage {
    if (relaying && msg.payloadBytes < PIECES_FROM_BYTES) {
      const shared = msg.relayAndCompact(flags.waterfall);
      if (shared !== undefined) {
        this.preparedFor = msg;
        this.preparedRelay = shared.frame;
        return shared.message;
      }
    }
    return msg.compacted();
  }

  private onPeers(conn: Connection, p: Buffer[]): void {
    const o = this.host.options;
    let list: unknown;
    try {
      list = JSON.parse(p[1]?.toString() ?? '');
      if (!Array.isArray(list)) throw new Error('not a list');
    } catch (err) {
      return this.recordError(new MalformedControlError('peers list', (err as Error).message), conn.id);
    }
    let considered = 0;
    for (const entry of list) {
      if (considered++ >= o.maxPeersList) break;
      if (this.outgoingCount() >= o.maxOutgoing) break;
      let addr: [string, number];
      let id: string;
      try {
        if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[1] !== 'string') throw new Error('bad entry');
        addr = parseAddr(entry[0]);
        id = entry[1];
      } catch {
        continue;
      }
      if (id === this.host.id() || this.routingTable.has(id)) continue;
      this.dial(addr[0], addr[1], id, { resolve: () => undefined, reject: () => undefined });
    }
  }

  private onRequest(conn: Connection | undefined, p: Buffer[]): void {
    if (!conn || p.length < 2) return;
    const requestId = latin1(p[1]!);
    if (requestId === '*') {
      this.sendTo(conn, flags.whisper, [flags.peers, this.peerListJson()]);
      return;
    }
    if (p.length < 3) return;
    const target = latin1(p[2]!);
    const addr = target === this.host.id() ? this.host.outAddr() : this.routingTable.get(target)?.addr;
    if (addr) this.sendTo(conn, flags.broadcast, [flags.response, requestId, pyJsonDumps([addr, target])]);
  }

  private onResponse(p: Buffer[], conn: Connection | undefined): void {
    if (p.length < 3) return;
    const requestId = latin1(p[1]!);
    const pending = this.requests.get(requestId);
    if (!pending) return;
    let addr: [string, number];
    let id: string;
    try {
      const body = JSON.parse(p[2]!.toString()) as unknown;
      if (!Array.isArray(body) || body.length !== 2 || typeof body[1] !== 'string') throw new Error('not [addr, id]');
      addr = parseAddr(body[0]);
      id = body[1];
    } catch (err) {
      return this.recordError(new MalformedControlError('response', (err as Error).message), conn?.id);
    }
    if (id !== pending.target) return;
    this.host.print(1, `Response received for request id ${requestId}`);
    this.requests.delete(requestId);
    // Once connected, the reply goes through the actor's input like any other command.
    const send = () => this.command({ type: 'whisper', id, packets: pending.packets, done: pending.done });
    this.dial(addr[0], addr[1], id, { resolve: send, reject: pending.done.reject });
  }

  private onRenegotiate(conn: Connection, msg: PathfindingMessage): void {
    const p = msg.payload;
    if (p.length === 0) return;
    const what = latin1(p[0]!);
    if (what === flags.compression) {
      let methods: string[];
      try {
        methods = parseMethods(JSON.parse(p[1]?.toString() ?? ''));
      } catch (err) {
        return this.recordError(new MalformedControlError('renegotiation', (err as Error).message), conn.id);
      }
      const changed = methods.length !== conn.compression.length || methods.some((m, i) => m !== conn.compression[i]);
      conn.setPeerCompression(methods);
      this.host.print(2, `Compression methods changed to: ${JSON.stringify(methods)}`);
      if (changed) this.sendTo(conn, flags.renegotiate, [flags.compression, pyJsonDumps(intersect(this.host.options.compression, methods))]);
    } else if (what === flags.resend) {
      const last = conn.lastSent;
      if (last) this.fanOut([conn], last.msgType, last);
    }
  }
}

/** A socket's peer as host:port (the key of a connection still in its TLS handshake). */
function remoteKey(socket: net.Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

/**
 * The id a waterfalls entry shows: the id packet as received, which is the id for any
 * well-formed message (and costs no SHA-384); one too long to be an id is replaced by
 * the id computed from payload and time, so that a peer cannot park large strings here.
 */
function displayId(msg: PathfindingMessage): string {
  const wire = msg.wireId;
  return wire.length <= MAX_ID_CHARS ? wire : msg.id;
}

/** base_58 of a 48-byte digest is at most 66 characters. */
const MAX_ID_CHARS = 66;

function parseAddr(v: unknown): [string, number] {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || v[0].length === 0 || v[0].length > 255
    || !Number.isInteger(v[1]) || v[1] < 0 || v[1] > 65535) {
    throw new Error('address must be [host, port]');
  }
  return [v[0], v[1]];
}

function parseMethods(v: unknown): string[] {
  if (!Array.isArray(v) || v.length > 16 || v.some((m) => typeof m !== 'string' || m.length > 32)) {
    throw new Error('compression must be a short list of names');
  }
  return v as string[];
}

function isLoopbackPair(a: string, b: string): boolean {
  const loop = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');
  return loop(a) && loop(b);
}

