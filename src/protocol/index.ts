// Public surface of the wire codec. TypeScript names first; py2p's
// snake_case names come from ./compat.ts (importing it installs the aliases).
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
  isProtocolError,
} from './errors.js';
export { userSaltBytes } from './constants.js';
export type { Flag } from './flags.js';
export { toBase58, fromBase58, fromBase58Number } from './base58.js';
export {
  py2pCompressionMethods,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  assertSupported,
  type DecompressOptions,
} from './compression.js';
export { getLanIp } from './utils.js';
export { Protocol, defaultProtocol } from './protocol.js';
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
export { Message, type MessageServer } from './user-message.js';
export * from './compat.js';
