// The options of a MeshSocket, declared once: the table below (its parts in
// src/options/*.ts, by area) gives each option's doc comment, type, default and check.
// MeshOptions (what a user passes), ResolvedOptions (what the node reads) and
// defaultOptions are derived from it, and resolveOptions() walks it; docs/options.md
// is generated from it (scripts/options-doc.ts).
import { limitOptions } from './options/limits.js';
import { environmentOptions, nodeOptions, upkeepOptions } from './options/node.js';
import { repairOptions } from './options/repair.js';
import { defaultsOf, resolveTable, type OptionDefaults, type OptionInputs, type OptionOutputs } from './options/table.js';
import { trustOptions } from './options/trust.js';
import { webOptions } from './options/web.js';

/**
 * Every option, in the order docs/options.md lists them: the node, the limits, the upkeep
 * of connections, repair and the data directory, the environment, trust, WebSocket.
 * An option is resolved after those before it (repairWindowSeconds defaults to
 * maxMessageAgeSeconds, webSocket's bounds to maxFrameBytes and handshakeTimeoutMs).
 */
export const optionTable = {
  ...nodeOptions,
  ...limitOptions,
  ...upkeepOptions,
  ...repairOptions,
  ...environmentOptions,
  ...trustOptions,
  ...webOptions,
};

/**
 * Every option of a MeshSocket, each optional, with its default (docs/options.md lists
 * them with their doc comments and defaults). The seed's own names (`prot`, `out_addr`,
 * `debug_level`) are accepted beside the TypeScript ones.
 */
export interface MeshOptions extends OptionInputs<typeof optionTable> {}

/** Every option resolved: given, or its default (the seed aliases folded into their options). */
export type ResolvedOptions = OptionOutputs<typeof optionTable>;

/** The default of every option that has a fixed one (docs/options.md lists them all). */
export const defaultOptions: OptionDefaults<typeof optionTable> = defaultsOf(optionTable);

/**
 * Checks every option and fills in the defaults. A value of the wrong type or out of
 * range throws InvalidArgumentError (ERR_INVALID_ARGUMENT) naming the option.
 */
export function resolveOptions(o: MeshOptions = {}): ResolvedOptions {
  return resolveTable(optionTable, o as Readonly<Record<string, unknown>>);
}
