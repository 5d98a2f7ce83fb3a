// The shape of the options table (src/options/*.ts): each option is declared once, as an
// entry whose doc comment documents it (docs/options.md is generated from these comments,
// scripts/options-doc.ts), whose kind gives its TypeScript type, and which resolves a
// given value (or its absence) into the resolved one, throwing InvalidArgumentError.
// MeshOptions, ResolvedOptions and defaultOptions are all derived from the table
// (src/options.ts).
import { InvalidArgumentError } from '../errors.js';

/** The options as given (a MeshOptions), seen by resolvers that depend on another option. */
export type GivenOptions = Readonly<Record<string, unknown>>;
/** The options resolved so far (those before this one in the table). */
export type ResolvedSoFar = Readonly<Record<string, unknown>>;

/** One option: what it accepts (In), what it resolves to (Out), and its fixed default if it has one. */
export interface OptionSpec<In, Out> {
  /** The fixed default: listed in defaultOptions and in docs/options.md's Default column. */
  readonly default?: Out;
  /** Checks the value given (undefined when none) and returns the resolved one. (A method: any spec fits OptionTable.) */
  resolve(name: string, value: In | undefined, given: GivenOptions, resolved: ResolvedSoFar): Out;
}

/** py2p's spelling of another option: accepted as it, never resolved on its own. */
export interface AliasSpec<K extends string> {
  readonly aliasOf: K;
}

/** An option with a fixed default. */
export type Defaulted<T> = OptionSpec<T, T> & { readonly default: T };

/** A whole number >= min (and <= max); `check` adds a condition on the other options. */
export function int(
  fallback: number,
  min = 0,
  max?: number,
  check?: (value: number, resolved: ResolvedSoFar) => void,
): Defaulted<number> {
  return {
    default: fallback,
    resolve: (name, value, _given, resolved) => {
      const v = countOf(name, value, fallback, min, max);
      check?.(v, resolved);
      return v;
    },
  };
}

/** A whole number >= min whose default is another option's resolved value. */
export function intOf(from: string, min = 0, max?: number): OptionSpec<number, number> {
  return { resolve: (name, value, _given, resolved) => countOf(name, value, resolved[from] as number, min, max) };
}

/** True or false. */
export function bool(fallback: boolean): Defaulted<boolean> {
  return {
    default: fallback,
    resolve: (name, value) => {
      const v = value ?? fallback;
      if (typeof v !== 'boolean') throw new InvalidArgumentError(`option ${name} must be true or false, got ${String(value)}`);
      return v;
    },
  };
}

/** One of a few strings. */
export function oneOf<const V extends readonly string[]>(values: V, fallback: V[number]): Defaulted<V[number]> {
  return {
    default: fallback,
    resolve: (name, value) => {
      const v = value ?? fallback;
      if (!values.includes(v)) throw new InvalidArgumentError(`option ${name} must be ${values.map((x) => `'${x}'`).join(' or ')}`);
      return v;
    },
  };
}

/**
 * An option of type T with no fixed default (its doc comment says what it falls back to).
 * Without a resolver the value is taken as given (undefined when absent).
 */
export function opt<T, Out = T | undefined>(
  resolve?: (value: T | undefined, given: GivenOptions, resolved: ResolvedSoFar, name: string) => Out,
): OptionSpec<T, Out> {
  return { resolve: resolve ? (name, value, given, resolved) => resolve(value, given, resolved, name) : (_n, value) => value as Out };
}

/** The seed's (py2p's) name for option `of`. */
export function alias<const K extends string>(of: K): AliasSpec<K> {
  return { aliasOf: of };
}

function countOf(name: string, value: number | undefined, fallback: number, min: number, max: number | undefined): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || !Number.isInteger(v) || v < min) {
    throw new InvalidArgumentError(`option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  if (max !== undefined && v > max) throw new InvalidArgumentError(`option ${name} must be at most ${max}, got ${v}`);
  return v;
}

type AnySpec = OptionSpec<never, unknown> | AliasSpec<string>;
/** A table of options: name to spec. */
export type OptionTable = Record<string, AnySpec>;

type InputOf<S> = S extends OptionSpec<infer In, unknown> ? In : never;
type AliasTarget<T, K extends keyof T> = T[K] extends AliasSpec<infer A> ? (A extends keyof T ? T[A] : never) : T[K];

/** The options a table accepts, each optional (an alias accepts what its option does). */
export type OptionInputs<T> = { [K in keyof T]?: InputOf<AliasTarget<T, K>> };

/** What a table resolves to: every option but the aliases, resolved. */
export type OptionOutputs<T> = {
  [K in keyof T as T[K] extends AliasSpec<string> ? never : K]: T[K] extends OptionSpec<never, infer Out> ? Out : never;
};

/** The fixed defaults of a table. */
export type OptionDefaults<T> = {
  readonly [K in keyof T as T[K] extends { readonly default: unknown } ? K : never]: T[K] extends { readonly default: infer D } ? D : never;
};

/** Resolves `given` against a table, in table order; an alias stands in for its option when that is not given. */
export function resolveTable<T extends OptionTable>(table: T, given: GivenOptions): OptionOutputs<T> {
  const aliases = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) if ('aliasOf' in spec) aliases.set(spec.aliasOf, name);
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    if ('aliasOf' in spec) continue;
    const seed = aliases.get(name);
    const value = seed === undefined ? given[name] : given[name] ?? given[seed];
    out[name] = (spec as OptionSpec<unknown, unknown>).resolve(name, value, given, out);
  }
  return out as OptionOutputs<T>;
}

/** The fixed defaults of a table, in table order. */
export function defaultsOf<T extends OptionTable>(table: T): OptionDefaults<T> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) if ('default' in spec && spec.default !== undefined) out[name] = spec.default;
  return Object.freeze(out) as OptionDefaults<T>;
}
