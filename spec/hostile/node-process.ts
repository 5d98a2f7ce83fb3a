// One mesh node in its own process, driven over stdin/stdout as JSON lines. Used where a
// node must be measured alone (its memory under a flood) or must run somewhere else (a
// network namespace: `ip netns exec NS node --import tsx spec/hostile/node-process.ts`).
//
//   argv[2]: JSON { host, port, options?, echo? }   (echo: report every message received)
//   stdin:   { cmd: 'connect', host, port } | { cmd: 'send', tag } | { cmd: 'report' } | { cmd: 'close' }
//   stdout:  { event: 'ready', id, port } | { event: 'message', tag } | { event: 'peer-connected' | 'peer-disconnected', id }
//            | { event: 'error', code } | { event: 'connect-result', ok, error? } | { event: 'report', ..., loopDelay } | { event: 'closed' }
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { MeshSocket, type MeshOptions } from '../../src/index.js';

interface Args { host: string; port: number; options?: MeshOptions; echo?: boolean }
const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const gc = (globalThis as { gc?: () => void }).gc;

const node = await MeshSocket.create(args.host, args.port, args.options ?? {});
const peak = { rss: 0, heapUsed: 0, arrayBuffers: 0 };
const sample = () => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
};
const sampler = setInterval(sample, 20);
gc?.();
const base = process.memoryUsage();
let received = 0;
node.messages$.subscribe((m) => {
  received++;
  if (args.echo) out({ event: 'message', tag: m.packets[1]?.toString() ?? '' });
});
node.events$.subscribe((e) => {
  if (e.type === 'error') out({ event: 'error', code: (e.error as { code?: string }).code ?? e.error.name });
  else if (e.type === 'repair') out({ event: 'repair', peer: e.peer, sent: e.sent, received: e.received, bytes: e.bytes });
  else out({ event: e.type, id: e.id });
});
// This process's event-loop delay from now on: the node's alone (a report resets it).
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
out({ event: 'ready', id: node.id, port: node.outAddr[1] });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const c = JSON.parse(line) as { cmd: string; host?: string; port?: number; tag?: string };
  switch (c.cmd) {
    case 'connect':
      node.connect(c.host!, c.port!).then(
        (ok) => out({ event: 'connect-result', ok }),
        (e: Error & { code?: string }) => out({ event: 'connect-result', ok: false, error: e.code ?? e.message }),
      );
      break;
    case 'send':
      node.send(c.tag!);
      break;
    case 'report': {
      sample();
      const loopDelay = { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6 };
      gc?.();
      const now = process.memoryUsage();
      out({
        event: 'report', base, peak, afterGc: now, gcAvailable: gc !== undefined, received,
        waterfalls: node.waterfalls.length, queue: node.queue.length, stats: node.stats,
        peers: [...node.routingTable.keys()], loopDelay,
      });
      loop.reset();
      break;
    }
    case 'close':
      lines.close();
      break;
  }
});
// Closing stdin (or the close command) closes the node; the process then exits by itself.
lines.on('close', () => {
  clearInterval(sampler);
  void node.close().then(() => out({ event: 'closed' }));
});
