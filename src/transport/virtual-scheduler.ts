import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * A virtual-time scheduler for simulations of many nodes: `now()` is virtual
 * milliseconds, and actions run only when the driver advances time. RxJS's own
 * VirtualTimeScheduler keeps its actions in an array it re-sorts on every schedule
 * and shifts from the front, O(n) per action: with one sweep interval per node,
 * 10,000 nodes make that the whole cost of a run. Here the actions wait in a binary
 * heap ordered by (due time, order of scheduling), so ties run first-scheduled first
 * and a run is reproducible.
 *
 * Between two instants the driver (runUntil) lets Node run the process.nextTick and
 * promise jobs that the actions started: a connection flushes its batched writes on
 * the next tick, and those writes must happen at the instant they were made.
 */
export class HeapScheduler implements SchedulerLike {
  private frame = 0;
  private seq = 0;
  private heap: Entry[] = [];
  /** Actions run so far (for reports). */
  executed = 0;

  /** The virtual time, in milliseconds. */
  now(): number {
    return this.frame;
  }

  /** Schedules `work` at `delay` virtual milliseconds from now, as any RxJS scheduler. */
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new HeapAction<T>(this, work).schedule(state, delay);
  }

  /** @internal */
  enqueue(action: HeapAction<any>, delay: number): void {
    const due = this.frame + Math.max(0, delay);
    push(this.heap, { due, seq: this.seq++, action, gen: ++action.gen });
  }

  /** Due time of the earliest pending action, or undefined when nothing is scheduled. */
  peek(): number | undefined {
    const heap = this.heap;
    while (heap.length && stale(heap[0]!)) pop(heap);
    return heap.length ? heap[0]!.due : undefined;
  }

  /** Pending actions (cancelled ones not yet discarded included). */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Runs every action due at the earliest pending instant (and those they schedule at
   * that same instant), with time set to it. False if nothing is scheduled or the
   * instant is after `limit`.
   */
  step(limit = Infinity): boolean {
    const due = this.peek();
    if (due === undefined || due > limit) return false;
    this.frame = due;
    const heap = this.heap;
    while (heap.length && heap[0]!.due === due) {
      const e = pop(heap);
      if (stale(e)) continue;
      this.executed++;
      e.action.execute();
    }
    return true;
  }

  /** Sets the clock forward (never back) without running anything. */
  advanceTo(time: number): void {
    if (time > this.frame) this.frame = time;
  }

  /**
   * Runs instants in order, letting Node's tick and promise queues empty after each,
   * until `until()` is true (checked after each instant) or the next instant is after
   * `limit`; the clock then stands at `limit` (when finite and nothing stopped earlier).
   */
  async runUntil(limit: number, until: () => boolean = () => false): Promise<void> {
    await settle();
    while (!until()) {
      if (!this.step(limit)) {
        if (Number.isFinite(limit)) this.advanceTo(limit);
        return;
      }
      await settle();
    }
  }
}

/** Lets process.nextTick and promise jobs run (nothing here does real I/O, so the order is fixed). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Entry {
  due: number;
  seq: number;
  action: HeapAction<any>;
  gen: number;
}

const stale = (e: Entry) => e.action.closed || e.gen !== e.action.gen;

class HeapAction<T> extends Subscription implements SchedulerAction<T> {
  gen = 0;
  private state: T | undefined;

  constructor(private readonly scheduler: HeapScheduler, private readonly work: (this: SchedulerAction<T>, state?: T) => void) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.scheduler.enqueue(this, delay);
    return this;
  }

  execute(): void {
    const gen = this.gen;
    this.work(this.state);
    // Not rescheduled by its work: it is done, as an RxJS action is.
    if (this.gen === gen && !this.closed) this.unsubscribe();
  }
}

const before = (a: Entry, b: Entry) => a.due < b.due || (a.due === b.due && a.seq < b.seq);

function push(heap: Entry[], e: Entry): void {
  let i = heap.length;
  heap.push(e);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(e, heap[parent]!)) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = e;
}

function pop(heap: Entry[]): Entry {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
    if (!before(heap[c]!, last)) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
  return top;
}
