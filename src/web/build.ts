// Builds the browser bundle (dist-web/rx2p.js: the library, one ESM file, no Node
// built-ins) and the web page's script (dist-web/app.js), with esbuild.
//   npm run build:web        (or: tsx src/web/build.ts OUTDIR)
// Node built-ins are mapped to small shims (src/web/shims): node:crypto's hashes to
// @noble/hashes, the rest to stubs the browser build never reaches; `Buffer` is the
// userland `buffer` package, injected only here. Node builds keep node:crypto.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

// From src/web (tsx) or dist/web (compiled) alike, the sources are the package's src/web.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const here = join(root, 'src', 'web');
export const defaultOutDir = join(root, 'dist-web');

const nodeShims: Plugin = {
  name: 'rx2p-node-shims',
  setup(build) {
    build.onResolve({ filter: /^node:|^(crypto|net|tls|fs|os|module|util|http|stream)$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      const file = name === 'crypto' ? 'crypto.ts' : 'node-stub.ts';
      return { path: join(here, 'shims', file) };
    });
    // Only the Node MeshSocket uses `ws`; refuse it if something pulls it in by mistake.
    build.onResolve({ filter: /^ws$/ }, () => ({ errors: [{ text: 'the browser bundle must not import ws' }] }));
  },
};

export interface WebBuild {
  outDir: string;
  bytes: { library: number; app: number };
  ms: number;
}

/** Builds both files into outDir (default dist-web/); the page's static files are copied beside them. */
export async function buildWeb(outDir = defaultOutDir, minify = true): Promise<WebBuild> {
  const { build } = await import('esbuild');
  const started = Date.now();
  mkdirSync(outDir, { recursive: true });
  const common = {
    bundle: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    target: 'es2022',
    minify,
    sourcemap: false,
    legalComments: 'none' as const,
    metafile: true,
    plugins: [nodeShims],
    inject: [join(here, 'shims', 'buffer-global.ts')],
    define: { 'process.nextTick': 'queueMicrotask' },
    logLevel: 'error' as const,
  };
  const library = await build({ ...common, entryPoints: [join(here, 'browser.ts')], outfile: join(outDir, 'rx2p.js') });
  // The page's script imports the library as ./rx2p.js (one copy, cached by the browser).
  const app = await build({
    ...common,
    entryPoints: [join(here, 'page', 'app.ts')],
    outfile: join(outDir, 'app.js'),
    inject: [], // the page names no Buffer itself: the library's is enough
    plugins: [nodeShims, { name: 'rx2p-external', setup: (b) => b.onResolve({ filter: /\/browser\.js$/ }, () => ({ path: './rx2p.js', external: true })) }],
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(here, 'page', f), join(outDir, f));
  const size = (meta: typeof library.metafile) => Object.values(meta!.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outDir, bytes: { library: size(library.metafile), app: size(app.metafile) }, ms: Date.now() - started };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await buildWeb(process.argv[2] ? resolve(process.argv[2]) : defaultOutDir);
  console.log(`built ${result.outDir}: rx2p.js ${result.bytes.library} bytes, app.js ${result.bytes.app} bytes, ${result.ms} ms`);
}
