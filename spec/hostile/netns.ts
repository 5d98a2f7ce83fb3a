// Two network namespaces joined by a veth pair, for the specs that partition a mesh for
// real (spec/hostile/netns.spec.ts, spec/repair/partition.spec.ts). Addresses are
// 10.N.M.1 and 10.N.M.2, which exist only inside the namespaces made here; no traffic
// leaves them. Needs root and a working `ip netns` (see unavailable()).
import { spawnSync } from 'node:child_process';
import { waitFor } from '../helpers.js';

export function ip(...args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export function must(...args: string[]): void {
  const r = ip(...args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.out}`);
}

/** Why namespaces cannot be used here, or undefined if they can. */
export function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const r = ip('netns', 'list');
  if (!r.ok) return `ip netns does not work here: ${r.out.trim()}`;
  return undefined;
}

export const linkUp = (ns: string, dev: string) => /LOWER_UP/.test(ip('-n', ns, 'link', 'show', dev).out);

/** Namespaces rx2p-{prefix}a-PID and rx2p-{prefix}b-PID, veth ends rx2p{prefix}aPID and rx2p{prefix}bPID, addresses in 10.{octet}.(PID mod 200).0/24. */
export class NetnsPair {
  readonly tag = `${process.pid % 10_000}`;
  readonly nsA: string;
  readonly nsB: string;
  readonly vethA: string;
  readonly vethB: string;
  readonly addrA: string;
  readonly addrB: string;
  /** True once create() has begun (so there may be something to delete). */
  created = false;

  constructor(prefix: string, octet: number) {
    this.nsA = `rx2p-${prefix}a-${this.tag}`;
    this.nsB = `rx2p-${prefix}b-${this.tag}`;
    this.vethA = `rx2p${prefix}a${this.tag}`;
    this.vethB = `rx2p${prefix}b${this.tag}`;
    const subnet = `10.${octet}.${process.pid % 200}`;
    this.addrA = `${subnet}.1`;
    this.addrB = `${subnet}.2`;
  }

  /** Makes both namespaces and the link, both ends up; `sysctls` (net.ipv4 keys) are set in each namespace. */
  create(sysctls: ReadonlyArray<readonly [string, string]> = []): void {
    // Leftovers of an earlier run with the same pid would make `add` fail.
    this.destroy();
    this.created = true;
    must('netns', 'add', this.nsA);
    must('netns', 'add', this.nsB);
    must('link', 'add', this.vethA, 'type', 'veth', 'peer', 'name', this.vethB);
    must('link', 'set', this.vethA, 'netns', this.nsA);
    must('link', 'set', this.vethB, 'netns', this.nsB);
    must('-n', this.nsA, 'addr', 'add', `${this.addrA}/24`, 'dev', this.vethA);
    must('-n', this.nsB, 'addr', 'add', `${this.addrB}/24`, 'dev', this.vethB);
    for (const [ns, dev] of [[this.nsA, this.vethA], [this.nsB, this.vethB]] as const) {
      must('-n', ns, 'link', 'set', 'lo', 'up');
      must('-n', ns, 'link', 'set', dev, 'up');
      for (const [key, value] of sysctls) {
        const r = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', `echo ${value} > /proc/sys/net/ipv4/${key}`], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`setting ${key} in ${ns}: ${r.stderr}`);
      }
    }
  }

  /**
   * Inside a describe(): the suite is skipped, saying why, where namespaces cannot be
   * used; otherwise the pair is made before it and deleted after it.
   */
  forSuite(sysctls: ReadonlyArray<readonly [string, string]> = []): void {
    const net = this;
    before(function () {
      const reason = unavailable();
      if (reason) {
        console.log(`      skipped: ${reason}`);
        this.skip();
      }
      net.create(sysctls);
    });
    after(() => {
      if (net.created) net.destroy();
    });
  }

  /** Deleting a namespace deletes the veth end inside it (and so the pair). */
  destroy(): void {
    ip('netns', 'del', this.nsA);
    ip('netns', 'del', this.nsB);
  }

  /** Takes the link down, from A's end. */
  async partition(): Promise<void> {
    must('-n', this.nsA, 'link', 'set', this.vethA, 'down');
    await waitFor(() => !linkUp(this.nsB, this.vethB), 5_000, 'link down');
  }

  async heal(): Promise<void> {
    must('-n', this.nsA, 'link', 'set', this.vethA, 'up');
    await waitFor(() => linkUp(this.nsA, this.vethA) && linkUp(this.nsB, this.vethB), 10_000, 'link up');
  }
}
