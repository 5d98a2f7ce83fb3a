// The send side of a Connection (src/streams/connection.ts): how whole frames reach the
// transport. The first frame of a tick to an idle socket goes out at once; the rest of
// the tick is gathered into one write on the next; frames behind one still being deflated
// off the loop wait for it, in order; a backlog past the high-water mark makes write()
// return false until it drains, and one past maxSendBufferBytes drops the peer.
import { SendBufferOverflowError } from '../errors.js';
import type { TransportConnection } from '../transport/transport.js';

/** A frame in the deferred queue: bytes, pieces of one frame, or bytes still being made. */
type Deferred = Uint8Array | readonly Uint8Array[] | Promise<Uint8Array>;

/** A tick's frames up to this many bytes in all are copied into one buffer for one socket write. */
const COALESCE_BYTES = 64 * 1024;

/** Writes whole frames to a transport connection, batched per tick, with backpressure (the base of Connection). */
export abstract class FrameWriter {
  /** True once destroy() has begun: nothing more is written. */
  protected closing = false;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private needDrain = false;
  private flushDue = false;
  private drainListening = false;
  private drainWaiters: Array<() => void> = [];
  /** Frames waiting behind one being deflated off the loop, in order (undefined: none is). */
  private deferred: Array<{ frame: Deferred; bytes: number }> | undefined;
  private deferredBytes = 0;

  constructor(
    /** The byte stream this connection reads and writes. */
    readonly transport: TransportConnection,
    private readonly maxSendBufferBytes: number,
  ) {}

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
    if (backlog > this.maxSendBufferBytes) {
      this.destroy(new SendBufferOverflowError(backlog, this.maxSendBufferBytes));
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
    if (backlog > this.maxSendBufferBytes) {
      this.destroy(new SendBufferOverflowError(backlog, this.maxSendBufferBytes));
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
    if (backlog > this.maxSendBufferBytes) {
      this.destroy(new SendBufferOverflowError(backlog, this.maxSendBufferBytes));
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
    this.stopReading();
    this.transport.destroy(error);
    this.batch = [];
    this.batchBytes = 0;
    this.deferred = undefined;
    this.deferredBytes = 0;
    this.drainedNow();
  }

  /** Stops the read side, when destroy() closes the connection. */
  protected stopReading(): void {}

  /** True once the connection has closed. */
  get closed(): boolean {
    return this.closing || this.transport.destroyed;
  }
}
