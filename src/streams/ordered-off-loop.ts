import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Items → results, in the order the items came, where some results are worked out off
 * the event loop (the thread pool). `now` gives an item's result at once, or undefined
 * when it is to go off the loop; then `later` gives it as a promise, and what arrives
 * behind it waits, in order, with the source's end. A throw from `now` or a rejection
 * from `later` ends the stream with that error. An item kept on the loop costs no
 * allocation here: one call to `now` and one `next`.
 */
export function orderedOffLoop<I, O extends object>(now: (item: I) => O | undefined, later: (item: I) => Promise<O>): OperatorFunction<I, O> {
  return (source) =>
    new Observable<O>((subscriber) => {
      // While an item is off the loop, what arrives behind it waits here, in order:
      // items, then the source's end (undefined while nothing is off the loop).
      let waiting: I[] | undefined;
      let end: { error: unknown } | 'complete' | undefined;
      let stopped = false;

      const fail = (err: unknown): void => {
        stopped = true;
        waiting = undefined;
        subscriber.error(err);
      };

      /** Emits item's result now, or sends it off the loop (then `waiting` is set). */
      const handle = (item: I): void => {
        let out: O | undefined;
        try {
          out = now(item);
        } catch (err) {
          return fail(err);
        }
        if (out !== undefined) return subscriber.next(out);
        waiting = [];
        later(item).then(resume, fail);
      };

      /** An off-loop result is in: emit it, then what waited, until one goes off the loop again. */
      const resume = (result: O): void => {
        if (stopped) return;
        const queue = waiting!;
        waiting = undefined;
        subscriber.next(result);
        for (let i = 0; i < queue.length; i++) {
          if (stopped) return;
          handle(queue[i]!);
          if (waiting !== undefined) {
            (waiting as I[]).push(...queue.slice(i + 1));
            return;
          }
        }
        finish();
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
          if (waiting !== undefined) waiting.push(item);
          else handle(item);
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
