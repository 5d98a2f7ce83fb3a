// The parent side of node-process.ts: spawns a node in a child process (optionally inside
// a network namespace) and talks to it in JSON lines.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MeshOptions } from '../../src/index.js';
import { waitFor } from '../helpers.js';

const script = fileURLToPath(new URL('./node-process.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildEvent { event: string; [k: string]: unknown }

export interface SpawnOptions {
  host: string;
  port?: number;
  options?: MeshOptions;
  /** Report every message received (not for floods). */
  echo?: boolean;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** Pass --expose-gc, so that reports include the heap after a full GC. */
  exposeGc?: boolean;
  /** The protocol's encryption ('Plaintext', 'SSL', 'Ed25519'); default the node's. */
  encryption?: string;
  /** With options.webSocket: answer plain HTTP on that port too (as the page server does). */
  page?: boolean;
  /** Record (in the child) when each message whose tag starts with this arrives; reports give them. */
  record?: string;
}

export class NodeProcess {
  readonly events: ChildEvent[] = [];
  readonly messages = new Set<string>();
  /** When each echoed message tag reached this process (Date.now()), first arrival. */
  readonly arrivals = new Map<string, number>();
  /** The WebSocket listener's port, when the node has one. */
  wsPort: number | undefined;
  id = '';
  port = 0;
  exited = false;
  stderr = '';

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let e: ChildEvent;
      try {
        e = JSON.parse(line) as ChildEvent;
      } catch {
        return;
      }
      if (e.event === 'message') {
        const tag = String(e.tag);
        this.messages.add(tag);
        // The child's own clock when it stamps the message (this process may be busy).
        if (!this.arrivals.has(tag)) this.arrivals.set(tag, typeof e.at === 'number' ? e.at : Date.now());
      }
      else this.events.push(e);
    });
    child.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    child.on('exit', () => { this.exited = true; });
  }

  static async spawn(o: SpawnOptions): Promise<NodeProcess> {
    const nodeArgs = [...(o.exposeGc ? ['--expose-gc'] : []), '--import', 'tsx', script, JSON.stringify({ host: o.host, port: o.port ?? 0, options: o.options, echo: o.echo, encryption: o.encryption, page: o.page, record: o.record })];
    const child = o.netns
      ? spawn('ip', ['netns', 'exec', o.netns, process.execPath, ...nodeArgs], { cwd: root })
      : spawn(process.execPath, nodeArgs, { cwd: root });
    const p = new NodeProcess(child);
    await waitFor(() => p.events.some((e) => e.event === 'ready') || p.exited, 20_000, 'child node ready');
    const ready = p.events.find((e) => e.event === 'ready');
    if (!ready) throw new Error(`child node failed to start: ${p.stderr}`);
    p.id = String(ready.id);
    p.port = Number(ready.port);
    p.wsPort = ready.wsPort === undefined ? undefined : Number(ready.wsPort);
    return p;
  }

  command(c: object): void {
    if (!this.exited) this.child.stdin.write(JSON.stringify(c) + '\n');
  }

  /** Waits for an event matching `pred` that arrived after index `from` of the event list. */
  async next(pred: (e: ChildEvent) => boolean, timeoutMs = 10_000, from = 0, what = 'child event'): Promise<ChildEvent> {
    let found: ChildEvent | undefined;
    await waitFor(() => (found = this.events.slice(from).find(pred)) !== undefined, timeoutMs, what);
    return found!;
  }

  async connect(host: string, port: number): Promise<ChildEvent> {
    const from = this.events.length;
    this.command({ cmd: 'connect', host, port });
    return this.next((e) => e.event === 'connect-result', 15_000, from, 'connect result');
  }

  async report(): Promise<ChildEvent> {
    const from = this.events.length;
    this.command({ cmd: 'report' });
    return this.next((e) => e.event === 'report', 15_000, from, 'report');
  }

  send(tag: string): void {
    this.command({ cmd: 'send', tag });
  }

  /** Closes the node (end of stdin) and waits for the process to exit; kills it after a deadline. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.exited) return;
    this.child.stdin.end();
    try {
      await waitFor(() => this.exited, timeoutMs, 'child exit');
    } catch {
      this.child.kill('SIGKILL');
      await waitFor(() => this.exited, 2_000, 'child killed');
    }
  }

  /** Ends the process at once, as a crash or a power cut would (no close). */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await waitFor(() => this.exited, 5_000, 'child killed');
  }
}
