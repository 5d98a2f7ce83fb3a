// py2p 0.2's snake_case names, as aliases of the TypeScript API (get_lan_ip, which
// reads the host, is src/host.ts's). The only place they are defined: src/compat.ts re-exports this module, and
// ./index.ts imports it, which installs the instance aliases below.
import { fromBase58, toBase58 } from './base58.js';
import { PathfindingMessage } from './message.js';
import { Message } from './user-message.js';

export { compression, compress, decompress, getUTC, intersect } from './compression.js';
export { protocol, default_protocol } from './protocol.js';
export { base_58, user_salt, __version__, version_info, protocol_version, node_policy_version, version } from './constants.js';
export { flags } from './flags.js';

/** py2p's to_base_58: toBase58. */
export const to_base_58 = toBase58;
/** py2p's from_base_58: fromBase58. */
export const from_base_58 = fromBase58;

declare module './message.js' {
  interface PathfindingMessage {
    /** py2p name of compressionUsed. */
    readonly compression_used: string | null;
    /** py2p name of time58. */
    readonly time_58: string;
    /** py2p name of compressionFail. */
    compression_fail: boolean;
    /** py2p name of msgType. */
    readonly msg_type: string;
  }
}

declare module './user-message.js' {
  interface Message {
    /** py2p name of time58. */
    readonly time_58: string;
  }
}

function alias(proto: object, name: string, target: string, writable = false): void {
  if (Object.hasOwn(proto, name)) return;
  Object.defineProperty(proto, name, {
    configurable: true,
    enumerable: false,
    get(this: Record<string, unknown>) {
      return this[target];
    },
    ...(writable
      ? {
          set(this: Record<string, unknown>, value: unknown) {
            this[target] = value;
          },
        }
      : {}),
  });
}

alias(PathfindingMessage.prototype, 'compression_used', 'compressionUsed');
alias(PathfindingMessage.prototype, 'time_58', 'time58');
alias(PathfindingMessage.prototype, 'compression_fail', 'compressionFail', true);
alias(PathfindingMessage.prototype, 'msg_type', 'msgType');
alias(Message.prototype, 'time_58', 'time58');

/** The class with py2p's classmethod names as statics. */
export type PathfindingMessageClass = typeof PathfindingMessage & {
  feed_string: typeof PathfindingMessage.feedString;
  sanitize_string: typeof PathfindingMessage.sanitizeString;
  decompress_string: typeof PathfindingMessage.decompressString;
  process_string: typeof PathfindingMessage.processString;
};

for (const [name, fn] of [
  ['feed_string', PathfindingMessage.feedString],
  ['sanitize_string', PathfindingMessage.sanitizeString],
  ['decompress_string', PathfindingMessage.decompressString],
  ['process_string', PathfindingMessage.processString],
] as const) {
  if (!Object.hasOwn(PathfindingMessage, name)) {
    Object.defineProperty(PathfindingMessage, name, { value: fn, configurable: true, writable: false, enumerable: false });
  }
}

/** py2p's pathfinding_message: the same class (instanceof works both ways). */
export const pathfinding_message = PathfindingMessage as PathfindingMessageClass;
/** py2p's pathfinding_message, as a type. */
export type pathfinding_message = PathfindingMessage;

/** py2p's message: the same class. */
export const message = Message;
/** py2p's message, as a type. */
export type message = Message;
