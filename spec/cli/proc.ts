// Child processes for the command-line specs: started in their own process group so that
// cleanup can kill everything they spawned (npm → tsx → node), read line by line, and
// waited on with deadlines.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  private waiters: Array<() => void> = [];

  constructor(command: string, args: string[], cwd = repoRoot) {
    this.child = spawn(command, args, { cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.child.stdin!.on('error', () => undefined); // a child that exited first is not our error
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
    });
  }

  /** The `rx2p` command from source, as a script would run it (no npm banner). */
  static rx2p(...args: string[]): Proc {
    return new Proc(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args]);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** stdout lines that are JSON objects, parsed. */
  get records(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.lines) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a record (npm or a partial line)
      }
    }
    return out;
  }

  /** Resolves with the first value `find` returns that is not undefined, or fails at the deadline. */
  async until<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.exit) {
        throw new Error(`${this.exit ? `process exited (${JSON.stringify(this.exit)})` : `timed out after ${timeoutMs} ms`} waiting for ${what}\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() { clearTimeout(timer); resolve(); }
        this.waiters.push(done);
      });
    }
  }

  /** The first JSON record matching `match`. */
  record(match: (r: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    return this.until(() => this.records.find(match), timeoutMs, what);
  }

  /** The process exit, or a failure at the deadline. */
  async exitWithin(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process ${this.pid} still running after ${timeoutMs} ms\nstderr:\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Processes of this child's group still running (zombies waiting to be reaped do not count). */
  liveGroupMembers(): number[] {
    return liveProcessesInGroup(this.pid);
  }

  /** Kills the whole process group, whatever state it is in. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
    if (!this.exit && this.child.exitCode === null && this.child.signalCode === null) await this.exited;
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.child.stdin?.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Starts processes through `start` and kills every one of them in cleanup. */
export class Procs {
  private readonly all: Proc[] = [];

  add(p: Proc): Proc {
    this.all.push(p);
    return p;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((p) => p.kill()));
  }
}

/** Pids in process group `pgid` that are not zombies, from /proc (Linux). */
export function liveProcessesInGroup(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') live.push(Number(entry));
  }
  return live;
}
