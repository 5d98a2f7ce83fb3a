// What a newcomer meets first with the `rx2p` command: a node started before the node it
// joins keeps trying until it is connected (said on stdout, as text and as --json
// records); the join line of an --auth --network-key node names every flag the joiner
// needs, the secret as a placeholder; errors name what failed; two quick signals never end
// the process by the signal itself. And connect() failures are typed (ConnectError).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectError, MeshError, MeshSocket } from '../../src/index.js';
import { NETWORK_KEY_PLACEHOLDER } from '../../src/cli/args.js';
import { prng } from '../prng.js';
import { Proc, Procs } from './proc.js';

const isListening = (r: Record<string, unknown>) => r.type === 'listening';
/** How long after B the node it joins starts (RX2P_LATE_START_MS=10000 for the acceptance run). */
const LATE_START_MS = Number(process.env.RX2P_LATE_START_MS ?? 3000);
/** Runs of the two-signal check (RX2P_SIGNAL_RUNS=20 to hunt the race). */
const SIGNAL_RUNS = Number(process.env.RX2P_SIGNAL_RUNS ?? 4);

/** A port nobody listens on now: bound by the OS, then released. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('rx2p: first contact', function () {
  this.timeout(LATE_START_MS + 40_000);
  const procs = new Procs();
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'rx2p-first-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => procs.killAll());

  it(`--connect started ${LATE_START_MS / 1000} s before its peer retries until connected (npm start as the README says, and --json)`, async () => {
    const port = await freePort();
    const t0 = Date.now();
    // The README's command, verbatim but for the port.
    const text = procs.add(new Proc('npm', ['start', '--', '--connect', `127.0.0.1:${port}`]));
    const json = procs.add(Proc.rx2p('--json', '--no-stdin', '--connect', `127.0.0.1:${port}`));
    const retry = await json.record((r) => r.type === 'connect-retry', 15_000, 'a connect-retry record');
    expect(retry).to.include({ host: '127.0.0.1', port, attempt: 1, code: 'ECONNREFUSED' });
    await text.until(() => text.lines.find((l) => l.startsWith(`cannot connect to 127.0.0.1:${port} (ECONNREFUSED, attempt 1): trying again`)), 15_000, 'the retry line');
    await new Promise((r) => setTimeout(r, Math.max(0, LATE_START_MS - (Date.now() - t0))));
    const tA = Date.now();
    const a = procs.add(Proc.rx2p('--json', '--no-stdin', '--port', String(port)));
    const listening = await a.record(isListening, 15_000, 'a listening');
    const tListening = Date.now();
    await json.record((r) => r.type === 'peer-connected' && r.id === listening.id, 10_000, 'the --json node connected');
    await text.until(() => text.lines.find((l) => l.startsWith(`connected to ${listening.id as string}`)), 10_000, 'the npm start node connected');
    const total = Date.now() - t0;
    console.log(`      (A started ${tA - t0} ms and listening ${tListening - t0} ms after B; both Bs connected ${total} ms after B started, ${Date.now() - tA} ms after A started, ${Date.now() - tListening} ms after A listened)`);
    expect(Date.now() - tListening).to.be.below(6000); // the longest wait between attempts is 2 s
  });

  it('prints a join line with every flag an --auth --network-key node needs, and that line joins', async () => {
    const key = join(dir, 'network.key');
    // What rx2p --network-key-new writes: 64 hex digits, mode 0600 (a passphrase or a readable file is refused).
    writeFileSync(key, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    const a = procs.add(Proc.rx2p('--json', '--no-stdin', '--auth', '--network-key', key, '--subnet', 'team'));
    const listening = await a.record(isListening, 15_000, 'a listening');
    const line = listening.join as string;
    expect(line).to.match(new RegExp(`^npm start -- --connect 127\\.0\\.0\\.1:${listening.port as number} --subnet team --auth --network-key ${NETWORK_KEY_PLACEHOLDER}$`));
    const args = line.replace('npm start -- ', '').replace(NETWORK_KEY_PLACEHOLDER, key).split(' ');
    const b = procs.add(Proc.rx2p('--json', '--no-stdin', ...args));
    await b.record((r) => r.type === 'peer-connected' && r.id === listening.id, 15_000, 'b connected with the join line');
    expect(a.stderr + a.lines.join('\n')).not.to.include('refused');
  });

  it('names what failed: a short network key, a bad --allow entry, a busy --web port', async () => {
    const shortKey = join(dir, 'short.key');
    writeFileSync(shortKey, 'too short\n');
    const allow = join(dir, 'allow.txt');
    writeFileSync(allow, '# admitted\nnot-a-node-id\n');
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const busyPort = (busy.address() as net.AddressInfo).port;
    try {
      const cases: Array<[string[], string]> = [
        [['--auth', '--network-key', shortKey], `rx2p: --network-key ${shortKey}: `],
        [['--auth', '--allow', allow], `rx2p: --allow ${allow}: `],
        [['--web', String(busyPort)], `rx2p: cannot serve the live page (--web) on 127.0.0.1:${busyPort}: `],
      ];
      for (const [args, expected] of cases) {
        const p = procs.add(Proc.rx2p('--no-stdin', ...args));
        expect(await p.exitWithin(15_000), args.join(' ')).to.deep.equal({ code: 1, signal: null });
        expect(p.stderr.split('\n')[0], args.join(' ')).to.satisfy((l: string) => l.startsWith(expected));
        expect(p.stderr, args.join(' ')).not.to.include('cannot listen');
      }
    } finally {
      busy.close();
    }
  });

  it(`two quick SIGTERMs end the process with a status, never by the signal (${SIGNAL_RUNS} runs)`, async () => {
    const random = prng(21);
    const seen: string[] = [];
    for (let i = 0; i < SIGNAL_RUNS; i++) {
      const p = procs.add(Proc.rx2p('--json', '--no-stdin'));
      await p.record(isListening, 15_000, 'listening');
      p.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, Math.floor(random() * 300)));
      if (p.exit === undefined) p.child.kill('SIGTERM');
      const exit = await p.exitWithin(5000);
      seen.push(`${exit.code}/${exit.signal}`);
      expect(exit.signal, `run ${i}: ${seen.join(' ')}`).to.equal(null);
      expect(exit.code).to.be.oneOf([0, 1]);
    }
    console.log(`      (exits: ${seen.join(' ')})`);
  });
});

describe('connect() failures', () => {
  let node: MeshSocket;
  before(async () => { node = await MeshSocket.create('127.0.0.1', 0); });
  after(() => node.close());

  it('a refused port rejects with ConnectError, a MeshError keeping ECONNREFUSED', async () => {
    const port = await freePort();
    const err = await node.connect('127.0.0.1', port).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ConnectError);
    expect(err).to.be.instanceOf(MeshError);
    expect(err).to.include({ code: 'ERR_CONNECT', syscallCode: 'ECONNREFUSED', host: '127.0.0.1', port });
    expect((err as Error).message).to.include(`127.0.0.1:${port}`);
  });

  it('an unknown host rejects with ConnectError keeping the resolver code', async () => {
    const err = await node.connect('no-such-host.invalid', 4444).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ConnectError);
    expect((err as ConnectError).syscallCode).to.be.oneOf(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);
  });
});
