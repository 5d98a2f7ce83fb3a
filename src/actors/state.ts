// The router actor's state, and the few steps every behaviour module uses on it.
// Only the actor (router.ts and the modules it calls while handling one input) reads
// or writes it; other modules get snapshots through Router's getters.
import { Subject, type Observable } from 'rxjs';
import { flags } from '../protocol/flags.js';
import type { CodecLimits, PathfindingMessage } from '../protocol/message.js';
import type { Message, MessageServer } from '../protocol/user-message.js';
import type { Protocol } from '../protocol/protocol.js';
import { pyJsonDumps } from '../protocol/pyjson.js';
import { Connection } from '../streams/connection.js';
import { OffLoopPool } from '../streams/off-loop-pool.js';
import type { ResolvedOptions } from '../options.js';
import type { ListenerNotice, PendingConnection, Transport, TransportConnection } from '../transport/transport.js';
import { WaterfallCache } from './waterfall-cache.js';
import { RX2P_CAPABILITY } from './capability.js';

/** One packet of a message as the caller gives it: text (sent as UTF-8) or bytes. */
export type Packet = string | Uint8Array;

/** What the router tells the world. */
export type MeshEvent =
  | { type: 'peer-connected'; id: string; addr: [string, number]; outgoing: boolean }
  | { type: 'peer-disconnected'; id: string; addr: [string, number] | undefined; outgoing: boolean }
  | { type: 'error'; error: Error; peer?: string }
  /** Broadcasts repaired with one peer since the last such event (sent to it, received from it). */
  | { type: 'repair'; peer: string; sent: number; received: number; bytes: number };

export interface Settle<T> { resolve: (v: T) => void; reject: (e: Error) => void }

/** Requests to the router from the socket's public methods. */
export type RouterCommand =
  | { type: 'connect'; host: string; port: number; id?: string; done: Settle<boolean>; transport?: Transport }
  | { type: 'whisper'; id: string; packets: Packet[]; done: Settle<void> }
  | { type: 'waterfall'; msg: PathfindingMessage; done: (isNew: boolean) => void }
  | { type: 'handle-request'; msg: PathfindingMessage; done: (handled: boolean) => void }
  | { type: 'disconnect'; peer: string | Connection; done: (found: boolean) => void }
  | { type: 'close' };

export interface PendingRequest {
  target: string;
  packets: Packet[];
  expiresAt: number;
  done: Settle<void>;
  /** Later whispers to the same target, sent with this one's answer (no second request broadcast). */
  followers?: Array<{ packets: Packet[]; done: Settle<void> }>;
}

/** A lost dialled peer waiting to be dialled again. */
export interface Redial {
  host: string;
  port: number;
  attempt: number;
  /** Scheduler time the peer was lost (connections opened since may be its replacements). */
  lostAt: number;
  /** Scheduler time of the next attempt; Infinity while one is in flight. */
  dueAt: number;
}

/** Counters of a node since it started (`MeshSocket.stats`); each only grows. */
export interface RouterStats {
  /** Frames read from peers. */
  framesIn: number;
  /** Frames written to peers (relays and the repair exchange included). */
  framesOut: number;
  /** Messages handed to the user (messages$ and the recv() queue), each once. */
  delivered: number;
  /** Broadcasts and waterfalls dropped because their id was seen before. */
  duplicates: number;
  /** Broadcasts and waterfalls dropped as older than maxMessageAgeSeconds. */
  expired: number;
  /** Waterfalls dropped as py2p's re-timed copies of a message seen (retimedDuplicateWindowSeconds). */
  retimedDuplicates: number;
  /** Waterfalls not relayed to a peer that was maxRelayBacklogBytes behind. */
  relaysSkipped: number;
  /** Messages dropped from (or not put in) the full recv() queue, by queuePolicy. */
  queueDropped: number;
  /** Connections refused on accept for maxAwaiting or maxConnections. */
  connectionsRefused: number;
  /** Authenticated protocol: origin signatures verified (once per new message, never per copy). */
  signaturesVerified: number;
  /** Authenticated protocol: messages dropped for a missing, malformed or wrong signature. */
  badSignatures: number;
  /** Authenticated protocol: messages dropped because their origin is not on the allow-list (admitOrigins). */
  unadmittedOrigins?: number;
  /** Errors met, counted by code (ERR_…, or a system code such as ECONNRESET). */
  errors: Record<string, number>;
  /** Broadcasts this node sent to peers that asked for them (repair.ts). */
  repairSent: number;
  /** Broadcasts this node asked peers for, received and admitted (delivered once, flooded on). */
  repairReceived: number;
  /** Repair requests (`want`, up to repairMaxIds ids each) received. */
  repairRequests: number;
  /** Bytes of repaired frames sent. */
  repairBytes: number;
  /** Bytes of the repair exchange itself (sum, have, want) sent, whole frames. */
  repairControlBytes: number;
  /** Frames of the repair exchange sent (counted in framesOut too). */
  repairControlFrames: number;
  /** Repair messages ignored: over repairMaxRequests in an interval, or malformed. */
  repairRefused: number;
  /** Asked-for broadcasts not sent in an interval for repairMaxBytes (sent when asked again). */
  repairDeferred: number;
}

/** What a peer's handshake said, parsed and checked. */
export interface Hello {
  id: string;
  addr: [string, number];
  methods: string[];
}

/**
 * A feature beside the core protocol (authentication, repair of missed broadcasts, …):
 * the router calls each hook an extension has, in the order extensions were given,
 * from inside the actor (so a hook may read and write the state, and must not block).
 * A hook that throws costs the input it was called for, as any handler's throw does.
 */
export interface RouterExtension {
  /** The extension's name, for logs and errors. */
  readonly name: string;
  /**
   * Capability names this node adds to its handshake's compression list. py2p 0.2 keeps
   * only the methods it knows from that list (to pick a method and to decompress), so a
   * py2p peer ignores them; an rx2p peer sees them in conn.compression.
   */
  readonly advertise?: readonly string[];
  /**
   * A well-formed handshake from a peer, before it joins the routing table. Returning
   * an Error drops the connection with it (e.g. a missing or wrong proof of identity).
   */
  onHandshake?(s: RouterState, conn: Connection, msg: PathfindingMessage): Error | undefined;
  /**
   * A well-formed handshake the extension takes over (e.g. until the peer proves its
   * id): true holds it, and the peer stays out of the routing table, awaiting, with
   * no event, until the extension calls completeHandshake(s, conn, hello) (or drops it).
   */
  holdHandshake?(s: RouterState, conn: Connection, hello: Hello): boolean;
  /** A frame other than the handshake from a connection not yet handshaken (e.g. a proof). */
  onFrameBeforeHandshake?(s: RouterState, conn: Connection, msg: PathfindingMessage): void;
  /**
   * Why a connection that closed before its handshake completed failed, where the
   * extension knows better than ConnectionClosedError (e.g. the peer refused this node).
   */
  closeReason?(s: RouterState, conn: Connection): Error | undefined;
  /**
   * A new broadcast or waterfall (in time, not seen before), before it is delivered or
   * relayed: false drops it (neither delivered nor relayed). Called for a message not
   * yet remembered as seen; only one that passes is remembered (flood.ts admitVerified), so
   * copies of a verified message cost nothing and a forged copy cannot shadow it.
   */
  verifyAdmitted?(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean;
  /** A whisper or renegotiation from a handshaken peer: false drops it (e.g. another sender named). */
  acceptDirect?(s: RouterState, msg: PathfindingMessage, conn: Connection): boolean;
  /** The payload of a broadcast this node originates, sent with `time` (e.g. a signature appended). */
  sealBroadcast?(s: RouterState, payload: Packet[], time: number): Packet[];
  /**
   * A broadcast this node originates (send()): the extension may take it, to send it
   * later through sendFromHere (e.g. a tick's broadcasts signed together), and return
   * what send() returns; undefined leaves it to the router.
   */
  queueBroadcast?(s: RouterState, payload: Packet[], flag: string, time: number): boolean | undefined;
  /** True when the extension proves the sender of every message delivered (Message.verified). */
  readonly provesSenders?: boolean;
  /** Packets the extension's protocol ends every broadcast and waterfall with (e.g. a signature): the user's message does not show them. */
  readonly trailerPackets?: number;
  /** A peer joined the routing table (its handshake done, its peers list sent). */
  onPeerConnected?(s: RouterState, conn: Connection): void;
  /**
   * A broadcast or waterfall from a peer, before de-duplication: false drops it
   * (e.g. a bad signature). On the hot path: keep it cheap.
   */
  acceptBroadcast?(s: RouterState, msg: PathfindingMessage, from: Connection): boolean;
  /**
   * A broadcast or waterfall older than maxMessageAgeSeconds (and not from the future):
   * true admits it all the same (e.g. a repair this node asked for). Called only then.
   */
  admitOld?(s: RouterState, msg: PathfindingMessage, now: number): boolean;
  /** A broadcast this node sent (send()), after it went to every peer. */
  onBroadcastSent?(s: RouterState, msg: PathfindingMessage): void;
  /**
   * A broadcast admitted (new, in time), after it was delivered and relayed. The plain
   * waterfall frame relay() made for it, if any, is s.relayedFrame while s.relayedFor is msg.
   */
  onAdmitted?(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): void;
  /**
   * A whisper or admitted broadcast whose subflag the router does not handle itself,
   * before it goes to the user: true claims it (it is not delivered).
   */
  onSubflag?(s: RouterState, msg: PathfindingMessage, conn: Connection | undefined): boolean;
  /** The housekeeping tick (every sweepIntervalMs), after the router's own sweep. */
  onTick?(s: RouterState, now: number): void;
  /** A connection ended (handshaken or not), after the router forgot it. */
  onClosed?(s: RouterState, conn: Connection): void;
  /** The node is closing. */
  onShutdown?(s: RouterState): void;
  /**
   * A whisper to a node not in the routing table, before py2p's request route: true sent
   * it another way (e.g. relayed through the rx2p node a browser tab is connected to);
   * an Error fails it at once; undefined leaves it to the request route.
   */
  routeWhisper?(s: RouterState, target: string, packets: Packet[]): boolean | Error | undefined;
}

export interface RouterHost {
  readonly protocol: Protocol;
  readonly options: ResolvedOptions;
  readonly supported: readonly string[];
  readonly id: () => string;
  readonly outAddr: () => [string, number];
  /** What carries bytes to peers (dialling); accepted connections come on accepted$. */
  readonly transport: Transport;
  readonly accepted$: Observable<TransportConnection>;
  /** The listener's notices: connections in a transport handshake, its failures, errors. */
  readonly notices$: Observable<ListenerNotice>;
  readonly server: MessageServer;
  readonly extensions?: readonly RouterExtension[];
  /** False where the peers in py2p peers lists cannot be dialled (a browser: WebSocket only). Default true. */
  readonly followPeersLists?: boolean;
  deliver(message: Message): void;
  emit(event: MeshEvent): void;
  print(level: number, ...args: unknown[]): void;
}

/** The extensions that have each hook, listed once (no lookups per message). */
export interface ExtensionHooks {
  onHandshake: RouterExtension[];
  holdHandshake: RouterExtension[];
  onFrameBeforeHandshake: RouterExtension[];
  closeReason: RouterExtension[];
  verifyAdmitted: RouterExtension[];
  acceptDirect: RouterExtension[];
  sealBroadcast: RouterExtension[];
  queueBroadcast: RouterExtension[];
  onPeerConnected: RouterExtension[];
  admitOld: RouterExtension[];
  onBroadcastSent: RouterExtension[];
  acceptBroadcast: RouterExtension[];
  onAdmitted: RouterExtension[];
  onSubflag: RouterExtension[];
  onTick: RouterExtension[];
  onClosed: RouterExtension[];
  onShutdown: RouterExtension[];
}

function hooksOf(extensions: readonly RouterExtension[]): ExtensionHooks {
  const having = (k: keyof ExtensionHooks) => extensions.filter((e) => typeof e[k] === 'function');
  return {
    onHandshake: having('onHandshake'), holdHandshake: having('holdHandshake'), onFrameBeforeHandshake: having('onFrameBeforeHandshake'),
    closeReason: having('closeReason'), verifyAdmitted: having('verifyAdmitted'), acceptDirect: having('acceptDirect'),
    sealBroadcast: having('sealBroadcast'), queueBroadcast: having('queueBroadcast'), onPeerConnected: having('onPeerConnected'),
    admitOld: having('admitOld'), onBroadcastSent: having('onBroadcastSent'),
    acceptBroadcast: having('acceptBroadcast'), onAdmitted: having('onAdmitted'), onSubflag: having('onSubflag'),
    onTick: having('onTick'), onClosed: having('onClosed'), onShutdown: having('onShutdown'),
  };
}

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
  /** Ids of messages seen, for de-duplication (waterfallCacheSize). */
  readonly waterfalls: WaterfallCache;
  /** Content keys of recent broadcasts, to catch py2p's re-timed copies. */
  readonly contents: WaterfallCache;
  /** Contents of waterfalls admitted from py2p peers (their time is the relay's): flood.ts, py2pCopyWindowSeconds. */
  readonly py2pCopies: WaterfallCache;
  /** The node's counters (MeshSocket.stats). */
  readonly stats: RouterStats = {
    framesIn: 0, framesOut: 0, delivered: 0, duplicates: 0, expired: 0, retimedDuplicates: 0, relaysSkipped: 0,
    queueDropped: 0, connectionsRefused: 0, signaturesVerified: 0, badSignatures: 0, errors: {},
    repairSent: 0, repairReceived: 0, repairRequests: 0, repairBytes: 0, repairControlBytes: 0, repairControlFrames: 0, repairRefused: 0, repairDeferred: 0,
  };
  /** Every message delivered has a proven sender (an extension proves them): Message.verified. */
  readonly sendersProven: boolean;
  /** Trailing packets of flooded messages that are the extensions', not the user's. */
  readonly trailerPackets: number;
  /** The codec bounds every connection decodes with. */
  readonly limits: CodecLimits;
  /** The extensions' hooks, by hook, in the order the extensions were given. */
  readonly hooks: ExtensionHooks;
  /** New connections, whose events the actor then consumes. */
  readonly connections$ = new Subject<Connection>();
  /** Dials in flight, by host:port. */
  readonly dials = new Map<string, Promise<boolean>>();
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
  /** The plain relay frame made while delivering `preparedFor` (one copy serves both). */
  preparedRelay: Buffer | undefined;
  /** The message `preparedRelay` was made for. */
  preparedFor: PathfindingMessage | undefined;
  /** The plain waterfall frame the last relay() sent for `relayedFor` (for onAdmitted hooks). */
  relayedFrame: Buffer | undefined;
  /** The message `relayedFrame` was sent for. */
  relayedFor: PathfindingMessage | undefined;
  /** The compression list of this node's handshake: its methods, RX2P_CAPABILITY, then the extensions' capabilities. */
  readonly handshakeMethods: string;
  private readonly textBytes = new Map<string, Buffer>();

  /**
   * @param command hands a command to the actor, as Router.command does: for what a
   *   behaviour does later, outside the input it was handling (a dial's promise settling)
   */
  constructor(
    /** The socket side of the router: options, transport, identity, output. */
    readonly host: RouterHost,
    /** Hands a command to the actor (see the constructor's parameter). */
    readonly command: (c: RouterCommand) => void,
  ) {
    const o = host.options;
    this.limits = { maxFrameBytes: o.maxFrameBytes, maxDecompressedBytes: o.maxDecompressedBytes, maxPackets: o.maxPackets, maxTimeChars: o.maxTimeChars };
    // Keyed on dedupKey (SHA-256 of what the id hashes): a duplicate frame is dropped
    // without SHA-384 or base_58 work; each entry shows the message's id.
    // An accepted message's time is within maxMessageAge of now either way, so it stays
    // acceptable for up to twice that: its id is kept as long. A repaired one may be as
    // old as the repair window.
    const oldest = Math.max(o.maxMessageAgeSeconds, o.repair ? o.repairWindowSeconds : 0);
    this.waterfalls = new WaterfallCache(o.waterfallCacheSize, o.maxMessageAgeSeconds + oldest);
    this.contents = new WaterfallCache(o.waterfallCacheSize, Math.max(o.retimedDuplicateWindowSeconds, o.py2pCopyWindowSeconds, 1));
    this.py2pCopies = new WaterfallCache(o.waterfallCacheSize, Math.max(o.py2pCopyWindowSeconds, 1));
    this.hooks = hooksOf(host.extensions ?? []);
    this.sendersProven = (host.extensions ?? []).some((e) => e.provesSenders === true);
    this.trailerPackets = (host.extensions ?? []).reduce((n, e) => n + (e.trailerPackets ?? 0), 0);
    const capabilities = (host.extensions ?? []).flatMap((e) => e.advertise ?? []);
    // RX2P_CAPABILITY first: every rx2p node names it, whatever its extensions (capability.ts).
    this.handshakeMethods = pyJsonDumps([...o.compression, RX2P_CAPABILITY, ...capabilities]);
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
    if (msgType === flags.broadcast && this.hooks.sealBroadcast.length !== 0) payload = this.sealed(payload, time);
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

  /** A broadcast's payload as this node's extensions seal it (e.g. signed). */
  sealed(payload: Packet[], time: number): Packet[] {
    for (const ext of this.hooks.sealBroadcast) payload = ext.sealBroadcast!(this, payload, time);
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
