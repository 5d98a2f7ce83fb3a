// The scale chart: four panels against N (log scale), drawn as SVG with no dependency,
// in the style of bench/results.svg: frames per broadcast, heap per node, delivery to the
// nodes up for the whole window, repair's traffic. One colour per scenario; a solid line
// with repair on, dashed with it off.
import type { CurveRow } from './curves.js';

const COLORS = ['#2f6fb3', '#d9822b', '#3a9a5b', '#a8a8a8'];

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Panel {
  title: string;
  unit: string;
  log: boolean;
  value: (r: CurveRow) => number;
}

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
    return out;
  }
  // About five steps of a round size, the last at or above max.
  const step = 10 ** Math.floor(Math.log10(max / 4 || 1));
  const n = Math.ceil(max / step / 5) * step;
  const out = [0];
  while (out[out.length - 1]! < max) out.push(out.length * n);
  return out;
}

const fmt = (v: number) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(Math.round(v * 100) / 100));

export function svgCurves(rows: CurveRow[]): string {
  const panels: Panel[] = [
    { title: 'Frames per broadcast (median)', unit: 'frames', log: true, value: (r) => r.report.result.framesPerBroadcast.median },
    { title: 'Heap per node (after GC)', unit: 'KiB', log: false, value: (r) => r.report.measured.heapPerNodeBytes / 1024 },
    { title: 'Delivered, nodes up for the window', unit: '%', log: false, value: (r) => r.report.result.deliveryRatioUpForWindow * 100 },
    { title: 'Repair traffic per node', unit: 'bytes/s', log: false, value: (r) => r.report.result.repairTraffic.bytesPerNodePerSecond },
  ];
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const ns = [...new Set(rows.map((r) => r.report.config.nodes))].sort((a, b) => a - b);
  const W = 1000;
  const pw = 180;
  const ph = 220;
  const top = 92;
  const H = top + ph + 70;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="16" y="26" font-size="17" font-weight="bold">rx2p mesh simulation: what grows with N</text>`);
  parts.push(`<text x="16" y="46" fill="#555">${xml(`Real MeshSockets over the in-memory transport, virtual time; maxOutgoing 4; N = ${ns.join(', ')} (log scale)`)}</text>`);
  scenarios.forEach((s, i) => {
    const x = 16 + i * 230;
    parts.push(`<rect x="${x}" y="58" width="12" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 16}" y="67">${xml(s)}</text>`);
  });
  parts.push(`<line x1="706" x2="730" y1="63" y2="63" stroke="#333" stroke-width="2"/><text x="734" y="67">repair on</text>`);
  parts.push(`<line x1="816" x2="840" y1="63" y2="63" stroke="#333" stroke-width="2" stroke-dasharray="5,3"/><text x="844" y="67">repair off</text>`);
  panels.forEach((p, k) => {
    const x0 = 60 + k * (pw + 62);
    const y0 = top;
    const values = rows.map(p.value).filter((v) => Number.isFinite(v) && (!p.log || v > 0));
    const vmin = p.log ? Math.min(...values) : 0;
    const vmax = Math.max(...values, 1);
    const ticks = niceTicks(vmin, vmax, p.log);
    const lo = p.log ? ticks[0]! : 0;
    const hi = ticks[ticks.length - 1]!;
    const ys = (v: number) => (p.log ? y0 + ph - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * ph : y0 + ph - (v / (hi || 1)) * ph);
    const nlo = Math.log10(ns[0]!);
    const nhi = Math.log10(ns[ns.length - 1]!);
    const xs = (n: number) => x0 + ((Math.log10(n) - nlo) / (nhi - nlo || 1)) * pw;
    parts.push(`<text x="${x0}" y="${y0 - 10}" font-weight="bold">${xml(p.title)}</text>`);
    parts.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);
    for (const t of ticks) {
      const y = ys(t);
      parts.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
      parts.push(`<text x="${x0 - 4}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
    }
    for (const n of ns) parts.push(`<text x="${xs(n).toFixed(1)}" y="${y0 + ph + 16}" text-anchor="middle" fill="#555">${fmt(n)}</text>`);
    parts.push(`<text x="${x0 + pw / 2}" y="${y0 + ph + 34}" text-anchor="middle" fill="#555">nodes (N), ${xml(p.unit)} up</text>`);
    scenarios.forEach((s, i) => {
      for (const repair of [true, false]) {
        const pts = rows.filter((r) => r.scenario === s && r.report.result.repair === repair).map((r) => [r.report.config.nodes, p.value(r)] as const).filter(([, v]) => Number.isFinite(v) && (!p.log || v > 0)).sort((a, b) => a[0] - b[0]);
        if (!pts.length) continue;
        const color = COLORS[i % COLORS.length];
        const dash = repair ? '' : ' stroke-dasharray="5,3"';
        parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map(([n, v]) => `${xs(n).toFixed(1)},${ys(v).toFixed(1)}`).join(' ')}"/>`);
        for (const [n, v] of pts) parts.push(`<circle cx="${xs(n).toFixed(1)}" cy="${ys(v).toFixed(1)}" r="3" fill="${repair ? color : '#ffffff'}" stroke="${color}"/>`);
      }
    });
  });
  parts.push(`<text x="16" y="${H - 12}" fill="#777">${xml('Frames per broadcast grow linearly in N (about 7 per node); heap per node and repair traffic per node stay flat; repair brings a partition back to 100 %.')}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
