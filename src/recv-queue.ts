import type { Message } from './protocol/user-message.js';

/** The messages waiting for recv(), oldest first, bounded in count and in bytes. */
export class RecvQueue {
  private items: Array<Message | undefined> = [];
  private head = 0;
  /** Payload bytes of the queued messages. */
  bytes = 0;
  dropped = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
    readonly policy: 'drop-oldest' | 'drop-newest',
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /**
   * Queues a message unless a bound says otherwise: 'drop-oldest' makes room by
   * discarding the oldest, 'drop-newest' refuses the new one. A bound may be passed
   * while `reserve` messages are awaited by a recv() (it must be able to complete).
   * Returns false if the message was not queued.
   */
  push(message: Message, reserve = 0): boolean {
    const size = sizeOf(message);
    if (this.full(size, reserve)) {
      if (this.policy === 'drop-newest') {
        this.dropped++;
        return false;
      }
      while (this.length > 0 && this.full(size, reserve)) {
        this.drop();
        this.dropped++;
      }
    }
    this.items.push(message);
    this.bytes += size;
    return true;
  }

  private full(size: number, reserve: number): boolean {
    const length = this.length;
    return length >= Math.max(this.maxCount, reserve) || (length > 0 && this.bytes + size > this.maxBytes && length >= reserve);
  }

  /** Takes up to n messages, oldest first. */
  take(n: number): Message[] {
    const count = Math.min(n, this.length);
    const out = this.items.slice(this.head, this.head + count) as Message[];
    for (let i = 0; i < count; i++) this.drop();
    return out;
  }

  /** A copy of what is queued, oldest first. */
  toArray(): Message[] {
    return this.items.slice(this.head) as Message[];
  }

  private drop(): void {
    const m = this.items[this.head]!;
    this.bytes -= sizeOf(m);
    this.items[this.head++] = undefined; // release it now, not at the next compaction
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

function sizeOf(message: Message): number {
  return message.msg.payloadBytes;
}
