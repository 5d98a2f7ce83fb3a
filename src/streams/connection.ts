import { catchError, concat, map, of, type Observable } from 'rxjs';
import { PathfindingMessage, type CodecLimits } from '../protocol/message.js';
import type { Protocol } from '../protocol/protocol.js';
import type { TransportConnection } from '../transport/transport.js';
import { deframe } from './deframe.js';
import { inflate } from './inflate.js';
import { parseMessage, type ParsedFrame } from './parse.js';
import { digestLarge } from './digest.js';
import { ReadFlow } from './read-flow.js';
import type { OffLoopPool } from './off-loop-pool.js';
import { packetsWorthCompressing, worthCompressing } from './send-compression.js';
import { compressFrameAsync, compressFrameSync } from './zlib-async.js';
import { FrameWriter } from './frame-writer.js';
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

/**
 * One peer connection: a transport's byte stream, its receive pipeline as an Observable of events
 * (bytes → frames → decompressed → pathfinding messages), and the send side (what to send
 * here: messages, compressed or not; how frames reach the socket: FrameWriter).
 * Its protocol fields (id, addr, compression, lastSent) are written by the router
 * actor only.
 */
export class Connection extends FrameWriter {
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
  /** The read side's flow control: unhandled bytes and the inflate budget. */
  readonly readFlow: ReadFlow;
  /** The frame limit in force: untrustedMaxFrameBytes until trust(), then maxFrameBytes. */
  private readonly frameLimit: { bytes: number };

  constructor(
    transport: TransportConnection,
    private readonly options: ConnectionOptions,
  ) {
    super(transport, options.maxSendBufferBytes);
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

  /** Stops the read side (the write side is the FrameWriter's): on destroy(). */
  protected override stopReading(): void {
    this.readFlow.stop();
  }

  /** Called by the router once it has forgotten this connection. */
  ended(): void {
    this.markClosed();
  }
}
