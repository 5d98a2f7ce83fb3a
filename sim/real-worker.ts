// One OS process of the real-process run (sim/real.ts): hosts some of the nodes, on
// loopback TCP, and does what the parent says over IPC.
import { MeshSocket } from '../src/index.js';

type Command =
  | { id: number; cmd: 'start'; indices: number[]; repair: boolean }
  | { id: number; cmd: 'connect'; index: number; port: number }
  | { id: number; cmd: 'send'; index: number; b: number; payload: string }
  | { id: number; cmd: 'snapshot' }
  | { id: number; cmd: 'stop' };

const nodes = new Map<number, MeshSocket>();
/** counts[b] = Map(node index -> copies delivered) */
const counts = new Map<number, Map<number, number>>();
const firstAt = new Map<number, Map<number, number>>();

const reply = (id: number, value: unknown) => process.send!({ id, value });

process.on('message', (m: Command) => {
  void handle(m).then((v) => reply(m.id, v), (err: Error) => process.send!({ id: m.id, error: err.stack }));
});

async function handle(m: Command): Promise<unknown> {
  switch (m.cmd) {
    case 'start': {
      const ports: Record<number, number> = {};
      for (const i of m.indices) {
        const node = await MeshSocket.create('127.0.0.1', 0, { compression: [], userSalt: `sim-${i}`, repair: m.repair });
        nodes.set(i, node);
        ports[i] = node.outAddr[1];
        node.messages$.subscribe((msg) => {
          const text = msg.text(1);
          if (!text?.startsWith('sim:')) return;
          const b = Number.parseInt(text.slice(4), 10);
          let c = counts.get(b);
          if (!c) counts.set(b, (c = new Map()));
          const n = (c.get(i) ?? 0) + 1;
          c.set(i, n);
          if (n === 1) {
            let f = firstAt.get(b);
            if (!f) firstAt.set(b, (f = new Map()));
            f.set(i, performance.timeOrigin + performance.now());
          }
          // Keep the recv() queue empty, as a consumer would.
          void node.recv(1);
        });
      }
      return ports;
    }
    case 'connect':
      await nodes.get(m.index)!.connect('127.0.0.1', m.port).catch(() => false);
      return true;
    case 'send':
      nodes.get(m.index)!.send(`sim:${m.b}:${m.payload}`);
      return performance.timeOrigin + performance.now();
    case 'snapshot': {
      const g = (globalThis as { gc?: () => void }).gc;
      g?.();
      g?.();
      const peers: Record<number, number[]> = {};
      const ids: Record<number, string> = {};
      let framesOut = 0;
      const repair = { controlFrames: 0, controlBytes: 0, sent: 0, bytes: 0, received: 0 };
      for (const [i, node] of nodes) {
        ids[i] = node.id;
        peers[i] = [...node.routingTable.values()].map((c) => c.addr?.[1] ?? 0);
        const st = node.stats;
        // The broadcasts' own frames: repair's exchange is counted in framesOut too.
        framesOut += st.framesOut - st.repairControlFrames;
        repair.controlFrames += st.repairControlFrames;
        repair.controlBytes += st.repairControlBytes;
        repair.sent += st.repairSent;
        repair.bytes += st.repairBytes;
        repair.received += st.repairReceived;
      }
      const c: Record<number, Record<number, number>> = {};
      for (const [b, map] of counts) c[b] = Object.fromEntries(map);
      const f: Record<number, Record<number, number>> = {};
      for (const [b, map] of firstAt) f[b] = Object.fromEntries(map);
      return { peers, ids, framesOut, repair, counts: c, firstAt: f, rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed };
    }
    case 'stop':
      await Promise.all([...nodes.values()].map((n) => n.close()));
      setImmediate(() => process.disconnect());
      return true;
  }
}

// The process's own RSS before any node, after a collection: what a node adds is measured above it.
(globalThis as { gc?: () => void }).gc?.();
process.send!({ ready: true, rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed });
