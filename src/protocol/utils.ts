/** Items of `a` that are also in `b`, in `a`'s order. Like py2p's intersect(),
 *  a missing (null/undefined) or empty list on either side gives []. */
export function intersect<T>(a: readonly T[] | null | undefined, b: readonly T[] | null | undefined): T[] {
  if (!a || !b || a.length === 0 || b.length === 0) return [];
  return a.filter((item) => b.includes(item));
}
