// What repair costs two rx2p nodes at idle: the bytes of the exchange on one connection
// per interval, with nothing in the window and with equal stores (1,000 broadcasts both
// hold). Measured in this process at a short interval; the caller scales it to the default.
import type { MeshSocket } from '../src/index.js';

export interface RepairIdleCost {
  intervalMs: number;
  /** Bytes per interval on one connection (both directions), nothing in the window. */
  emptyPerInterval: number;
  /** The same with 1,000 broadcasts in the window, held by both. */
  heldPerInterval: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function repairIdleCost(intervalMs = 200, measureMs = 2_000): Promise<RepairIdleCost> {
  const { MeshSocket } = await import('../src/index.js');
  const options = { compression: [], repairIntervalMs: intervalMs, sweepIntervalMs: 20, maxOutgoing: 0 };
  const a = await MeshSocket.create('127.0.0.1', 0, options);
  const b = await MeshSocket.create('127.0.0.1', 0, options);
  const bytes = (n: MeshSocket) => n.stats.repairControlBytes + n.stats.repairBytes;
  const perInterval = async () => {
    const before = bytes(a) + bytes(b);
    const t0 = Date.now();
    await sleep(measureMs);
    return (bytes(a) + bytes(b) - before) / ((Date.now() - t0) / intervalMs);
  };
  try {
    await b.connect('127.0.0.1', a.outAddr[1]);
    await sleep(intervalMs);
    const emptyPerInterval = await perInterval();
    for (let i = 0; i < 1_000; i++) a.send(`idle-cost-${i}`);
    // Past the settling second, so that the buckets that hold them are compared.
    await sleep(2_500);
    const heldPerInterval = await perInterval();
    return { intervalMs, emptyPerInterval, heldPerInterval };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
