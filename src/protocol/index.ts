// Public surface of the wire codec. TypeScript names are the primary ones;
// py2p's snake_case names come from ./compat.ts (importing it also installs
// the snake_case getters and classmethod names on the classes).
export {
  ProtocolError,
  NotBytesError,
  BadSizeHeaderError,
  FrameTooLargeError,
  BadPacketHeaderError,
  TooManyPacketsError,
  MalformedMessageError,
  BadBase58Error,
  UnknownCompressionError,
  UnsupportedCompressionError,
  DecompressedTooLargeError,
  DecompressionFailedError,
  FieldTooLargeError,
  JsonTooDeepError,
  isProtocolError,
} from './errors.js';
export {
  __version__,
  version_info,
  protocol_version,
  node_policy_version,
  version,
  user_salt,
  userSaltBytes,
  base_58,
} from './constants.js';
export { flags, type Flag } from './flags.js';
export { toBase58, fromBase58, fromBase58Number } from './base58.js';
export {
  compression,
  compress,
  decompress,
  assertSupported,
  py2pCompressionMethods,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type DecompressOptions,
  type ZlibEngine,
} from './compression.js';
export { SyncZlib } from './sync-zlib.js';
export { CodecScratch } from './scratch.js';
export { Time58Cache } from './base58.js';
export { getUTC } from './clock.js';
export { intersect } from './utils.js';
export { Protocol, protocol, default_protocol, defaultProtocol } from './protocol.js';
export { pythonStr, pythonRepr, nodeId, type OutAddr } from './ids.js';
export { encodeFrame, encodeLength, Deframer, MAX_WIRE_FRAME_BYTES, type DeframerOptions } from './framing.js';
export {
  PathfindingMessage,
  defaultLimits,
  negotiateCompression,
  toPacket,
  type CodecLimits,
  type PacketInput,
} from './message.js';
export {
  MAX_ID_CHARS,
  defaultJsonLimits,
  checkId,
  scanJson,
  parseJsonPacket,
  parseHandshake,
  parsePeersList,
  parseResponse,
  parseRenegotiation,
  type JsonLimits,
  type Handshake,
} from './bounds.js';
export { Message, type MessageServer } from './user-message.js';
export { pyJsonDumps, type PyJson } from './pyjson.js';
export * from './compat.js';
