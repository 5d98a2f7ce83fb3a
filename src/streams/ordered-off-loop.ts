import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Flow control for an ordered off-loop stage (see ReadFlow): the bytes of the items
 * that wait in its queue are counted, and a gate may hold the queue.
 */
export interface OffLoopFlow<I> {
  /** An item's bytes while it waits (the in-flight one is not counted). */
  sizeOf(item: I): number;
  /** Told of bytes entering (+) and leaving (-) the queue. */
  held(delta: number): void;
  /** While shut, items wait in the queue (in order) even with nothing in flight. */
  readonly gate?: { readonly shut: boolean; onOpen(fn: () => void): void };
  /** The node's share of the thread pool: `later` runs when it gives a slot. */
  readonly pool?: { run<T>(job: () => Promise<T>, urgent?: boolean): Promise<T> };
  /** True for a stage that finishes work (its jobs go first in the pool). */
  readonly urgent?: boolean;
}

/**
 * Items → results, in the order the items came, where some results are worked out off
 * the event loop (the thread pool). `now` gives an item's result at once, or undefined
 * when it is to go off the loop; then `later` gives it as a promise, and what arrives
 * behind it waits, in order, with the source's end. A throw from `now` or a rejection
 * from `later` ends the stream with that error. An item kept on the loop costs no
 * allocation here: one call to `now` and one `next`. At most one item per subscription
 * is off the loop at a time: one connection cannot take the whole thread pool.
 */
export function orderedOffLoop<I, O extends object>(now: (item: I) => O | undefined, later: (item: I) => Promise<O>, flow?: OffLoopFlow<I>): OperatorFunction<I, O> {
  const gate = flow?.gate;
  const pool = flow?.pool;
  const urgent = flow?.urgent ?? false;
  return (source) =>
    new Observable<O>((subscriber) => {
      // While an item is off the loop (busy) or the gate is shut, what arrives waits
      // here, in order: items from `head` on, then the source's end (undefined: nothing waits).
      let waiting: I[] | undefined;
      let head = 0;
      let busy = false;
      let parked = false;
      let end: { error: unknown } | 'complete' | undefined;
      let stopped = false;

      const fail = (err: unknown): void => {
        stopped = true;
        waiting = undefined;
        subscriber.error(err);
      };

      /** Emits item's result now, or sends it off the loop (then busy is set). */
      const handle = (item: I): void => {
        let out: O | undefined;
        try {
          out = now(item);
        } catch (err) {
          return fail(err);
        }
        if (out !== undefined) return subscriber.next(out);
        busy = true;
        waiting ??= [];
        (pool === undefined ? later(item) : pool.run(() => later(item), urgent)).then(resume, fail);
      };

      const enqueue = (item: I): void => {
        (waiting ??= []).push(item);
        if (flow !== undefined) flow.held(flow.sizeOf(item));
      };

      /** An off-loop result is in: emit it, then what waited. */
      const resume = (result: O): void => {
        if (stopped) return;
        busy = false;
        subscriber.next(result);
        drain();
      };

      /** Handles what waited, in order, until one goes off the loop or the gate shuts. */
      const drain = (): void => {
        parked = false;
        const queue = waiting;
        if (queue === undefined || busy) return;
        while (head < queue.length) {
          if (stopped || busy) return;
          if (gate !== undefined && gate.shut) return park();
          if (head > 1024 && head * 2 > queue.length) {
            queue.splice(0, head);
            head = 0;
          }
          const item = queue[head]!;
          queue[head++] = undefined as I;
          if (flow !== undefined) flow.held(-flow.sizeOf(item));
          handle(item);
        }
        if (stopped || busy) return;
        waiting = undefined;
        head = 0;
        finish();
      };

      const park = (): void => {
        if (parked) return;
        parked = true;
        gate!.onOpen(drain);
      };

      const finish = (): void => {
        if (stopped || end === undefined) return;
        if (end === 'complete') {
          stopped = true;
          subscriber.complete();
        } else fail(end.error);
      };

      const sub = source.subscribe({
        next(item) {
          if (stopped) return;
          if (waiting !== undefined) enqueue(item);
          else if (gate !== undefined && gate.shut) {
            enqueue(item);
            park();
          } else handle(item);
        },
        // Results already worked out go out before the source's error or end, as they
        // would without the thread pool.
        error: (error: unknown) => {
          end = { error };
          if (waiting === undefined) finish();
        },
        complete: () => {
          end = 'complete';
          if (waiting === undefined) finish();
        },
      });
      return () => {
        stopped = true;
        sub.unsubscribe();
      };
    });
}
