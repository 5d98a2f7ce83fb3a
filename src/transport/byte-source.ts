// One byte source for every transport: what a medium (a net.Socket, a WebSocket, an
// in-memory pipe) receives becomes a connection's bytes$, under two kinds of flow
// control. The per-turn read budget yields the medium to other connections and timers
// once its bytes have taken READ_BUDGET_MS to handle (or READ_BUDGET_BYTES were handed
// on) in one turn; the reader's pause() (the connection pipeline, when frames wait for
// the thread pool) stops it until resume(). Either way the medium stops reading: TCP's
// window then slows the sender, as a Node stream or ws does, instead of the bytes piling
// up here. A chunk larger than READ_SLICE_BYTES (a WebSocket message is one chunk, up to
// maxFrameBytes) is handed on in slices of that size, and what is left of it when the
// budget is spent or the reader pauses waits here for the next turn.
import { Observable, type Subscriber } from 'rxjs';

/**
 * Time one connection's bytes may take to handle in one turn of the event loop (ms):
 * the work its chunks set off synchronously (deframe, parse, de-duplicate, route,
 * relay), measured around each chunk. libuv reads a ready socket up to 32 times
 * (64 KiB each) before it returns to timers and other sockets: a peer flooding small
 * frames had a node decode ~2 MiB of them, half a second of work, per turn
 * (spec/hostile/flood.spec.ts). Once a connection's chunks have taken this long to
 * handle since it last yielded, its medium is paused until the next turn, so other
 * peers and timers get their share: no turn gives it more (plus the chunk that crossed
 * the budget), and a connection that is always busy yields at most once per budget.
 * Time, not bytes, is what is shared: 64 KiB of tiny frames is hundreds of messages,
 * 64 KiB of a 1 MiB frame a copy (pausing after every such chunk cost a tenth of W2's
 * throughput in wakeups and read stops). 10 ms rather than less: at 2 ms a receiver of
 * 1 MiB broadcasts paused after each (its digest and relay take 3-4 ms), and W2 took
 * 5 % more CPU than with no budget; at 10 ms no difference was measured (0.98).
 */
export const READ_BUDGET_MS = 10;

/**
 * Bytes one connection may hand on in one turn, however cheap they are to handle: a
 * bound on what one turn can take in when the work is elsewhere (the thread pool).
 */
export const READ_BUDGET_BYTES = 1024 * 1024;

/**
 * The largest piece of a chunk handed on at once, so that the budget is checked within
 * a large chunk too: a 16 MiB WebSocket message packed with tiny broadcasts was over a
 * second of work in one turn (spec/hostile/backpressure.spec.ts). 64 KiB, what one read
 * of a socket gives: TCP and TLS chunks are never cut. A frame that came whole in a
 * larger chunk is still a view of it, not a copy: the deframer sees that its slices lie
 * end to end in one buffer.
 */
export const READ_SLICE_BYTES = 64 * 1024;

/**
 * A transport's per-turn read budget (MeshOptions.readBudgetMs and readBudgetBytes):
 * each of its connections' byte sources gets it. 0 turns that half of the budget off.
 */
export interface ReadBudget {
  /** Handling time one connection's chunks may take in one turn (ms). Default READ_BUDGET_MS; 0: none. */
  readBudgetMs?: number;
  /** Bytes one connection may hand on in one turn. Default READ_BUDGET_BYTES; 0: none. */
  readBudgetBytes?: number;
}

/** ByteSource options for a transport's read budget. */
export function budgetOptions(r: ReadBudget | undefined): ByteSourceOptions {
  return { budget: r?.readBudgetBytes, budgetMs: r?.readBudgetMs };
}

/** What a byte source drives: the medium's own reading. */
export interface ByteMedium {
  /** Stops reading (a medium that cannot stop, a browser's WebSocket, does nothing). */
  pause(): void;
  resume(): void;
}

export interface ByteSourceOptions {
  /** The per-turn read budget (bytes). Default READ_BUDGET_BYTES; 0: none. */
  budget?: number;
  /** The per-turn handling budget (ms of the subscriber's synchronous work). Default READ_BUDGET_MS; 0: none. */
  budgetMs?: number;
  /** The largest piece of a chunk handed on at once. Default READ_SLICE_BYTES. */
  slice?: number;
  /** The clock the handling budget is measured with (ms). Default performance.now. */
  now?: () => number;
  /** Runs fn on the next turn; returns a cancel. Default setImmediate (virtual time: the scheduler). */
  nextTurn?: (fn: () => void) => () => void;
}

// A browser (the WebSocket transport runs in the page) has no setImmediate: a 0 ms timer.
const nextImmediate = typeof setImmediate === 'function'
  ? (fn: () => void): (() => void) => {
    const t = setImmediate(fn);
    return () => clearImmediate(t);
  }
  : (fn: () => void): (() => void) => {
    const t = setTimeout(fn, 0);
    return () => clearTimeout(t);
  };

/**
 * A medium's received bytes as a cold, single-subscriber Observable. The transport
 * calls push() per chunk and end() once; bytes (and the end) that come before the
 * subscriber are held for it, and the medium is kept paused until it subscribes.
 */
export class ByteSource {
  readonly bytes$: Observable<Uint8Array>;
  private sink: Subscriber<Uint8Array> | undefined;
  private subscribed = false;
  /** Bytes received and not handed on yet, in order: before the subscriber, or past the budget or a pause. */
  private readonly held: Uint8Array[] = [];
  private ending: { error?: Error } | undefined;
  private turnBytes = 0;
  private turnMs = 0;
  private cancelTurn: (() => void) | undefined;
  private readerPaused = false;
  private mediumPaused = false;
  private pumping = false;
  private readonly budget: number;
  private readonly budgetMs: number;
  private readonly slice: number;
  private readonly now: () => number;
  private readonly nextTurn: (fn: () => void) => () => void;

  constructor(private readonly medium: ByteMedium, options: ByteSourceOptions = {}) {
    // 0 (or less): that half of the budget is off.
    const budget = options.budget ?? READ_BUDGET_BYTES;
    const budgetMs = options.budgetMs ?? READ_BUDGET_MS;
    this.budget = budget > 0 ? budget : Number.POSITIVE_INFINITY;
    this.budgetMs = budgetMs > 0 ? budgetMs : Number.POSITIVE_INFINITY;
    this.slice = options.slice ?? READ_SLICE_BYTES;
    this.now = options.now ?? (() => performance.now());
    this.nextTurn = options.nextTurn ?? nextImmediate;
    this.bytes$ = new Observable<Uint8Array>((subscriber) => {
      if (this.subscribed) {
        subscriber.error(new Error('bytes$ has one subscriber'));
        return undefined;
      }
      this.subscribed = true;
      this.sink = subscriber;
      this.pump();
      return () => {
        this.sink = undefined;
        this.held.length = 0;
        this.cancelTurn?.();
        this.cancelTurn = undefined;
      };
    });
    this.update();
  }

  /** A chunk from the medium. */
  push(chunk: Uint8Array): void {
    if (this.ending !== undefined || (this.subscribed && this.sink === undefined)) return;
    this.held.push(chunk);
    this.pump();
  }

  /** The medium closed: cleanly, or with error. Later pushes are ignored; bytes held still go first. */
  end(error?: Error): void {
    if (this.ending !== undefined) return;
    this.ending = error ? { error } : {};
    this.pump();
  }

  /** The reader's flow control: no more bytes until resume() (the medium stops reading). */
  pause(): void {
    this.readerPaused = true;
    this.update();
  }

  resume(): void {
    if (!this.readerPaused) return;
    this.readerPaused = false;
    // Bytes held past the pause go on in a turn of their own: resume() may be called
    // from inside the reader's own handling of a chunk.
    if (this.held.length !== 0 && this.cancelTurn === undefined && this.sink !== undefined) this.cancelTurn = this.nextTurn(this.onNextTurn);
    this.update();
  }

  /** True while the medium is told to stop reading (budget spent, reader paused, bytes held, or no reader yet). */
  get paused(): boolean {
    return this.mediumPaused;
  }

  private readonly onNextTurn = (): void => {
    this.cancelTurn = undefined;
    this.turnBytes = 0;
    this.turnMs = 0;
    this.pump();
  };

  /** Hands on one piece, and starts waiting for the next turn once the budget is spent. */
  private handOn(sink: Subscriber<Uint8Array>, piece: Uint8Array): void {
    const started = this.now();
    sink.next(piece);
    this.turnMs += this.now() - started;
    this.turnBytes += piece.length;
    if ((this.turnBytes >= this.budget || this.turnMs >= this.budgetMs) && this.cancelTurn === undefined && this.sink !== undefined) {
      this.cancelTurn = this.nextTurn(this.onNextTurn);
    }
  }

  /** Hands on held bytes, a slice at a time, while the budget and the reader allow; then the end. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const held = this.held;
      while (held.length !== 0 && this.sink !== undefined && !this.readerPaused && this.cancelTurn === undefined) {
        const chunk = held[0]!;
        let piece = chunk;
        if (chunk.length > this.slice) {
          piece = chunk.subarray(0, this.slice);
          held[0] = chunk.subarray(this.slice);
        } else held.shift();
        this.handOn(this.sink, piece);
      }
      if (held.length === 0 && this.ending !== undefined && this.sink !== undefined) this.finish();
    } finally {
      this.pumping = false;
    }
    this.update();
  }

  private finish(): void {
    const sink = this.sink!;
    this.sink = undefined;
    this.cancelTurn?.();
    this.cancelTurn = undefined;
    const error = this.ending!.error;
    if (error) sink.error(error);
    else sink.complete();
  }

  private update(): void {
    if (this.ending !== undefined) return;
    const pause = this.readerPaused || this.cancelTurn !== undefined || this.sink === undefined || this.held.length !== 0;
    if (pause === this.mediumPaused) return;
    this.mediumPaused = pause;
    if (pause) this.medium.pause();
    else this.medium.resume();
  }
}
