// Handles on bench nodes: in the bench's own process, or one worker process each.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, type AgentMethod, type Remote } from './agent.js';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, '..');

export type Mode = 'procs' | 'inproc';

/** An Agent in this process, behind the same async interface as a worker's. */
export function localHandle(): Remote {
  const agent = new Agent();
  return new Proxy({} as Remote, {
    get: (_t, method: string) => async (...args: unknown[]) => (agent[method as AgentMethod] as (...a: unknown[]) => unknown)(...args),
  });
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }

/** How a worker runs: TypeScript through tsx (as the bench runs), or compiled JS (as deployed). */
export type Runner = { kind: 'tsx' } | { kind: 'js'; workerJs: string };

/** One worker process hosting one Agent. */
export class Worker {
  readonly child: ChildProcess;
  readonly handle: Remote;
  readonly ready: Promise<void>;
  private serial = 0;
  private readonly pending = new Map<number, Pending>();
  private exited = false;
  readonly exitedPromise: Promise<void>;

  constructor(runner: Runner = { kind: 'tsx' }) {
    const extra = [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), ...(process.env.BENCH_V8 ? process.env.BENCH_V8.split(' ') : [])];
    this.child = runner.kind === 'tsx'
      ? fork(join(benchDir, 'node-worker.ts'), [], { cwd: repoRoot, execArgv: ['--import', 'tsx', '--expose-gc', ...extra], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : fork(runner.workerJs, [], { cwd: repoRoot, execArgv: ['--expose-gc', ...extra], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exitedPromise = new Promise((r) => this.child.once('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`worker ${this.child.pid} exited`));
      this.pending.clear();
      r();
    }));
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.child.once('error', rejectReady);
      this.child.on('message', (m: { ready?: boolean; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
        if (m.ready) return resolveReady();
        const p = this.pending.get(m.id!);
        if (!p) return;
        this.pending.delete(m.id!);
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(`worker ${this.child.pid}: ${m.error}`));
      });
      this.child.once('exit', (code) => rejectReady(new Error(`worker exited with ${code} before it was ready`)));
    });
    this.handle = new Proxy({} as Remote, {
      get: (_t, method: string) => (...args: unknown[]) => this.call(method, args),
    });
  }

  private call(method: string, args: unknown[]): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error('worker has exited'));
    const id = ++this.serial;
    return new Promise((resolveCall, reject) => {
      this.pending.set(id, { resolve: resolveCall, reject });
      this.child.send({ id, method, args });
    });
  }

  /** Asks the worker to stop its node and exit; kills it (by its pid) if it has not within 5 s. */
  async close(): Promise<void> {
    if (this.exited) return;
    try { this.child.send({ exit: true }); } catch { /* already gone */ }
    const timer = setTimeout(() => { if (!this.exited) this.child.kill('SIGKILL'); }, 5000);
    await this.exitedPromise;
    clearTimeout(timer);
  }
}

/** Worker processes, kept for reuse between workloads (each hosts one node at a time). */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  constructor(private readonly runner: Runner = { kind: 'tsx' }) {
    live.add(this);
  }

  async handles(n: number): Promise<Remote[]> {
    while (this.workers.length < n) this.workers.push(new Worker(this.runner));
    await Promise.all(this.workers.map((w) => w.ready));
    return this.workers.slice(0, n).map((w) => w.handle);
  }

  pids(n: number): number[] {
    return this.workers.slice(0, n).map((w) => w.child.pid!);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.close()));
    live.delete(this);
  }

  killNow(): void {
    for (const w of this.workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }
}

const live = new Set<WorkerPool>();
// Whatever happens to the bench, its children do not outlive it.
process.once('exit', () => { for (const p of live) p.killNow(); });

export function workerJsExists(path: string): boolean {
  return existsSync(path);
}
