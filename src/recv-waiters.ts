import { InvalidArgumentError } from './errors.js';
import type { Message } from './protocol/user-message.js';
import type { RecvQueue } from './recv-queue.js';

/** Runs fn after ms; the result cancels it. A Node socket uses options.scheduler (virtual time in a simulation), a browser setTimeout. */
export type RecvTimer = (fn: () => void, ms: number) => { unsubscribe(): void };

interface Waiter {
  quantity: number;
  resolve: (messages: Message[]) => void;
  timer: { unsubscribe(): void } | undefined;
}

/** The recv() calls waiting on a RecvQueue, first come first served; shared by the Node and the browser MeshSocket. */
export class RecvWaiters {
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly queue: RecvQueue,
    private readonly timer: RecvTimer,
  ) {}

  /**
   * Resolves when `quantity` messages are queued, with them, oldest first; on timeout
   * (or when `closed`) with what there is. Quantity 1 resolves to one message (or
   * undefined), as py2p's recv(); any other quantity to a list.
   */
  recv(quantity: number, timeoutMs: number | undefined, closed: boolean): Promise<Message | undefined | Message[]> {
    if (!Number.isInteger(quantity) || quantity < 0) return Promise.reject(new InvalidArgumentError('quantity must be an integer >= 0'));
    const shape = (list: Message[]) => (quantity === 1 ? list[0] : list);
    if (this.queue.length >= quantity || closed) return Promise.resolve(shape(this.queue.take(quantity)));
    return new Promise((resolve) => {
      const waiter: Waiter = { quantity, resolve: (list) => resolve(shape(list)), timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = this.timer(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(this.queue.take(waiter.quantity));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  /** Queues a delivered message; returns how many messages the queue's bounds dropped for it. */
  push(message: Message): number {
    // While a recv() waits for more than the bounds allow, the queue may grow to its quantity.
    const reserve = this.waiters.length ? this.waiters[0]!.quantity : 0;
    const before = this.queue.dropped;
    this.queue.push(message, reserve);
    return this.queue.dropped - before;
  }

  /** Resolves the waiters, in order, whose quantity is queued. */
  wake(): void {
    while (this.waiters.length && this.queue.length >= this.waiters[0]!.quantity) {
      const w = this.waiters.shift()!;
      w.timer?.unsubscribe();
      w.resolve(this.queue.take(w.quantity));
    }
  }

  /** On close: every waiter resolves with what there is, its timer cleared. */
  settleAll(): void {
    for (const w of this.waiters.splice(0)) {
      w.timer?.unsubscribe();
      w.resolve(this.queue.take(w.quantity));
    }
  }
}
