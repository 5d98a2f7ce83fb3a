export async function runCurves(_ns: number[], _seed: number): Promise<void> {
  throw new Error('not yet');
}
