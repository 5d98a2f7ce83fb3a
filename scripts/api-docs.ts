// The API reference: the declarations tsc emits for src/ (tmp/api-dts), read by API
// Extractor (which bundles its own TypeScript, so TypeScript 7 here is no obstacle) into
// a doc model (tmp/api/rx2p.api.json), rendered as markdown into docs/api/ by API Documenter.
//   npm run docs                      options table, doc model, docs/api/
//   npx tsx scripts/api-docs.ts --check   doc model only; lists undocumented exports, exit 1 if any
// spec/docs.spec.ts runs the check in `npm test`: every exported symbol and every member
// of an exported class or interface carries a doc comment.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const bin = (pkg: string, name: string) => join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', name);

/** Items of these kinds need a doc comment; constructors' signatures are documented by their class. */
const DOCUMENTED_KINDS = new Set([
  'Class', 'Interface', 'Function', 'Variable', 'TypeAlias', 'Enum', 'EnumMember', 'Namespace',
  'Property', 'PropertySignature', 'Method', 'MethodSignature',
]);

interface ApiJsonItem {
  kind: string;
  name?: string;
  docComment?: string;
  members?: ApiJsonItem[];
}

/** Emits the declarations and runs API Extractor; returns the doc model's path. */
export function extractDocModel(): string {
  rmSync(join(root, 'tmp', 'api-dts'), { recursive: true, force: true });
  execFileSync(process.execPath, [bin('typescript', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', 'tmp/api-dts', '--emitDeclarationOnly', '--sourceMap', 'false', '--declarationMap', 'false'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [bin('@microsoft/api-extractor', 'api-extractor'), 'run', '--local'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return join(root, 'tmp', 'api', 'rx2p.api.json');
}

/** The exported items (and members of exported items) without a doc comment, as `Parent.name (Kind)`, and how many were checked. */
export function undocumented(modelPath: string): { missing: string[]; checked: number } {
  const model = JSON.parse(readFileSync(modelPath, 'utf8')) as ApiJsonItem;
  const missing: string[] = [];
  let checked = 0;
  const walk = (item: ApiJsonItem, path: string[]) => {
    if (path.length >= 1 && DOCUMENTED_KINDS.has(item.kind)) {
      checked++;
      // A comment of tags alone (`@deprecated`) is not documentation: some text is needed.
      const text = (item.docComment ?? '').replace(/\/\*\*|\*\/|^\s*\*/gm, '').replace(/@\w+/g, '').trim();
      if (text === '') missing.push(`${path.join('.')} (${item.kind})`);
    }
    for (const m of item.members ?? []) walk(m, m.kind === 'EntryPoint' || m.kind === 'Package' ? [] : [...path, m.name ?? '?']);
  };
  for (const m of model.members ?? []) walk(m, []);
  return { missing, checked };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const model = extractDocModel();
  const { missing, checked } = undocumented(model);
  console.log(`API reference: ${checked - missing.length} of ${checked} exported items documented (${((100 * (checked - missing.length)) / checked).toFixed(1)} %)`);
  for (const m of missing) console.log(`  undocumented: ${m}`);
  if (process.argv.includes('--check')) {
    process.exitCode = missing.length ? 1 : 0;
  } else {
    rmSync(join(root, 'docs', 'api'), { recursive: true, force: true });
    execFileSync(process.execPath, [bin('@microsoft/api-documenter', 'api-documenter'), 'markdown', '-i', 'tmp/api', '-o', 'docs/api'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    console.log('wrote docs/api/');
  }
}
