import { randomUUID } from 'node:crypto';

/** rx2p's own release; it speaks py2p protocol version 0.2. */
export const __version__ = '0.2.0';
/** py2p's version_info: rx2p's release as [major, minor, patch]. */
export const version_info: readonly [number, number, number] = Object.freeze([0, 2, 0] as const);
/** The wire protocol version. It enters every protocol id, so it must stay "0.2". */
export const protocol_version = '0.2';
/** Build number of the node policies (py2p 0.2.136 has "136"). */
export const node_policy_version = '0';
/** py2p's version: the same as __version__. */
export const version = __version__;

/**
 * Per-process salt of node ids, as py2p's `base.user_salt` (text of a uuid4),
 * drawn once when the module loads and never changed.
 */
export const user_salt: string = randomUUID();
/** user_salt as UTF-8 bytes, as they enter node ids (for callers: nodeId hashes user_salt itself). */
export const userSaltBytes: Buffer = Buffer.from(user_salt, 'utf8');

/** The base_58 character space, least to greatest value (the Bitcoin alphabet). */
export const base_58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
