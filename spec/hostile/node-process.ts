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
import { MeshSocket, Protocol, type MeshOptions } from '../../src/index.js';

interface Args { host: string; port: number; options?: MeshOptions; echo?: boolean; encryption?: string; page?: boolean; record?: string }
const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const gc = (globalThis as { gc?: () => void }).gc;

const node = await MeshSocket.create(args.host, args.port, {
  ...(args.encryption ? { protocol: new Protocol('mesh', args.encryption) } : {}),
  ...args.options,
  // page: the WebSocket port also answers plain HTTP, as `rx2p --web` serves its page.
  ...(args.page && args.options?.webSocket ? { webSocket: { ...args.options.webSocket, onRequest: (_req, res) => res.end('page') } } : {}),
});
const peak = { rss: 0, heapUsed: 0, arrayBuffers: 0, unhandledRaw: 0, unhandledInflated: 0 };
const sample = () => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  // The most bytes one connection held read but not yet handled (MeshOptions.maxUnhandledBytes).
  for (const c of node.routingTable.values()) {
    peak.unhandledRaw = Math.max(peak.unhandledRaw, c.readFlow.queuedRaw);
    peak.unhandledInflated = Math.max(peak.unhandledInflated, c.readFlow.queuedInflated);
  }
};
const sampler = setInterval(sample, 20);
gc?.();
const base = process.memoryUsage();
let received = 0;
// record: the arrival time (this process's clock) of each message whose tag starts with
// this prefix, kept here and given in reports: no line per message, so that a parent
// slow to read the pipe cannot hold this process's loop (a pipe write is synchronous).
const recorded: Record<string, number> = {};
const prefix = args.record === undefined ? undefined : Buffer.from(args.record);
node.messages$.subscribe((m) => {
  received++;
  const p1 = m.packets[1];
  if (prefix !== undefined && p1 !== undefined && p1.length < 64 && p1.subarray(0, prefix.length).equals(prefix)) recorded[p1.toString()] ??= Date.now();
  // At most 64 bytes of the tag: a flood's payload may be megabytes.
  if (args.echo) out({ event: 'message', tag: m.packets[1]?.subarray(0, 64).toString() ?? '', at: Date.now() });
});
node.events$.subscribe((e) => {
  if (e.type === 'error') out({ event: 'error', code: (e.error as { code?: string }).code ?? e.error.name });
  else if (e.type === 'repair') out({ event: 'repair', peer: e.peer, sent: e.sent, received: e.received, bytes: e.bytes });
  else out({ event: e.type, id: e.id });
});
// This process's event-loop delay from now on: the node's alone (a report resets it).
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
out({ event: 'ready', id: node.id, port: node.outAddr[1], wsPort: node.webSocketPort });

let broadcaster: NodeJS.Timeout | undefined;
let broadcastCount = () => 0;
/** The longest interval between two of the honest peer's own sends (its own loop's delay). */
let broadcastLate = 0;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const c = JSON.parse(line) as { cmd: string; host?: string; port?: number; tag?: string; ms?: number };
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
    case 'broadcast-every': {
      // An honest peer's own timer: `${tag}N` every ms, until stop-broadcast.
      let n = 0;
      let last = Date.now();
      broadcaster = setInterval(() => {
        const now = Date.now();
        broadcastLate = Math.max(broadcastLate, now - last);
        last = now;
        node.send(`${c.tag}${++n}`);
      }, c.ms);
      broadcastCount = () => n;
      break;
    }
    case 'stop-broadcast':
      clearInterval(broadcaster);
      out({ event: 'broadcast-stopped', sent: broadcastCount(), longestIntervalMs: broadcastLate });
      break;
    case 'report': {
      sample();
      const loopDelay = { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6 };
      gc?.();
      const now = process.memoryUsage();
      out({
        event: 'report', base, peak, afterGc: now, gcAvailable: gc !== undefined, received,
        waterfalls: node.waterfalls.length, queue: node.queue.length, stats: node.stats,
        peers: [...node.routingTable.keys()], loopDelay, recorded,
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
  clearInterval(broadcaster);
  void node.close().then(() => out({ event: 'closed' }));
});
