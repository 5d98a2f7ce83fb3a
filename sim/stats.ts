/** Order statistics of a list of numbers (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function summary(values: readonly number[]): { min: number; median: number; max: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { min: s[0] ?? NaN, median: quantile(s, 0.5), max: s[s.length - 1] ?? NaN, mean: round(mean, 2) };
}

export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Breadth-first search over an adjacency list from one node: the hop count to each reachable node. */
export function bfs(adjacency: ReadonlyArray<readonly number[]>, from: number, alive: (i: number) => boolean = () => true): Map<number, number> {
  const dist = new Map<number, number>([[from, 0]]);
  let frontier = [from];
  while (frontier.length) {
    const next: number[] = [];
    for (const u of frontier) {
      const d = dist.get(u)! + 1;
      for (const v of adjacency[u] ?? []) {
        if (!dist.has(v) && alive(v)) {
          dist.set(v, d);
          next.push(v);
        }
      }
    }
    frontier = next;
  }
  return dist;
}
