// The `rx2p` command in the authenticated protocol: real processes on loopback.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Proc, Procs } from '../cli/proc.js';

describe('rx2p command, --auth', function () {
  this.timeout(30_000);
  const procs = new Procs();
  let dir = '';
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'rx2p-trust-')); });
  afterEach(async () => {
    await procs.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const listening = async (p: Proc) => p.until(() => p.records.find((r) => r.type === 'listening'), 10_000, 'listening');

  it('creates --identity with mode 0600 and keeps the same id across restarts', async () => {
    const file = join(dir, 'node.pem');
    const first = procs.add(Proc.rx2p('--auth', '--identity', file, '--json', '--no-stdin'));
    const a = await listening(first);
    expect(a.encryption).to.equal('Ed25519');
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(readFileSync(file, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/);
    first.child.kill('SIGTERM');
    await first.exitWithin(3_000);
    const second = procs.add(Proc.rx2p('--auth', '--identity', file, '--json', '--no-stdin'));
    const b = await listening(second);
    expect(b.id).to.equal(a.id);
  });

  it('carries a line between two --auth nodes, marked verified, and refuses one not on --allow', async () => {
    const aKey = join(dir, 'a.pem');
    const bKey = join(dir, 'b.pem');
    const a = procs.add(Proc.rx2p('--auth', '--identity', aKey, '--json'));
    const la = await listening(a);
    // b is the only node a's allow-list would name; a's list is written for the next node.
    const b = procs.add(Proc.rx2p('--auth', '--identity', bKey, '--json', '--connect', `127.0.0.1:${la.port as number}`));
    const lb = await listening(b);
    await a.until(() => a.records.find((r) => r.type === 'peer-connected' && r.id === lb.id), 10_000, 'a sees b');
    b.child.stdin!.write('signed hello\n');
    const got = await a.until(() => a.records.find((r) => r.type === 'message'), 10_000, 'the message at a');
    expect(got).to.deep.include({ sender: lb.id, packets: ['signed hello'], verified: true });

    const allow = join(dir, 'allow.txt');
    writeFileSync(allow, `# only a\n${la.id as string}\n`);
    const c = procs.add(Proc.rx2p('--auth', '--allow', allow, '--json', '--no-stdin'));
    const lc = await listening(c);
    const d = procs.add(Proc.rx2p('--auth', '--json', '--no-stdin', '--connect', `127.0.0.1:${lc.port as number}`));
    const refused = await d.until(() => d.records.find((r) => r.type === 'error'), 10_000, 'd refused');
    expect(refused.code).to.equal('ERR_AUTH_REFUSED');
    await c.until(() => c.records.find((r) => r.type === 'error' && r.code === 'ERR_AUTH_NOT_ADMITTED'), 10_000, 'c refuses d');
  });
});
