// A node's share of the thread pool. Every connection's off-loop work (inflating a large
// body, digesting a large payload) takes a slot here first: at most `slots` jobs run at
// once, and the others wait in order of arrival. Each connection has at most one job per
// stage waiting or running (ordered-off-loop), so arrival order is round-robin over the
// connections: one peer's flood cannot hold the pool while another's frame waits behind
// it. Finishing work (a digest) goes before starting more (an inflate), so the bodies
// already inflated do not pile up.
export class OffLoopPool {
  private running = 0;
  private readonly urgent: Array<() => void> = [];
  private readonly normal: Array<() => void> = [];

  constructor(readonly slots: number) {}

  /** Runs job when a slot is free; `urgent` jobs start before the others that wait. */
  run<T>(job: () => Promise<T>, urgent = false): Promise<T> {
    if (this.running < this.slots) return this.start(job);
    return new Promise<T>((resolve, reject) => {
      (urgent ? this.urgent : this.normal).push(() => this.start(job).then(resolve, reject));
    });
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.urgent.length + this.normal.length;
  }

  private start<T>(job: () => Promise<T>): Promise<T> {
    this.running++;
    let p: Promise<T>;
    try {
      p = job();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(this.release);
  }

  private readonly release = (): void => {
    this.running--;
    const next = this.urgent.shift() ?? this.normal.shift();
    if (next !== undefined) next();
  };
}
