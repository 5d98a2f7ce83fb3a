import { catchError, concat, map, of, type Observable } from 'rxjs';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';
import type { Protocol } from '../protocol/protocol.js';
import { SendBufferOverflowError } from '../errors.js';
import type { TransportConnection } from '../transport/transport.js';
import { deframe } from './deframe.js';
import { inflate } from './inflate.js';
import { parseMessage, type ParsedFrame } from './parse.js';
import { digestLarge } from './digest.js';
import { ReadFlow } from './read-flow.js';
import type { OffLoopPool } from './off-loop-pool.js';
import { packetsWorthCompressing, worthCompressing } from './send-compression.js';
import { compressFrameAsync, compressFrameSync } from './zlib-async.js';
import { sharedZlib } from './zlib-codec.js';

/** What a Connection reports to the router: a parsed frame, a fault (the connection is dropped), or its close. */
export type ConnectionEvent =
  | { type: 'frame'; conn: Connection; frame: ParsedFrame }
  | { type: 'fault'; conn: Connection; error: unknown }
  | { type: 'closed'; conn: Connection };

export interface ConnectionOptions {
  protocol: Protocol;
  limits: CodecLimits;
  /** A peer whose unread backlog passes this many bytes is disconnected. */
  maxSendBufferBytes: number;
  /** Messages with a smaller payload go uncompressed (see MeshOptions.compressMinBytes). */
  compressMinBytes: number;
  /** Payloads that look incompressible go uncompressed (see MeshOptions.skipIncompressible). */
  skipIncompressible?: boolean;
  /** Bodies this large are deflated and inflated on Node's zlib thread pool (see MeshOptions.asyncZlibMinBytes); 0: never. */
  asyncZlibMinBytes?: number;
  /** The compression methods this node advertised, in its order of preference. */
  advertised: readonly string[];
  /** The methods this build can decompress (tried after the negotiated ones). */
  supported: readonly string[];
  outgoing: boolean;
  /** Milliseconds (the scheduler's clock: virtual in a simulation). */
  now: () => number;
  /** Runs fn after ms on the scheduler; returns a cancel. Default setTimeout. */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** Read-but-unhandled bytes past which reading pauses (see MeshOptions.maxUnhandledBytes). Default: no bound. */
  maxUnhandledBytes?: number;
  /** Inflated bytes per second past which reading pauses (see MeshOptions.maxInflatedBytesPerSecond). 0: none. */
  maxInflatedBytesPerSecond?: number;
  /** Largest frame accepted before the peer is trusted (see MeshOptions.untrustedMaxFrameBytes). Default maxFrameBytes. */
  untrustedMaxFrameBytes?: number;
  /** The node's share of the thread pool (inflate and digest jobs of all its connections). */
  offLoopPool?: OffLoopPool;
}

let serial = 0;

/** A frame in the deferred queue: bytes, pieces of one frame, or bytes still being made. */
type Deferred = Uint8Array | readonly Uint8Array[] | Promise<Uint8Array>;

/** A tick's frames up to this many bytes in all are copied into one buffer for one socket write. */
const COALESCE_BYTES = 64 * 1024;

/**
 * One peer connection: a transport's byte stream, its receive pipeline as an Observable of events
 * (bytes → frames → decompressed → pathfinding messages), and the send side.
 * Its protocol fields (id, addr, compression, lastSent) are written by the router
 * actor only.
 */
export class Connection {
  /** A number unique to this connection in the process, in order of creation. */
  readonly serial = ++serial;
  /** True when this node dialled the peer, false when the peer dialled in. */
  readonly outgoing: boolean;
  /** When the connection was made, in the scheduler's milliseconds. */
  readonly openedAt: number;
  /** Frames, faults and the close of this connection, in order. */
  readonly events$: Observable<ConnectionEvent>;
  /** The peer's node id: known after its handshake, or expected when dialled with one. */
  get id(): string | undefined {
    return this.peerId;
  }

  set id(id: string | undefined) {
    this.peerId = id;
    this.idBytes = id === undefined ? undefined : Buffer.from(id, 'latin1');
  }

  private peerId: string | undefined;
  /** The id as latin1 bytes, to compare with a message's sender packet in place. */
  idBytes: Buffer | undefined;
  /** The peer's outward-facing [host, port], from its handshake. */
  addr: [string, number] | undefined;
  /** For a connection this node dialled: the [host, port] it dialled. */
  target: [string, number] | undefined;
  /** True once the peer's handshake has been accepted. */
  handshaken = false;
  /** The methods the peer advertised (or renegotiated). */
  private peerMethods: string[] = [];
  private sendMethod: string | null = null;
  private receiveMethods: string[];
  /** The last whisper or broadcast sent here, for a py2p `resend` request. */
  lastSent: PathfindingMessage | undefined;
  /** When an unfinished frame started waiting (ms), or 0 if none is buffered. */
  partialSince = 0;
  /** Undecodable frames in a row so far (reset by a good one); maxDecodeFailures drops the peer. */
  decodeFailures = 0;
  /** The compression list (JSON) this node last renegotiated with the peer; undefined: its handshake's. */
  toldCompression: string | undefined;
  private lastReceivedMs: number;
  private remoteLabel: string | undefined;
  private markClosed!: () => void;
  /** Resolves once the router has processed this connection's end. */
  readonly whenClosed = new Promise<void>((resolve) => { this.markClosed = resolve; });
  private closing = false;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private needDrain = false;
  private flushDue = false;
  private drainListening = false;
  private drainWaiters: Array<() => void> = [];
  /** Frames waiting behind one being deflated off the loop, in order (undefined: none is). */
  private deferred: Array<{ frame: Deferred; bytes: number }> | undefined;
  private deferredBytes = 0;
  /** The read side's flow control: unhandled bytes and the inflate budget. */
  readonly readFlow: ReadFlow;
  /** The frame limit in force: untrustedMaxFrameBytes until trust(), then maxFrameBytes. */
  private readonly frameLimit: { bytes: number };

  constructor(
    /** The byte stream this connection reads and writes. */
    readonly transport: TransportConnection,
    private readonly options: ConnectionOptions,
  ) {
    this.outgoing = options.outgoing;
    this.openedAt = this.lastReceivedMs = options.now();
    this.receiveMethods = [...options.supported];
    const maxFrameBytes = options.limits.maxFrameBytes;
    this.frameLimit = { bytes: Math.min(maxFrameBytes, options.untrustedMaxFrameBytes ?? maxFrameBytes) };
    const schedule = options.schedule ?? ((fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    });
    this.readFlow = new ReadFlow({
      maxUnhandledBytes: options.maxUnhandledBytes ?? Number.MAX_SAFE_INTEGER,
      maxInflatedBytesPerSecond: options.maxInflatedBytesPerSecond ?? 0,
      now: options.now,
      schedule,
      pause: () => transport.pause?.(),
      resume: () => transport.resume?.(),
      pool: options.offLoopPool,
    });
    const flow = this.readFlow;
    const frames$ = transport.bytes$.pipe(
      deframe({
        maxFrameBytes,
        limit: this.frameLimit,
        // The frame timeout measures the wait for the frame now in progress: a peer
        // streaming whole frames whose ends never line up with chunk ends is not a slowloris.
        onBuffered: (bytes, completed) => {
          this.lastReceivedMs = options.now();
          if (bytes === 0) this.partialSince = 0;
          else if (this.partialSince === 0 || completed > 0) this.partialSince = options.now();
        },
      }),
      inflate(() => this.receiveMethods, options.limits, {
        asyncMinBytes: options.asyncZlibMinBytes ?? 0,
        flow: flow.inflateFlow,
        onInflated: (options.maxInflatedBytesPerSecond ?? 0) > 0 ? (bytes) => flow.inflated(bytes) : undefined,
      }),
      parseMessage(options.protocol, options.limits),
      digestLarge(undefined, flow.digestFlow),
      map((frame): ConnectionEvent => ({ type: 'frame', conn: this, frame })),
      catchError((error: unknown) => of<ConnectionEvent>({ type: 'fault', conn: this, error })),
    );
    this.events$ = concat(frames$, of<ConnectionEvent>({ type: 'closed', conn: this }));
  }

  /**
   * The peer has handshaken (and, where an extension holds the handshake, proven
   * itself): its frames may now be as large as maxFrameBytes.
   */
  trust(): void {
    this.frameLimit.bytes = this.options.limits.maxFrameBytes;
  }

  /** py2p's `sock`: the medium's own object (a net.Socket for TCP and TLS), else the transport connection. */
  get sock(): unknown {
    return this.transport.raw ?? this.transport;
  }

  /** The same as sock. */
  get socket(): unknown {
    return this.sock;
  }

  /** py2p's `last_sent`: the last whisper or broadcast sent here. */
  get last_sent(): PathfindingMessage | undefined {
    return this.lastSent;
  }

  /** py2p's `time`: when this connection last received data (unix seconds). */
  get time(): number {
    return Math.floor(this.lastReceivedMs / 1000);
  }

  /** The peer's address as host:port (the dialled one until a dial connects). */
  get remote(): string {
    if (this.remoteLabel === undefined && this.transport.remoteAddress !== undefined) {
      this.remoteLabel = `${this.transport.remoteAddress}:${this.transport.remotePort}`;
    }
    return this.remoteLabel ?? (this.target ? `${this.target[0]}:${this.target[1]}` : 'unknown peer');
  }

  /** The compression list the peer advertised. */
  get compression(): readonly string[] {
    return this.peerMethods;
  }

  /** The method frames to this peer are compressed with, or null. */
  get compressionUsed(): string | null {
    return this.sendMethod;
  }

  /**
   * The method a message with this many payload bytes goes to this peer under, or null:
   * none below compressMinBytes, and none for a payload (`source`) that looks
   * incompressible when skipIncompressible is set.
   */
  methodFor(payloadBytes: number, source?: PathfindingMessage): string | null {
    const method = this.sendMethod;
    if (method === null || payloadBytes < this.options.compressMinBytes) return null;
    if (source !== undefined && this.options.skipIncompressible && !worthCompressing(source)) return null;
    return method;
  }

  /** True when frames to this peer are compressed with node:zlib (asyncZlibMinBytes > 0), not pako. */
  get usesNodeZlib(): boolean {
    return (this.options.asyncZlibMinBytes ?? 0) > 0;
  }

  /** True when a compressed frame of this many payload bytes is deflated off the event loop (writeLater). */
  deflatesOffLoop(payloadBytes: number): boolean {
    const min = this.options.asyncZlibMinBytes ?? 0;
    return min > 0 && payloadBytes >= min;
  }

  /**
   * Sets the peer's list. Sending uses the first method of this node's own preference
   * that the peer named; receiving tries the peer's methods first, then every method
   * this build has, then plain (a py2p peer may still send with a method it just
   * renegotiated away).
   */
  setPeerCompression(methods: string[]): void {
    this.peerMethods = methods;
    this.sendMethod = this.options.advertised.find((m) => methods.includes(m)) ?? null;
    const supported = this.options.supported;
    const first = methods.filter((m) => supported.includes(m));
    this.receiveMethods = [...new Set([...first, ...supported])];
  }

  /** Drops compression for sending, without changing what the peer advertised. */
  stopCompressing(): void {
    this.sendMethod = null;
  }

  /** Builds and writes a message from this node (or re-sends one keeping sender and time). */
  send(msgType: string, payload: Array<string | Uint8Array>, sender: string, time?: bigint | number): PathfindingMessage {
    let method = this.sendMethod;
    let bytes = 0;
    if (method !== null && (this.options.compressMinBytes > 0 || this.options.skipIncompressible || this.options.asyncZlibMinBytes)) {
      for (const p of payload) bytes += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
      method = this.methodFor(bytes);
      if (method !== null && this.options.skipIncompressible && !packetsWorthCompressing(payload, bytes)) method = null;
    }
    if (method !== null && this.usesNodeZlib) {
      const plain = new PathfindingMessage(this.options.protocol, msgType, sender, payload, [], time);
      if (this.deflatesOffLoop(bytes)) {
        const frame = plain.string;
        const pool = this.options.offLoopPool;
        this.writeLater(pool === undefined ? compressFrameAsync(frame) : pool.run(() => compressFrameAsync(frame)), frame.length);
      }
      else this.write(compressFrameSync(plain.string));
      return plain;
    }
    const msg = new PathfindingMessage(this.options.protocol, msgType, sender, payload, method ? [method] : [], time);
    this.write(msg.encodeWith(sharedZlib));
    return msg;
  }

  /**
   * Writes one whole frame. The first frame of a tick to an idle socket goes out at
   * once (latency); the frames that follow in the same tick are gathered and go to
   * the socket together on the next tick: small ones copied into one buffer (one
   * socket write), large ones corked into one writev. Returns false when the peer's
   * backlog (the socket's and this tick's) is at or above the socket's high-water
   * mark; drained() then resolves once it is written out. A backlog above
   * maxSendBufferBytes drops the peer.
   */
  write(frame: Uint8Array): boolean {
    if (this.deferred !== undefined) return this.defer(frame, frame.length);
    return this.writeNow(frame);
  }

  private writeNow(frame: Uint8Array): boolean {
    const transport = this.transport;
    if (this.closing || transport.destroyed) return false;
    if (this.startsTick()) {
      // Nothing waiting: this frame goes out now (latency), and the frames that follow
      // in this tick are gathered for one write on the next.
      return this.afterDirectWrite(transport.write(frame));
    }
    if (!this.flushDue) {
      this.flushDue = true;
      process.nextTick(this.flush);
    }
    this.batch.push(frame);
    this.batchBytes += frame.length;
    const backlog = transport.writableLength + this.batchBytes;
    if (backlog > this.options.maxSendBufferBytes) {
      this.destroy(new SendBufferOverflowError(backlog, this.options.maxSendBufferBytes));
      return false;
    }
    if (backlog < transport.writableHighWaterMark) return true;
    return this.markNeedDrain();
  }

  /**
   * Writes one whole frame given as pieces end to end (a large relayed message: a new
   * head and a view of the body as received), as write() would write it whole.
   */
  writePieces(pieces: readonly Uint8Array[]): boolean {
    if (this.deferred !== undefined) {
      let n = 0;
      for (const p of pieces) n += p.length;
      return this.defer(pieces, n);
    }
    return this.writePiecesNow(pieces);
  }

  private writePiecesNow(pieces: readonly Uint8Array[]): boolean {
    const transport = this.transport;
    if (this.closing || transport.destroyed) return false;
    let below = true;
    if (this.startsTick()) {
      return this.afterDirectWrite(transport.writev(pieces));
    }
    for (const piece of pieces) below = this.writeNow(piece);
    return below;
  }

  /**
   * Writes a frame whose bytes are still being made (a large body being deflated on
   * the zlib thread pool). Frames written after it wait behind it, so the peer gets
   * them in order; `estimate` counts toward the backlog until it is written.
   */
  writeLater(frame: Promise<Uint8Array>, estimate: number): boolean {
    if (this.closing || this.transport.destroyed) {
      frame.catch(() => undefined);
      return false;
    }
    const start = this.deferred === undefined;
    const below = this.defer(frame, estimate);
    if (start && !this.closing) void this.pump();
    return below;
  }

  private defer(frame: Deferred, bytes: number): boolean {
    if (this.closing || this.transport.destroyed) return false;
    (this.deferred ??= []).push({ frame, bytes });
    this.deferredBytes += bytes;
    const backlog = this.backlog;
    if (backlog > this.options.maxSendBufferBytes) {
      this.destroy(new SendBufferOverflowError(backlog, this.options.maxSendBufferBytes));
      return false;
    }
    if (backlog < this.transport.writableHighWaterMark) return true;
    return this.markNeedDrain();
  }

  /** Writes the deferred frames in order, waiting for each one still being made. */
  private async pump(): Promise<void> {
    const queue = this.deferred!;
    while (queue.length !== 0) {
      const head = queue[0]!;
      let frame: Uint8Array | readonly Uint8Array[];
      try {
        frame = head.frame instanceof Promise ? await head.frame : head.frame;
      } catch (err) {
        this.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (this.closing || this.deferred !== queue) return;
      queue.shift();
      this.deferredBytes -= head.bytes;
      if (frame instanceof Uint8Array) this.writeNow(frame);
      else this.writePiecesNow(frame);
    }
    this.deferred = undefined;
    this.deferredBytes = 0;
    if (this.needDrain && this.batchBytes === 0 && this.transport.writableLength < this.transport.writableHighWaterMark) this.drainedNow();
  }

  /**
   * True when nothing waits to be written: the caller writes to the socket at once,
   * and what follows in this tick is batched (the flush is scheduled here).
   */
  private startsTick(): boolean {
    if (this.batch.length !== 0 || this.transport.writableLength !== 0 || this.flushDue) return false;
    this.flushDue = true;
    process.nextTick(this.flush);
    return true;
  }

  /** After a write straight to the socket: the backlog bound, and what write() returns. */
  private afterDirectWrite(below: boolean): boolean {
    const backlog = this.transport.writableLength;
    if (backlog > this.options.maxSendBufferBytes) {
      this.destroy(new SendBufferOverflowError(backlog, this.options.maxSendBufferBytes));
      return false;
    }
    return below || this.markNeedDrain();
  }

  private markNeedDrain(): false {
    this.needDrain = true;
    if (!this.drainListening) {
      this.drainListening = true;
      this.transport.onceDrain(this.onSocketDrain);
    }
    return false;
  }

  private readonly onSocketDrain = (): void => {
    this.drainListening = false;
    this.drainedNow();
  };

  private readonly flush = (): void => {
    this.flushDue = false;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    const transport = this.transport;
    if (this.closing || transport.destroyed) return this.drainedNow();
    let below: boolean;
    if (batch.length === 1) below = transport.write(batch[0]!);
    else if (bytes <= COALESCE_BYTES) below = transport.write(Buffer.concat(batch, bytes));
    else below = transport.writev(batch);
    // Above the mark, the socket says 'drain' once it has written everything out.
    if (below) this.drainedNow();
    else this.markNeedDrain();
  };

  private drainedNow(): void {
    if (!this.needDrain || this.batchBytes > 0 || (this.deferred !== undefined && !this.closing)) return;
    this.needDrain = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once a backlog that made write() return false is written out (or the connection is gone). */
  drained(): Promise<void> {
    if (!this.needDrain || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** True while a write() has returned false and its backlog is not yet written out. */
  get needsDrain(): boolean {
    return this.needDrain && !this.closed;
  }

  /** Bytes written but not yet sent: the socket's buffer and this tick's batch. */
  get backlog(): number {
    return this.transport.writableLength + this.batchBytes + this.deferredBytes;
  }

  /** Closes the connection at once, dropping what is unsent; `error` is reported as its fault. */
  destroy(error?: Error): void {
    if (this.closing) return;
    this.closing = true;
    this.readFlow.stop();
    this.transport.destroy(error);
    this.batch = [];
    this.batchBytes = 0;
    this.deferred = undefined;
    this.deferredBytes = 0;
    this.drainedNow();
  }

  /** Called by the router once it has forgotten this connection. */
  ended(): void {
    this.markClosed();
  }

  /** True once the connection has closed. */
  get closed(): boolean {
    return this.closing || this.transport.destroyed;
  }
}
