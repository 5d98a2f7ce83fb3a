// The bench's outputs: a terminal table, JSON, an SVG chart (drawn here, no
// dependency) and the results section of bench/README.md.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

export interface Row {
  /** 'W1' … 'W5', 'Codec'. */
  workload: string;
  /** What was run, e.g. 'broadcast 100 B, N=3'. */
  what: string;
  /** 'procs': one process per node; 'inproc': all nodes in the bench's process; '-' for neither. */
  mode: 'procs' | 'inproc' | '-';
  variant: string;
  metric: string;
  rx2p: number;
  /** The baseline's figure (for Codec rows: SHA-384 of the same bytes); null when there is none. */
  baseline: number | null;
  /** rx2p / baseline, or null. */
  ratio: number | null;
  better: 'higher' | 'lower';
  /** e.g. 'ratio >= 0.8', 'p50 ratio <= 1.5', 'rx2p <= 60'. */
  target?: string;
  met?: boolean;
  note?: string;
  /** Decimal places to print the figures with. */
  digits?: number;
}

export function row(r: Omit<Row, 'ratio'> & { ratio?: number | null }): Row {
  const ratio = r.ratio !== undefined ? r.ratio : r.baseline ? r.rx2p / r.baseline : null;
  return { ...r, ratio };
}

export function fmt(v: number | null, digits = 0): string {
  if (v === null || Number.isNaN(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const modeLabel = { procs: 'process/node', inproc: 'one process', '-': '' } as const;

export function table(rows: Row[]): string {
  const head = ['', 'workload', 'mode', 'settings', 'metric', 'rx2p', 'baseline', 'rx2p/base', 'target', ''];
  const body = rows.map((r) => [
    r.workload, r.what, modeLabel[r.mode], r.variant, r.metric,
    fmt(r.rx2p, r.digits ?? 0), fmt(r.baseline, r.digits ?? 0), r.ratio === null ? '-' : r.ratio.toFixed(2),
    r.target ?? '', r.met === undefined ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const all = [head.slice(0, 1).concat(head.slice(1)), ...body];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((l) => l[i]!.length)));
  const right = new Set([5, 6, 7]);
  const line = (l: string[]) => l.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (const l of body) {
    if (last && l[0] !== last) out.push('');
    last = l[0]!;
    out.push(line(l));
  }
  return out.join('\n');
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = ['| | workload | mode | settings | metric | rx2p | baseline | rx2p / baseline | target |', '|---|---|---|---|---|--:|--:|--:|---|'];
  for (const r of rows) {
    const target = r.target ? `${esc(r.target)} ${r.met === undefined ? '' : r.met ? '✅' : '❌'}` : '';
    out.push(`| ${r.workload} | ${esc(r.what)} | ${modeLabel[r.mode]} | ${esc(r.variant)} | ${esc(r.metric)} | ${fmt(r.rx2p, r.digits ?? 0)} | ${fmt(r.baseline, r.digits ?? 0)} | ${r.ratio === null ? '-' : r.ratio.toFixed(2)} | ${target} |`);
  }
  return out.join('\n');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A horizontal bar chart of rx2p against the baseline, one pair of bars per row, each row on its own scale. */
export function svgChart(rows: Row[], title: string, subtitle: string): string {
  const W = 1000;
  const labelW = 350;
  const barMax = 320;
  const rowH = 46;
  const top = 78;
  const chartRows = rows.filter((r) => r.baseline !== null);
  const H = top + chartRows.length * rowH + 40;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="16" y="26" font-size="17" font-weight="bold">${xml(title)}</text>`);
  parts.push(`<text x="16" y="46" fill="#555">${xml(subtitle)}</text>`);
  parts.push(`<rect x="${labelW}" y="56" width="12" height="10" fill="#2f6fb3"/><text x="${labelW + 16}" y="65">rx2p</text>`);
  parts.push(`<rect x="${labelW + 60}" y="56" width="12" height="10" fill="#a8a8a8"/><text x="${labelW + 76}" y="65">baseline (plain net, 4-byte framing, SHA-384 ids, Set)</text>`);
  let y = top;
  let last = '';
  for (const r of chartRows) {
    if (last && last !== r.workload) parts.push(`<line x1="16" x2="${W - 16}" y1="${y - 4}" y2="${y - 4}" stroke="#ddd"/>`);
    last = r.workload;
    const max = Math.max(r.rx2p, r.baseline!) || 1;
    const a = (r.rx2p / max) * barMax;
    const b = (r.baseline! / max) * barMax;
    parts.push(`<text x="16" y="${y + 14}" font-weight="bold">${xml(`${r.workload} ${r.what}${r.better === 'lower' ? ' (lower is better)' : ''}`)}</text>`);
    parts.push(`<text x="16" y="${y + 30}" fill="#555">${xml(`${r.mode === 'procs' ? 'process per node' : 'one process'}, ${r.variant}`)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${a.toFixed(1)}" height="15" fill="#2f6fb3"/>`);
    parts.push(`<text x="${labelW + a + 4}" y="${y + 16}">${xml(`${fmt(r.rx2p, r.digits ?? 0)} ${r.metric}`)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y + 21}" width="${b.toFixed(1)}" height="15" fill="#a8a8a8"/>`);
    parts.push(`<text x="${labelW + b + 4}" y="${y + 33}">${xml(fmt(r.baseline, r.digits ?? 0))}</text>`);
    const ratio = r.ratio === null ? '' : `×${r.ratio.toFixed(2)}`;
    parts.push(`<text x="${W - 16}" y="${y + 24}" text-anchor="end" fill="${r.met === false ? '#b3261e' : '#333'}">${xml(ratio)}</text>`);
    y += rowH;
  }
  parts.push(`<text x="16" y="${H - 14}" fill="#777">Each pair is drawn on its own scale; the right column is rx2p / baseline (red: a target missed).</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export const BEGIN = '<!-- bench:begin -->';
export const END = '<!-- bench:end -->';

/** Replaces what is between the bench markers of a markdown file (bench/README.md); false (and no write) if they are not there. */
export function updateReadme(path: string, section: string): boolean {
  if (!existsSync(path)) return false;
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return false;
  writeFileSync(path, text.slice(0, a + BEGIN.length) + '\n' + section.trim() + '\n' + text.slice(b));
  return true;
}
