// The documentation cannot drift from the code: docs/options.md's table is what
// scripts/options-doc.ts makes of src/options.ts now; every exported symbol (and every
// member of an exported class or interface) has a doc comment for the API reference; every
// command and code block of the README is one some spec runs; every relative link of the
// README and docs/ leads to a file; and no file of the repository names a path of one
// machine (a home directory, this checkout's own location).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderOptionsPage } from '../scripts/options-doc.js';
import { extractDocModel, undocumented } from '../scripts/api-docs.js';
import { CodecScratch, Protocol } from '../src/index.js';
import { READ_BUDGET_BYTES, READ_BUDGET_MS, READ_SLICE_BYTES } from '../src/transport/byte-source.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (f: string) => readFileSync(join(root, f), 'utf8');

/**
 * Every command line the README shows, with the spec that runs it. A new command in the
 * README fails this spec until it is added here and run there.
 */
const README_COMMANDS: Record<string, string> = {
  'npm ci && npm pack': 'spec/package.spec.ts',
  'npm install ../rx2p/rx2p-0.2.0.tgz': 'spec/package.spec.ts',
  'npm ci && npm start': 'spec/cli/cli.spec.ts',
  'npm start -- --connect 127.0.0.1:PORT': 'spec/cli/first-contact.spec.ts',
  'npx tsx examples/quickstart.ts': 'spec/examples.spec.ts',
  'npx tsx examples/rxjs-filter.ts': 'spec/examples.spec.ts',
  'npx tsx examples/recv.ts': 'spec/examples.spec.ts',
  'npx tsx examples/authenticated.ts': 'spec/examples.spec.ts',
  'npm test': '.ci/run',
  'npm run docs': 'spec/docs.spec.ts',
};
/** What in that spec shows it runs the command (the same steps, not the literal text). */
const RUN_BY: Record<string, RegExp> = {
  'npm ci && npm pack': /run\(npm, \['pack'/,
  'npm install ../rx2p/rx2p-0.2.0.tgz': /run\(npm, \['install',[^\]]*tarball\]/,
  'npm ci && npm start': /new Proc\('npm', \['start'\]\)/,
  'npm start -- --connect 127.0.0.1:PORT': /new Proc\('npm', \['start', '--', '--connect'/,
  'npx tsx examples/quickstart.ts': /runExample\('examples\/quickstart\.ts'\)/,
  'npx tsx examples/rxjs-filter.ts': /runExample\('examples\/rxjs-filter\.ts'\)/,
  'npx tsx examples/recv.ts': /runExample\('examples\/recv\.ts'\)/,
  'npx tsx examples/authenticated.ts': /runExample\('examples\/authenticated\.ts'\)/,
  'npm test': /^npm test$/m,
  'npm run docs': /renderOptionsPage\(|extractDocModel\(\)/,
};

/** Fenced code blocks of a markdown text: language and body. */
function codeBlocks(md: string): Array<{ lang: string; body: string }> {
  return [...md.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

describe('documentation', function () {
  this.timeout(120_000);

  it('docs/options.md lists every option of src/options.ts with its doc comment and default (npm run docs)', () => {
    const page = read('docs/options.md');
    expect(renderOptionsPage(page) === page, 'docs/options.md is stale: run npm run docs').to.equal(true);
  });

  it('documents every exported symbol and member: the API reference coverage is 100 %', () => {
    const { missing, checked } = undocumented(extractDocModel());
    console.log(`      (${checked - missing.length} of ${checked} exported items documented)`);
    expect(missing).to.deep.equal([]);
  });

  it('runs every command and code block of the README in some spec', () => {
    const readme = read('README.md');
    for (const { lang, body } of codeBlocks(readme)) {
      if (lang === 'ts') {
        // The whole quick start file: spec/examples.spec.ts checks it is examples/quickstart.ts, and runs it.
        expect(body).to.equal(read('examples/quickstart.ts'));
        continue;
      }
      if (lang === 'console') {
        expect(readme.indexOf(body)).to.be.above(readme.indexOf('It prints:')); // checked against the run by spec/examples.spec.ts
        continue;
      }
      expect(lang, body).to.equal('sh');
      for (const line of body.split('\n').filter((l) => l.trim() !== '')) {
        const command = line.replace(/\s+#.*$/, '').trim();
        const spec = README_COMMANDS[command];
        expect(spec, `README command not run by any spec: ${command}`).to.be.a('string');
        expect(read(spec!), `${spec} runs ${command}`).to.match(RUN_BY[command]!);
      }
    }
  });

  it('links only to files that exist (the README, docs/, bench/README.md)', () => {
    // Written on other branches at the same time; present once they are merged.
    const elsewhere = new Set(['docs/security.md', 'docs/web.md', 'docs/backpressure.md', 'docs/persistence.md', 'docs/py2p-interop.md']);
    const pages = ['README.md', 'bench/README.md', ...['command', 'options', 'hardening', 'authenticated-protocol', 'repair', 'py2p', 'browsers', 'architecture'].map((n) => `docs/${n}.md`)];
    const broken: string[] = [];
    for (const page of pages) {
      for (const m of read(page).matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const file = join(dirname(page), target);
        if (!existsSync(join(root, file)) && !elsewhere.has(file)) broken.push(`${page} → ${target}`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('walks one broadcast through files that exist and names what each of them defines (docs/architecture.md)', () => {
    const page = read('docs/architecture.md');
    const walk = page.slice(page.indexOf('## One broadcast, file by file'), page.indexOf('## Development'));
    const steps = walk.split(/\n(?=\d+\. )/).filter((step) => /^\d+\. /.test(step));
    expect(steps.length).to.be.at.least(10);
    const missing: string[] = [];
    let dir = 'src';
    for (const step of steps) {
      // Files are named in bold (**`src/…/x.ts`**, or `x.ts` in the directory named last).
      const files: string[] = [];
      for (const m of step.matchAll(/\*\*`([\w/.-]+\.ts)`\*\*/g)) {
        const file = m[1]!.startsWith('src/') ? m[1]! : `${dir}/${m[1]}`;
        dir = dirname(file);
        if (existsSync(join(root, file))) files.push(file);
        else missing.push(file);
      }
      // Every function, class or method named in code after them is defined in one of them.
      const sources = files.map(read).join('\n');
      for (const m of step.matchAll(/`([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)(?:\([^`]*\))?`/g)) {
        const name = m[1]!.split('.').at(-1)!;
        if (!/^[a-z]+[A-Z]|^[A-Z][a-z]+[A-Z]/.test(name)) continue; // camelCase or PascalCase names only
        if (!new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`).test(sources)) missing.push(`${name} (step ${step.slice(0, step.indexOf('.'))})`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it('gives the read budget and slice as src/transport/byte-source.ts sets them (docs/backpressure.md, docs/hardening.md, docs/architecture.md)', () => {
    const back = readFileSync(join(root, 'docs/backpressure.md'), 'utf8');
    expect(back).to.include(`\`READ_BUDGET_MS\` (${READ_BUDGET_MS} ms)`);
    expect(back).to.include(`\`READ_BUDGET_BYTES\` (${READ_BUDGET_BYTES / (1024 * 1024)} MiB)`);
    expect(back).to.include(`\`READ_SLICE_BYTES\` (${READ_SLICE_BYTES / 1024} KiB)`);
    expect(readFileSync(join(root, 'docs/hardening.md'), 'utf8').replace(/\s+/g, ' ')).to.include(`plus the ${READ_SLICE_BYTES / 1024} KiB slice that crossed it`);
    expect(readFileSync(join(root, 'docs/hardening.md'), 'utf8').replace(/\s+/g, ' ')).to.include(`at most ${READ_BUDGET_MS} ms of handling (and ${READ_BUDGET_BYTES / (1024 * 1024)} MiB) per turn`);
    expect(readFileSync(join(root, 'docs/architecture.md'), 'utf8').replace(/\s+/g, ' ')).to.include('`READ_BUDGET_MS` of handling (and `READ_BUDGET_BYTES`) per turn');
    // What the docs say the scratch is: each Protocol's, made on first use.
    expect(readFileSync(join(root, 'docs/architecture.md'), 'utf8')).to.include('`protocol.scratch`');
    const p = new Protocol('docs', 'Plaintext');
    expect(p.scratch).to.be.instanceOf(CodecScratch);
  });

  it('names no absolute path of a machine in any file of the repository', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
    const here = root.replace(/\/$/, '');
    const patterns = [
      /(?<![\w.~-])\/(?:home|Users|root)\/[\w.-]+/,
      /(?<![\w.~-])\/work\/[\w.-]+/,
      /[A-Z]:\\Users\\/,
    ];
    const found: string[] = [];
    for (const f of files) {
      if (/\.(png|svg|msgpack|tgz)$/.test(f) || f === 'package-lock.json') continue;
      const text = readFileSync(join(root, f), 'utf8');
      if (text.includes(here) || text.includes(homedir() + '/')) found.push(`${f}: ${text.includes(here) ? here : homedir()}`);
      for (const p of patterns) {
        const m = p.exec(text);
        if (m) found.push(`${f}: ${m[0]}`);
      }
    }
    expect(found).to.deep.equal([]);
  });
});
