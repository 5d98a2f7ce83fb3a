import { MeshSocket, type MeshOptions } from '../src/index.js';

/** Polls cond until it holds, or fails after timeoutMs with what it was waiting for. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Tracks nodes made in a test so afterEach can close them all. */
export class Nodes {
  private readonly all: MeshSocket[] = [];

  async make(options: MeshOptions = {}, addr = '127.0.0.1'): Promise<MeshSocket> {
    const node = new MeshSocket(addr, 0, options);
    this.all.push(node);
    return node.ready;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((n) => n.close()));
  }
}

/** Connects b to a and waits until both routing tables show the other. */
export async function link(a: MeshSocket, b: MeshSocket): Promise<void> {
  await b.connect('127.0.0.1', a.outAddr[1]);
  await waitFor(() => a.routing_table.has(b.id) && b.routing_table.has(a.id), 5000, 'link handshake');
}

/** Active handles and requests (process.getActiveResourcesInfo) other than stdio, by kind. */
export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'PipeWrap' || r === 'TTYWrap') continue;
    out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

/** Kinds whose count grew since `before` (handles are released a little after close(), so poll this). */
export function leakedResources(before: Record<string, number>, after = activeResources()): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(after)) if (n > (before[k] ?? 0)) out[k] = n - (before[k] ?? 0);
  return out;
}

/** Every broadcast text (a message's second packet) `node` delivers from now on, with how many times. */
export function countDeliveries(node: MeshSocket): Map<string, number> {
  const got = new Map<string, number>();
  node.messages$.subscribe((m) => {
    const t = m.packets[1]!.toString();
    got.set(t, (got.get(t) ?? 0) + 1);
  });
  return got;
}
