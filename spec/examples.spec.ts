// Every example runs as the README says (`npx tsx examples/X.ts`), ends by itself with
// status 0, and prints what it promises; the README shows examples/quickstart.ts whole and
// its output as it is.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultOptions } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function runExample(file: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    // tsx through node itself (what `npx tsx` runs), killed if it outlives 15 s.
    execFile(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 15_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

describe('examples', function () {
  this.timeout(20_000);

  it('quickstart.ts (shown whole in the README) prints what the README shows and exits 0 on its own', async () => {
    const r = await runExample('examples/quickstart.ts');
    expect(r.code, r.stderr).to.equal(0);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const shown = /It prints:\n\n```console\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(shown, 'the output block after "It prints:"').to.be.a('string');
    const port = /alice listens on port (\d+)/.exec(r.stdout)?.[1];
    expect(r.stdout.replace(`port ${port}`, 'port PORT')).to.equal(shown!.replace(/port \d+/, 'port PORT'));
    console.log(`      (ran in ${r.ms} ms)`);
  });

  it('rxjs-filter.ts keeps the two hot readings out of four broadcasts and exits 0 on its own', async () => {
    const r = await runExample('examples/rxjs-filter.ts');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('rxjs-filter: display got 21.5 °C from the sensor');
    expect(r.stdout).to.include('rxjs-filter: display got 23 °C from the sensor');
    expect(r.stdout).not.to.include('18.5');
    expect(r.stdout.trim().split('\n').at(-1)).to.equal('rxjs-filter: done, 2 hot readings');
    console.log(`      (ran in ${r.ms} ms)`);
  });

  it('authenticated.ts proves ids and senders, refuses an outsider, and exits 0 on its own', async () => {
    const r = await runExample('examples/authenticated.ts');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include("authenticated: a's id is the hash of its key: true");
    expect(r.stdout).to.include('authenticated: a got "signed by bob" from bob: true, verified: true');
    expect(r.stdout).to.include('authenticated: the outsider was refused: ERR_AUTH_REFUSED');
    expect(r.stdout.trim().split('\n').at(-1)).to.equal('authenticated: done');
    console.log(`      (ran in ${r.ms} ms)`);
  });

  it('recv.ts receives with await recv(), replies, batches, and exits 0 on its own', async () => {
    const r = await runExample('examples/recv.ts');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('recv: server got "what time is it?" (ping)');
    expect(r.stdout).to.match(/recv: client got reply \[whisper\] pong \d{4}-\d\d-\d\dT/);
    expect(r.stdout).to.include('recv: server got a batch of 3: reading 1, reading 2, reading 3');
    expect(r.stdout.trim().split('\n').at(-1)).to.equal('recv: done');
    console.log(`      (ran in ${r.ms} ms)`);
  });
});

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('shows examples/quickstart.ts whole, as the file is', () => {
    const file = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');
    expect(readme).to.include('```ts\n' + file + '```');
  });

  it('names the examples this spec runs', () => {
    for (const f of ['examples/quickstart.ts', 'examples/rxjs-filter.ts', 'examples/recv.ts', 'examples/authenticated.ts']) {
      expect(readme).to.include(`npx tsx ${f}`);
      expect(existsSync(new URL(`../${f}`, import.meta.url)), f).to.equal(true);
    }
  });

  it('is at most 15 KB', () => {
    expect(Buffer.byteLength(readme)).to.be.at.most(15 * 1024);
  });
});

describe('docs/options.md and bench/README.md', () => {
  it('docs/options.md has a row for every option with a default', () => {
    const page = readFileSync(new URL('../docs/options.md', import.meta.url), 'utf8');
    const missing = Object.keys(defaultOptions).filter((k) => !page.includes(`| \`${k}\``));
    expect(missing).to.deep.equal([]);
  });

  it('bench/README.md keeps the benchmark markers that `npm run bench -- --readme` fills', () => {
    const bench = readFileSync(new URL('../bench/README.md', import.meta.url), 'utf8');
    expect(bench).to.match(/<!-- bench:begin -->[\s\S]*<!-- bench:end -->/);
  });
});
