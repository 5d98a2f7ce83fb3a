// npm run sim -- --curves 10,100,1000,10000: the scale table. Each run is a process of
// its own (its heap measured alone), with no churn, with 5 % churn, and with one
// partition that heals; the results go to sim/results.json, sim/results.svg and the
// table in sim/README.md.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimReport } from './sim.js';
import { svgCurves } from './chart.js';

const simDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(simDir, '..');

export interface Scenario {
  name: string;
  args: string[];
}

export const scenarios: Scenario[] = [
  { name: 'steady', args: [] },
  { name: 'churn 5 %', args: ['--churn', '0.05'] },
  { name: 'partition 30 % (reset), heals', args: ['--partition', '0.3@4000-12000:reset'] },
];

function runOne(n: number, seed: number, scenario: Scenario, file: string): Promise<SimReport> {
  const args = ['--expose-gc', '--max-old-space-size=6144', '--import', 'tsx', join(simDir, 'run.ts'),
    '--nodes', String(n), '--broadcasts', '10', '--seed', String(seed), ...scenario.args, '--json', file];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveRun(JSON.parse(readFileSync(file, 'utf8')) as SimReport) : reject(new Error(`N=${n} ${scenario.name}: exit ${code}`))));
  });
}

export interface CurveRow {
  scenario: string;
  report: SimReport;
}

export async function runCurves(ns: number[], seed: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rx2p-sim-'));
  const resultsPath = join(simDir, 'results.json');
  // Runs already in results.json for the same N, scenario and seed are kept (the 10,000 runs take minutes).
  const previous: CurveRow[] = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) as CurveRow[] : [];
  const rows: CurveRow[] = [];
  for (const n of ns) {
    for (const s of scenarios) {
      const kept = previous.find((r) => r.scenario === s.name && r.report.config.nodes === n && r.report.config.seed === seed);
      if (kept && process.env.SIM_RERUN === undefined) {
        rows.push(kept);
        continue;
      }
      console.error(`-- N=${n}, ${s.name}`);
      rows.push({ scenario: s.name, report: await runOne(n, seed, s, join(dir, `${n}-${rows.length}.json`)) });
      writeFileSync(resultsPath, JSON.stringify(mergeRows(previous, rows), null, 1) + '\n');
    }
  }
  const all = mergeRows(previous, rows);
  writeFileSync(resultsPath, JSON.stringify(all, null, 1) + '\n');
  writeFileSync(join(simDir, 'results.svg'), svgCurves(all));
  const readme = join(simDir, 'README.md');
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const a = text.indexOf(BEGIN);
    const b = text.indexOf(END);
    if (a >= 0 && b > a) writeFileSync(readme, text.slice(0, a + BEGIN.length) + '\n' + markdown(all) + '\n' + text.slice(b));
  }
  console.log(markdown(all));
}

function mergeRows(previous: CurveRow[], fresh: CurveRow[]): CurveRow[] {
  const key = (r: CurveRow) => `${r.scenario}|${r.report.config.nodes}|${r.report.config.seed}`;
  const map = new Map(previous.map((r) => [key(r), r]));
  for (const r of fresh) map.set(key(r), r);
  return [...map.values()].sort((x, y) => x.report.config.nodes - y.report.config.nodes || scenarioOrder(x) - scenarioOrder(y));
}

const scenarioOrder = (r: CurveRow) => scenarios.findIndex((s) => s.name === r.scenario);

const BEGIN = '<!-- sim:begin -->';
const END = '<!-- sim:end -->';

export function markdown(rows: CurveRow[]): string {
  const out = [
    '| N | scenario | delivery (exactly once, sender\'s component) | of all up | duplicates | frames / broadcast (median) | frames / node | bytes / broadcast | hops (max) | delivery p50 / p99 ms | full delivery p50 / p99 ms | connections min / median / max | connected (start / end) | heap / node | wall |',
    '|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|',
  ];
  for (const { scenario, report: r } of rows) {
    const x = r.result;
    const m = r.measured;
    const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
    out.push(`| ${r.config.nodes.toLocaleString('en-US')} | ${scenario} | ${pct(x.deliveryRatio)} | ${pct(x.deliveryRatioAllUp)} | ${x.duplicatesDelivered} | ${x.framesPerBroadcast.median.toLocaleString('en-US')} | ${x.framesPerNode.toFixed(2)} | ${Math.round(x.bytesPerBroadcast.median).toLocaleString('en-US')} | ${x.hopsToFarthest.max} | ${x.deliveryMs.p50} / ${x.deliveryMs.p99} | ${x.fullDeliveryMs.p50} / ${x.fullDeliveryMs.p99} | ${x.connectionsPerNode.min} / ${x.connectionsPerNode.median} / ${x.connectionsPerNode.max} | ${x.connected ? 'yes' : 'NO'} / ${x.connectedAtEnd ? 'yes' : 'NO'} | ${(m.heapPerNodeBytes / 1024).toFixed(0)} KiB | ${(m.wallMs / 1000).toFixed(1)} s |`);
  }
  return out.join('\n');
}
