// Live py2p 0.2 beside rx2p, for spec/interop/live-soak.spec.ts and the long acceptance
// runs (spec/interop/soak-run.ts). py2p is not part of this repository: PY2P_SRC names a
// directory holding its source as `py_src` (the 0.2 release). It is copied into a temp
// dir (py2p's SSL server writes its certificate next to its source) with py2p_node.py,
// which runs one py2p node and speaks JSON lines (see its header).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Proc } from '../cli/proc.js';

/** The py2p source tree (holding py_src), or undefined with the reason the live specs skip. */
export function py2pSource(): { src?: string; why?: string } {
  const src = process.env.PY2P_SRC;
  if (!src) return { why: 'PY2P_SRC is not set (a directory holding py2p 0.2 as py_src)' };
  if (!existsSync(join(src, 'py_src', 'mesh.py'))) return { why: `PY2P_SRC=${src} holds no py_src/mesh.py` };
  if (!existsSync(process.env.PY2P_PYTHON ?? '/usr/bin/python3')) return { why: 'no python3 (set PY2P_PYTHON)' };
  return { src };
}

/** A temp dir with a copy of py2p and the node script; remove() deletes it. */
export class LiveDir {
  readonly dir: string;
  constructor(src: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'rx2p-py2p-'));
    cpSync(join(src, 'py_src'), join(this.dir, 'py_src'), { recursive: true });
    cpSync(fileURLToPath(new URL('py2p_node.py', import.meta.url)), join(this.dir, 'py2p_node.py'));
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type Rec = Record<string, unknown> & { type: string; at: number };

/** Lines of JSON from a child's stdout, each stamped with the time it was read. */
function collect(child: ChildProcess, into: Rec[], wake: () => void): void {
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    const at = Date.now();
    for (const line of parts) {
      if (!line.startsWith('{')) continue;
      try {
        into.push({ ...(JSON.parse(line) as Record<string, unknown>), at } as Rec);
      } catch {
        // not a record
      }
    }
    wake();
  });
}

async function until<T>(find: () => T | undefined, timeoutMs: number, what: string, waiters: Array<() => void>, dump: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${dump()}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(left, 200));
      function done() { clearTimeout(timer); resolve(); }
      waiters.push(done);
    });
  }
}

/** One py2p 0.2 node (py2p_node.py) in its own process. */
export class Py2pNode {
  readonly records: Rec[] = [];
  stderr = '';
  id = '';
  port = 0;
  exited = false;
  private readonly waiters: Array<() => void> = [];
  private readonly child: ChildProcess;
  private readonly done: Promise<void>;

  private constructor(dir: string, readonly name: string, encryption: 'Plaintext' | 'SSL', port: number) {
    this.child = spawn(process.env.PY2P_PYTHON ?? '/usr/bin/python3', ['-u', join(dir, 'py2p_node.py'), dir, String(port), encryption], { stdio: ['pipe', 'pipe', 'pipe'] });
    collect(this.child, this.records, () => this.wake());
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => { this.stderr += c; });
    this.child.stdin!.on('error', () => undefined);
    this.done = new Promise((resolve) => this.child.on('exit', () => { this.exited = true; this.wake(); resolve(); }));
  }

  static async start(dir: string, name: string, encryption: 'Plaintext' | 'SSL', port = 0): Promise<Py2pNode> {
    const node = new Py2pNode(dir, name, encryption, port);
    const l = await node.until(() => node.records.find((r) => r.type === 'listening'), 20_000, `${name} listening`);
    node.id = l.id as string;
    node.port = l.port as number;
    return node;
  }

  private command(c: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
  }
  send(text: string): void { this.command({ cmd: 'send', text }); }
  connect(port: number): void { this.command({ cmd: 'connect', host: '127.0.0.1', port }); }

  /** py2p's daemon.exceptions, as reported (each with its traceback). */
  get exceptions(): Rec[] { return this.records.filter((r) => r.type === 'exception' || r.type === 'error'); }
  /** Ids of peers py2p's routing table lost (py2p has no other notion of a disconnect). */
  get peersLost(): string[] { return this.records.filter((r) => r.type === 'peer-down').map((r) => r.id as string); }
  get peers(): Set<string> {
    const now = new Set<string>();
    for (const r of this.records) {
      if (r.type === 'peer-up') now.add(r.id as string);
      else if (r.type === 'peer-down') now.delete(r.id as string);
    }
    return now;
  }

  until<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return until(find, timeoutMs, what, this.waiters, () => `${this.name} stderr:\n${this.stderr.slice(-4000)}`);
  }

  async quit(): Promise<void> {
    if (this.exited) return;
    this.command({ cmd: 'quit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await this.done;
    clearTimeout(timer);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** One `rx2p --json` node (the command, from source) in its own process group. */
export class Rx2pNode {
  readonly proc: Proc;
  id = '';
  port = 0;
  private constructor(readonly name: string, args: string[]) {
    this.proc = Proc.rx2p('--json', '--port', '0', ...args);
  }
  static async start(name: string, args: string[]): Promise<Rx2pNode> {
    const node = new Rx2pNode(name, args);
    const l = await node.proc.record((r) => r.type === 'listening', 30_000, `${name} listening`);
    node.id = l.id as string;
    node.port = l.port as number;
    return node;
  }
  /** A line on stdin: the command broadcasts it. */
  send(text: string): void { this.proc.child.stdin!.write(`${text}\n`); }
  get records(): Array<Record<string, unknown>> { return this.proc.records; }
  get peers(): Set<string> {
    const now = new Set<string>();
    for (const r of this.proc.records) {
      if (r.type === 'peer-connected') now.add(r.id as string);
      else if (r.type === 'peer-disconnected') now.delete(r.id as string);
    }
    return now;
  }
  get disconnects(): string[] {
    return this.proc.records.filter((r) => r.type === 'peer-disconnected').map((r) => r.id as string);
  }
  /** Broadcast texts delivered, with how many times. */
  deliveries(): Map<string, number> {
    const got = new Map<string, number>();
    for (const r of this.proc.records) {
      if (r.type !== 'message') continue;
      const t = (r.packets as string[])[0] ?? '';
      got.set(t, (got.get(t) ?? 0) + 1);
    }
    return got;
  }
  async stop(): Promise<void> {
    if (this.proc.exit) return;
    this.proc.child.kill('SIGTERM');
    try {
      await this.proc.exitWithin(5_000);
    } catch {
      await this.proc.kill();
    }
  }
  kill(): Promise<void> { return this.proc.kill(); }
}
