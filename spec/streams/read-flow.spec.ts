// A connection's read-side flow control, alone: the unhandled-bytes bound, the inflate
// budget per second (on a virtual clock), the node's share of the thread pool, and the
// gate that holds an off-loop stage's queue.
import { expect } from 'chai';
import { Subject } from 'rxjs';
import { ReadFlow } from '../../src/streams/read-flow.js';
import { OffLoopPool } from '../../src/streams/off-loop-pool.js';
import { orderedOffLoop } from '../../src/streams/ordered-off-loop.js';

const MiB = 1024 * 1024;

function harness(o: { maxUnhandledBytes?: number; maxInflatedBytesPerSecond?: number } = {}) {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const log: string[] = [];
  const flow = new ReadFlow({
    maxUnhandledBytes: o.maxUnhandledBytes ?? 4 * MiB,
    maxInflatedBytesPerSecond: o.maxInflatedBytesPerSecond ?? 0,
    now: () => now,
    schedule: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return () => { t.live = false; };
    },
    pause: () => log.push(`pause@${now}`),
    resume: () => log.push(`resume@${now}`),
  });
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.splice(0)) {
      if (t.live && t.at <= now) t.fn();
      else if (t.live) timers.push(t);
    }
  };
  return { flow, log, advance };
}

describe('ReadFlow', () => {
  it('pauses reading once more than maxUnhandledBytes wait, and resumes when half are handled', () => {
    const { flow, log } = harness({ maxUnhandledBytes: 1000 });
    flow.inflateFlow.held(600);
    flow.inflateFlow.held(300);
    expect(log).to.deep.equal([]);
    flow.inflateFlow.held(200);
    expect(log).to.deep.equal(['pause@0']);
    flow.inflateFlow.held(-500);
    expect(log, 'still above half').to.deep.equal(['pause@0']);
    flow.inflateFlow.held(-200);
    expect(log).to.deep.equal(['pause@0', 'resume@0']);
  });

  it('spends maxInflatedBytesPerSecond, then pauses until the budget has refilled', () => {
    const { flow, log, advance } = harness({ maxInflatedBytesPerSecond: 10 * MiB });
    flow.inflated(8 * MiB);
    expect(log).to.deep.equal([]);
    flow.inflated(7 * MiB);
    // 5 MiB over a 10 MiB/s budget: 500 ms.
    expect(log).to.deep.equal(['pause@0']);
    expect(flow.inflateFlow.gate!.shut).to.equal(true);
    advance(499);
    expect(log).to.deep.equal(['pause@0']);
    advance(1);
    expect(log).to.deep.equal(['pause@0', 'resume@500']);
    expect(flow.inflateFlow.gate!.shut).to.equal(false);
  });

  it('opens for good when the connection stops, so what waits drains', () => {
    const { flow, log } = harness({ maxInflatedBytesPerSecond: MiB });
    flow.inflated(5 * MiB);
    expect(flow.inflateFlow.gate!.shut).to.equal(true);
    flow.stop();
    expect(flow.inflateFlow.gate!.shut).to.equal(false);
    expect(log).to.deep.equal(['pause@0']);
  });
});

describe('OffLoopPool', () => {
  it('runs at most its slots at once, finishing work (urgent) before starting more, the rest in arrival order', async () => {
    const pool = new OffLoopPool(2);
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const job = (name: string, urgent = false) => pool.run(() => {
      started.push(name);
      return new Promise<void>((r) => finish.set(name, r));
    }, urgent);
    void job('a1');
    void job('b1');
    void job('a2');
    void job('c1');
    void job('b-digest', true);
    expect(started).to.deep.equal(['a1', 'b1']);
    expect(pool.waiting).to.equal(3);
    finish.get('a1')!();
    await new Promise((r) => setImmediate(r));
    expect(started).to.deep.equal(['a1', 'b1', 'b-digest']);
    finish.get('b1')!();
    await new Promise((r) => setImmediate(r));
    expect(started).to.deep.equal(['a1', 'b1', 'b-digest', 'a2']);
  });
});

describe('orderedOffLoop with flow control', () => {
  it('holds its queue while the gate is shut, counts what waits, and lets it out in order once open', async () => {
    let shut = true;
    const waiters: Array<() => void> = [];
    let held = 0;
    const source = new Subject<number>();
    const out: number[] = [];
    source.pipe(orderedOffLoop((n: number) => ({ n }), async (n: number) => ({ n }), {
      sizeOf: () => 10,
      held: (d) => { held += d; },
      gate: { get shut() { return shut; }, onOpen: (fn) => waiters.push(fn) },
    })).subscribe((o) => out.push(o.n));
    source.next(1);
    source.next(2);
    expect(out).to.deep.equal([]);
    expect(held).to.equal(20);
    shut = false;
    for (const w of waiters.splice(0)) w();
    source.next(3);
    expect(out).to.deep.equal([1, 2, 3]);
    expect(held).to.equal(0);
  });
});
