// The `rx2p` command driven as a user or a script would: real processes on loopback.
import { expect } from 'chai';
import * as net from 'node:net';
import { Proc, Procs } from './proc.js';

const isListening = (r: Record<string, unknown>) => r.type === 'listening';

/** Resolves true if something accepts connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Polls until cond holds, or fails at the deadline. */
async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('rx2p command', function () {
  this.timeout(20_000);
  const procs = new Procs();
  afterEach(() => procs.killAll());

  describe('started with no arguments', () => {
    it('prints its id, its address and the command that joins a second node, within 3 s', async () => {
      const t0 = Date.now();
      const node = procs.add(Proc.rx2p());
      const join = await node.until(() => node.lines.find((l) => l.includes('--connect')), 3000, 'the join command');
      const elapsed = Date.now() - t0;
      const text = node.lines.join('\n');
      const port = Number(/--connect 127\.0\.0\.1:(\d+)/.exec(join)?.[1]);
      expect(join.trim()).to.equal(`npm start -- --connect 127.0.0.1:${port}`);
      expect(text).to.match(/rx2p node [1-9A-HJ-NP-Za-km-z]{60,}/);
      expect(text).to.include(`listening on 127.0.0.1:${port}`);
      expect(await accepts(port)).to.equal(true);
      console.log(`      (join command printed after ${elapsed} ms)`);
      node.child.kill('SIGTERM');
      expect(await node.exitWithin(2000)).to.deep.equal({ code: 0, signal: null });
    });

    it('works through `npm start`, and SIGTERM to npm leaves no process behind', async () => {
      const t0 = Date.now();
      const npm = procs.add(new Proc('npm', ['start']));
      const join = await npm.until(() => npm.lines.find((l) => l.includes('--connect')), 3000, 'the join command');
      console.log(`      (npm start printed the join command after ${Date.now() - t0} ms)`);
      const port = Number(/--connect 127\.0\.0\.1:(\d+)/.exec(join)?.[1]);
      expect(npm.lines.join('\n')).to.match(/rx2p node [1-9A-HJ-NP-Za-km-z]{60,}/);
      expect(await accepts(port)).to.equal(true);
      npm.child.kill('SIGTERM');
      await npm.exitWithin(3000);
      // npm, sh, tsx and the node itself are all in the group: none may outlive npm.
      await eventually(() => npm.liveGroupMembers().length === 0, 3000, 'every process of the npm group to end');
      expect(await accepts(port)).to.equal(false);
    });
  });

  describe('two nodes with --json', () => {
    it('carries a line typed on one to the other, and both exit on SIGTERM within 2 s with status 0', async () => {
      const a = procs.add(Proc.rx2p('--json'));
      const listening = await a.record(isListening, 5000, 'a listening');
      expect(listening.host).to.equal('127.0.0.1');
      const port = listening.port as number;
      expect(port).to.be.within(1, 65535);

      const b = procs.add(Proc.rx2p('--json', '--connect', `127.0.0.1:${port}`));
      const bId = (await b.record(isListening, 5000, 'b listening')).id;
      await b.record((r) => r.type === 'peer-connected' && r.id === listening.id, 5000, 'b connected to a');
      await a.record((r) => r.type === 'peer-connected' && r.id === bId, 5000, 'a connected to b');

      b.child.stdin!.write('hello from b, ünïcode too\n');
      const got = await a.record((r) => r.type === 'message', 5000, 'the message at a');
      expect(got).to.include({ sender: bId, subflag: 'broadcast' });
      expect(got.packets).to.deep.equal(['hello from b, ünïcode too']);
      expect(got.id).to.be.a('string');
      expect(Math.abs((got.time as number) - Date.now() / 1000)).to.be.below(5);

      a.child.stdin!.write('and back from a\n');
      const back = await b.record((r) => r.type === 'message', 5000, 'the message at b');
      expect(back).to.include({ sender: listening.id });
      expect(back.packets).to.deep.equal(['and back from a']);

      // Every stdout line of a JSON node is one JSON object.
      for (const line of [...a.lines, ...b.lines]) expect(() => JSON.parse(line), line).not.to.throw();

      const t0 = Date.now();
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      const [ea, eb] = await Promise.all([a.exitWithin(2000), b.exitWithin(2000)]);
      console.log(`      (both exited ${Date.now() - t0} ms after SIGTERM)`);
      expect(ea).to.deep.equal({ code: 0, signal: null });
      expect(eb).to.deep.equal({ code: 0, signal: null });
      expect(a.records.at(-1)).to.deep.equal({ type: 'closed', reason: 'SIGTERM' });
    });

    it('sends --send once connected and flushes it before exiting at end of input', async () => {
      const a = procs.add(Proc.rx2p('--json'));
      const { port } = await a.record(isListening, 5000, 'a listening');
      const b = procs.add(Proc.rx2p('--json', '--connect', `127.0.0.1:${port}`, '--send', 'sent at once'));
      b.child.stdin!.end(); // end of input straight away: b must still deliver before closing
      expect(await b.exitWithin(5000)).to.deep.equal({ code: 0, signal: null });
      const got = await a.record((r) => r.type === 'message', 5000, 'the --send message at a');
      expect(got.packets).to.deep.equal(['sent at once']);
      a.child.stdin!.end();
      expect(await a.exitWithin(2000)).to.deep.equal({ code: 0, signal: null });
    });

    it('answers /peers and delivers /whisper to the one peer named by an id prefix', async () => {
      const a = procs.add(Proc.rx2p('--json'));
      const la = await a.record(isListening, 5000, 'a listening');
      const b = procs.add(Proc.rx2p('--json', '--connect', `127.0.0.1:${la.port}`));
      await b.record((r) => r.type === 'peer-connected', 5000, 'b connected');
      b.child.stdin!.write('/peers\n');
      const peers = await b.record((r) => r.type === 'peers', 5000, 'the /peers answer');
      expect(peers.peers).to.deep.equal([{ id: la.id, addr: ['127.0.0.1', la.port], outgoing: true }]);
      b.child.stdin!.write(`/whisper ${(la.id as string).slice(0, 8)} just for you\n`);
      const got = await a.record((r) => r.type === 'message', 5000, 'the whisper at a');
      expect(got).to.include({ subflag: 'whisper' });
      expect(got.packets).to.deep.equal(['just for you']);
      b.child.stdin!.write('/quit\n');
      expect(await b.exitWithin(2000)).to.deep.equal({ code: 0, signal: null });
    });

    it('refuses a peer on another subnet and says so', async () => {
      const a = procs.add(Proc.rx2p('--json', '--subnet', 'other'));
      const { port } = await a.record(isListening, 5000, 'a listening');
      const b = procs.add(Proc.rx2p('--json', '--connect', `127.0.0.1:${port}`));
      const err = await b.record((r) => r.type === 'error' && r.context === `cannot connect to 127.0.0.1:${port}`, 5000, 'the connect failure at b');
      expect(err.code).to.equal('ERR_PROTOCOL_MISMATCH');
    });
  });

  describe('arguments', () => {
    it('prints the usage with --help and exits 0', async () => {
      const p = procs.add(Proc.rx2p('--help'));
      expect(await p.exitWithin(5000)).to.deep.equal({ code: 0, signal: null });
      expect(p.lines[0]).to.equal('Usage: rx2p [options]');
    });

    it('exits 2 on an unknown option, with the reason on stderr', async () => {
      const p = procs.add(Proc.rx2p('--bogus'));
      expect(await p.exitWithin(5000)).to.deep.equal({ code: 2, signal: null });
      expect(p.stderr).to.include("Unknown option '--bogus'");
    });
  });
});
