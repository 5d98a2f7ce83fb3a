// One connection's read-side flow control: what the pipeline has read and not yet
// handled is bounded, and so is the inflated output per second. Past either bound the
// transport is paused (the medium stops reading; TCP's window slows the sender) and
// the inflate stage's queue waits, so a peer that sends faster than its frames can be
// worked slows only itself.
import type { OffLoopFlow } from './ordered-off-loop.js';
import type { OffLoopPool } from './off-loop-pool.js';

export interface ReadFlowOptions {
  /** Bytes of frames waiting for the thread pool (inflate, digest) past which reading pauses. */
  maxUnhandledBytes: number;
  /** Inflated bytes per second past which reading pauses until the budget refills; 0: none. */
  maxInflatedBytesPerSecond: number;
  /** Milliseconds (the scheduler's clock). */
  now: () => number;
  /** Runs fn after ms (the scheduler's); returns a cancel. */
  schedule: (fn: () => void, ms: number) => () => void;
  /** The transport's flow control. */
  pause: () => void;
  resume: () => void;
  /** The node's share of the thread pool, shared by its connections. */
  pool?: OffLoopPool;
}

export class ReadFlow {
  /** Raw bytes waiting in the inflate stage's queue. */
  private rawHeld = 0;
  /** Inflated payload bytes waiting in the digest stage's queue. */
  private bodyHeld = 0;
  private credit: number;
  private creditAt: number;
  private refill: (() => void) | undefined;
  private gateShut = false;
  private paused = false;
  private stopped = false;
  private waiters: Array<() => void> = [];
  /** Times reading was paused (for stats and specs). */
  pauses = 0;
  readonly inflateFlow: OffLoopFlow<Buffer>;
  readonly digestFlow: OffLoopFlow<{ ok: boolean; msg?: { payloadBytes: number } }>;

  constructor(private readonly o: ReadFlowOptions) {
    this.credit = o.maxInflatedBytesPerSecond;
    this.creditAt = o.now();
    const gate = {
      get shut(): boolean { return flow.gateShut; },
      onOpen(fn: () => void): void { flow.waiters.push(fn); },
    };
    const flow = this;
    this.inflateFlow = {
      sizeOf: (raw) => raw.length,
      held: (delta) => { this.rawHeld += delta; this.update(); },
      gate,
      pool: o.pool,
    };
    this.digestFlow = {
      sizeOf: (f) => (f.ok ? f.msg!.payloadBytes : 0),
      held: (delta) => { this.bodyHeld += delta; this.update(); },
      pool: o.pool,
      urgent: true,
    };
  }

  /** Frame bytes waiting to be inflated (as read). */
  get queuedRaw(): number {
    return this.rawHeld;
  }

  /** Inflated payload bytes waiting to be digested. */
  get queuedInflated(): number {
    return this.bodyHeld;
  }

  /** Bytes read and waiting for the thread pool (both queues). */
  get unhandled(): number {
    return this.rawHeld + this.bodyHeld;
  }

  /** A compressed body inflated to this many bytes: spent from the per-second budget. */
  inflated(bytes: number): void {
    const rate = this.o.maxInflatedBytesPerSecond;
    if (rate <= 0) return;
    this.topUp();
    this.credit -= bytes;
    if (this.credit < 0 && this.refill === undefined) {
      this.refill = this.o.schedule(this.onRefill, Math.ceil((-this.credit / rate) * 1000));
      this.update();
    }
  }

  /** The connection is gone: the timer stops and the gate opens for good, so what waits drains to the end. */
  stop(): void {
    this.stopped = true;
    this.refill?.();
    this.refill = undefined;
    this.update();
  }

  private topUp(): void {
    const now = this.o.now();
    const rate = this.o.maxInflatedBytesPerSecond;
    this.credit = Math.min(rate, this.credit + ((now - this.creditAt) * rate) / 1000);
    this.creditAt = now;
  }

  private readonly onRefill = (): void => {
    this.refill = undefined;
    this.topUp();
    if (this.credit < 0) {
      this.refill = this.o.schedule(this.onRefill, Math.ceil((-this.credit / this.o.maxInflatedBytesPerSecond) * 1000));
    }
    this.update();
  };

  private update(): void {
    const max = this.o.maxUnhandledBytes;
    // The inflate queue waits while inflated frames pile up behind the digest, or the
    // inflate budget is spent; reading stops then too, and while the inflate queue is full.
    const shut = !this.stopped && (this.refill !== undefined || this.bodyHeld > (this.gateShut ? max >> 1 : max));
    if (this.stopped) this.paused = false;
    const pause = !this.stopped && (shut || this.unhandled > (this.paused ? max >> 1 : max));
    if (pause !== this.paused) {
      this.paused = pause;
      if (pause) {
        this.pauses++;
        this.o.pause();
      } else this.o.resume();
    }
    if (shut !== this.gateShut) {
      this.gateShut = shut;
      if (!shut) {
        // Woken after the current handler returns: the stage that opened the gate may be
        // in the middle of its own queue.
        const waiters = this.waiters;
        this.waiters = [];
        if (waiters.length !== 0) queueMicrotask(() => { for (const w of waiters) w(); });
      }
    }
  }
}
