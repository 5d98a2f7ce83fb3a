// npm run sim -- --curves 10,100,1000,10000: the scale table. Each run is a process of
// its own (its heap measured alone), with no churn, with 5 % churn, and with one
// partition that heals, each with repair on and off; the results go to
// sim/results.json, sim/results.svg and the table in sim/README.md.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
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

export const repairModes = [true, false];

function runOne(n: number, seed: number, scenario: Scenario, repair: boolean, file: string): Promise<SimReport> {
  const args = ['--expose-gc', '--max-old-space-size=6144', '--import', 'tsx', join(simDir, 'run.ts'),
    '--nodes', String(n), '--broadcasts', '10', '--seed', String(seed), '--repair', repair ? 'on' : 'off', ...scenario.args, '--json', file];
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

/** SIM_WAIT_FOR=FILE: before each run of 1,000 nodes or more, wait while FILE exists (a benchmark holding the CPU). */
async function waitForCpu(n: number): Promise<void> {
  const lock = process.env.SIM_WAIT_FOR;
  if (lock === undefined || n < 1_000) return;
  while (existsSync(lock)) {
    console.error(`-- waiting: ${lock} exists`);
    await sleep(20_000);
  }
}

const repairOf = (r: CurveRow) => r.report.result.repair;

export async function runCurves(ns: number[], seed: number, only?: { repair?: boolean; scenarios?: string[] }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rx2p-sim-'));
  const resultsPath = join(simDir, 'results.json');
  // Runs already in results.json for the same N, scenario, repair mode and seed are kept (the
  // 10,000 runs take minutes); rows from before repair (no repairTraffic) are dropped.
  const previous: CurveRow[] = (existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) as CurveRow[] : [])
    .filter((r) => r.report.result.repairTraffic !== undefined);
  const rows: CurveRow[] = [];
  for (const n of ns) {
    for (const s of scenarios) {
      if (only?.scenarios && !only.scenarios.some((w) => s.name.startsWith(w))) continue;
      for (const repair of repairModes) {
        if (only?.repair !== undefined && only.repair !== repair) continue;
        const kept = previous.find((r) => r.scenario === s.name && repairOf(r) === repair && r.report.config.nodes === n && r.report.config.seed === seed);
        if (kept && process.env.SIM_RERUN === undefined) {
          rows.push(kept);
          continue;
        }
        await waitForCpu(n);
        console.error(`-- N=${n}, ${s.name}, repair ${repair ? 'on' : 'off'}`);
        rows.push({ scenario: s.name, report: await runOne(n, seed, s, repair, join(dir, `${n}-${rows.length}.json`)) });
        writeFileSync(resultsPath, JSON.stringify(mergeRows(previous, rows), null, 1) + '\n');
      }
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
  const key = (r: CurveRow) => `${r.scenario}|${repairOf(r)}|${r.report.config.nodes}|${r.report.config.seed}`;
  const map = new Map(previous.map((r) => [key(r), r]));
  for (const r of fresh) map.set(key(r), r);
  return [...map.values()].sort((x, y) => x.report.config.nodes - y.report.config.nodes || scenarioOrder(x) - scenarioOrder(y) || Number(repairOf(y)) - Number(repairOf(x)));
}

const scenarioOrder = (r: CurveRow) => scenarios.findIndex((s) => s.name === r.scenario);

const BEGIN = '<!-- sim:begin -->';
const END = '<!-- sim:end -->';

/**
 * One row per N and scenario, repair on / off side by side where they differ. Delivery
 * "up for the window": exactly once to every node up from the message's send to the end
 * of the run (tailMs after the last broadcast, heal or rejoin), whatever its component.
 */
export function markdown(rows: CurveRow[]): string {
  const out = [
    '| N | scenario | delivery, up for the window: repair on / off | lost (node-messages), off | delivery to the sender\'s component, on / off | duplicates | repaired | repair traffic B / node / s (at idle) | frames / broadcast (median), on / off | frames / node | bytes / broadcast | hops (max) | full delivery p50 / p99 ms | connections min / median / max | connected (start / end) | heap / node, on / off | peak RSS, on / off | wall, on / off |',
    '|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|',
  ];
  const pct = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(2)} %`);
  const int = (v: number | undefined) => (v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
  const pair = (a: string, b: string) => `${a} / ${b}`;
  const seen = new Set<string>();
  for (const row of rows) {
    const k = `${row.report.config.nodes}|${row.scenario}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const same = rows.filter((r) => `${r.report.config.nodes}|${r.scenario}` === k);
    const on = same.find((r) => repairOf(r))?.report;
    const off = same.find((r) => !repairOf(r))?.report;
    const r = (on ?? off)!;
    const x = r.result;
    const mb = (v: SimReport | undefined) => (v ? `${(v.measured.peakRssMB / 1024 >= 1 ? `${(v.measured.peakRssMB / 1024).toFixed(1)} GB` : `${Math.round(v.measured.peakRssMB)} MB`)}` : '–');
    const kib = (v: SimReport | undefined) => (v ? `${(v.measured.heapPerNodeBytes / 1024).toFixed(0)} KiB` : '–');
    const wall = (v: SimReport | undefined) => (v ? `${(v.measured.wallMs / 1000).toFixed(1)} s` : '–');
    const dupes = (on?.result.duplicatesDelivered ?? 0) + (off?.result.duplicatesDelivered ?? 0);
    const repairCell = on ? `${int(on.result.repairTraffic.bytesPerNodePerSecond)} (${int(on.result.repairIdleBytesPerNodePerSecond)})` : '–';
    out.push(`| ${r.config.nodes.toLocaleString('en-US')} | ${row.scenario} | ${pair(pct(on?.result.deliveryRatioUpForWindow), pct(off?.result.deliveryRatioUpForWindow))} | ${int(off?.result.lostUpForWindow)} | ${pair(pct(on?.result.deliveryRatio), pct(off?.result.deliveryRatio))} | ${dupes} | ${int(on?.result.repaired)} | ${repairCell} | ${pair(int(on?.result.framesPerBroadcast.median), int(off?.result.framesPerBroadcast.median))} | ${x.framesPerNode.toFixed(2)} | ${int(x.bytesPerBroadcast.median)} | ${x.hopsToFarthest.max} | ${x.fullDeliveryMs.p50} / ${x.fullDeliveryMs.p99} | ${x.connectionsPerNode.min} / ${x.connectionsPerNode.median} / ${x.connectionsPerNode.max} | ${x.connected ? 'yes' : 'NO'} / ${x.connectedAtEnd ? 'yes' : 'NO'} | ${pair(kib(on), kib(off))} | ${pair(mb(on), mb(off))} | ${pair(wall(on), wall(off))} |`);
  }
  return out.join('\n');
}
