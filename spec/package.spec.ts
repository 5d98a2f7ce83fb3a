// The package as a user gets it: `npm pack` (prepack builds dist/ and dist-web/), the
// tarball installed into a new project outside the repository, the examples type-checked
// there under `strict` against the shipped .d.ts, one compiled and run with plain node (no
// tsx), `require('rx2p')` refused with a message that says how to import, `npx rx2p --help`,
// and `rx2p --web` serving the shipped page without writing into the installed package
// even where esbuild resolves (the consumer gets the checkout's esbuild linked in).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Proc, Procs, repoRoot } from './cli/proc.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

/** name → sha256 and mtime of every file under dir. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isFile()) out.set(name, `${createHash('sha256').update(readFileSync(path)).digest('hex')} ${st.mtimeMs}`);
  }
  return out;
}

describe('the packed package in a consumer project', function () {
  this.timeout(180_000);
  let work: string;
  let project: string;
  const procs = new Procs();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'rx2p-pack-'));
    project = join(work, 'consumer');
    const packed = await run(npm, ['pack', '--pack-destination', work], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    const tarball = join(work, packed.stdout.trim().split('\n').at(-1)!);
    expect(existsSync(tarball), tarball).to.equal(true);
    await run('mkdir', [project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // From npm's cache where it can; the registry for what the cache lacks.
    await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
  });

  afterEach(() => procs.killAll());
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships dist, dist-web, the typings, LICENSE, CHANGELOG.md and README.md, and no specs', () => {
    const pkg = join(project, 'node_modules', 'rx2p');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist-web/rx2p.js', 'dist-web/index.html', 'LICENSE', 'CHANGELOG.md', 'README.md', 'require.cjs']) {
      expect(existsSync(join(pkg, f)), f).to.equal(true);
    }
    expect(existsSync(join(pkg, 'spec'))).to.equal(false);
  });

  it('type-checks every example under strict against the shipped declarations, and runs the quick start with node', async () => {
    for (const f of readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.ts'))) copyFileSync(join(repoRoot, 'examples', f), join(project, f));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', skipLibCheck: false,
        // @types/node from the checkout (a consumer installs its own).
        types: ['node'], typeRoots: [join(repoRoot, 'node_modules', '@types')],
      },
      include: ['*.ts'],
    }));
    // One strict pass that also emits (what `tsc --noEmit` checks, plus out/ to run with node).
    await run(process.execPath, [tsc, '-p', '.'], { cwd: project });
    const { stdout } = await run(process.execPath, ['out/quickstart.js'], { cwd: project, timeout: 30_000 });
    expect(stdout).to.include('quickstart: alice got "hello mesh" from bob');
    expect(stdout.trim().split('\n').at(-1)).to.equal('quickstart: done');
  });

  it("require('rx2p') says it is ESM-only and how to import it", async () => {
    writeFileSync(join(project, 'try-require.cjs'), "try { require('rx2p'); console.log('loaded'); } catch (err) { console.log(err.message); }\n");
    const { stdout } = await run(process.execPath, ['try-require.cjs'], { cwd: project });
    expect(stdout).to.include('rx2p is ESM-only');
    expect(stdout).to.include("import { MeshSocket } from 'rx2p'");
    expect(stdout).to.include("await import('rx2p')");
  });

  it('npx rx2p --help prints the usage', async () => {
    const { stdout } = await run(npm, ['exec', '--offline', '--', 'rx2p', '--help'], { cwd: project });
    expect(stdout).to.include('--connect');
  });

  it('rx2p --web serves the shipped page and writes nothing into the installed package, even with esbuild resolvable', async () => {
    const pkg = join(project, 'node_modules', 'rx2p');
    symlinkSync(join(repoRoot, 'node_modules', 'esbuild'), join(project, 'node_modules', 'esbuild'), 'dir');
    const before = snapshot(join(pkg, 'dist-web'));
    const node = procs.add(new Proc(process.execPath, [join(pkg, 'dist', 'cli', 'main.js'), '--json', '--no-stdin', '--web'], project));
    const listening = await node.record((r) => r.type === 'listening', 20_000, 'listening');
    const page = await fetch(listening.web as string);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.include('<html');
    node.child.kill('SIGTERM');
    expect(await node.exitWithin(5000)).to.deep.equal({ code: 0, signal: null });
    expect(snapshot(join(pkg, 'dist-web'))).to.deep.equal(before);
  });
});
