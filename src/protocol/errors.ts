// One error hierarchy for the wire codec. Callers branch on the class or on
// `code`, never on message text. Each class notes the py2p 0.2 exception it
// stands for, so the golden vectors' `error` names map onto it.

/** Base class of the wire codec's errors: a frame or field that cannot be decoded, or passes a bound. Branch on the class or on `code`. */
export class ProtocolError extends Error {
  /** What went wrong, as a stable `ERR_…` string to branch on (never on the message). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input is neither bytes nor text. py2p: AttributeError (`.encode` missing). */
export class NotBytesError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_NOT_BYTES';
  constructor(
    /** What was given instead: its type. */
    readonly received: string,
  ) {
    super(NotBytesError.code, `expected a Uint8Array or a string, got ${received}`);
  }
}

/** The 4-byte size header is missing or disagrees with the body length.
 *  py2p: AssertionError, or struct.error when fewer than 4 bytes arrive. */
export class BadSizeHeaderError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_BAD_SIZE_HEADER';
  constructor(message: string) {
    super(BadSizeHeaderError.code, message);
  }
}

/** A frame (body, without its 4-byte header) is larger than allowed. No py2p
 *  counterpart: py2p buffers whatever a peer announces. */
export class FrameTooLargeError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_FRAME_TOO_LARGE';
  constructor(
    /** The size found (bytes, or characters for a time packet). */
    readonly size: number,
    /** The bound it passed. */
    readonly limit: number,
  ) {
    super(FrameTooLargeError.code, `frame of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** The packet length headers do not describe the body. py2p: struct.error
 *  (or IndexError) in process_string. */
export class BadPacketHeaderError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_BAD_PACKET_HEADER';
  constructor(message: string) {
    super(BadPacketHeaderError.code, message);
  }
}

/** More packets than the configured limit. No py2p counterpart. */
export class TooManyPacketsError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_TOO_MANY_PACKETS';
  constructor(
    /** The bound it passed. */
    readonly limit: number,
  ) {
    super(TooManyPacketsError.code, `message has more than ${limit} packets`);
  }
}

/** Fewer than the 4 header packets (type, sender, id, time). py2p: IndexError
 *  while building the message. */
export class MalformedMessageError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_MALFORMED_MESSAGE';
  constructor(message: string) {
    super(MalformedMessageError.code, message);
  }
}

/** A character outside the base_58 alphabet, or bytes that are not UTF-8.
 *  py2p: ValueError ("substring not found") or UnicodeDecodeError. */
export class BadBase58Error extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_BAD_BASE58';
  constructor(message: string) {
    super(BadBase58Error.code, message);
  }
}

/** A compression name py2p 0.2 does not define. py2p: Exception. */
export class UnknownCompressionError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_UNKNOWN_COMPRESSION';
  constructor(
    /** The compression method named. */
    readonly method: string,
  ) {
    super(UnknownCompressionError.code, `unknown compression method ${JSON.stringify(method)}`);
  }
}

/** A py2p compression method this build cannot perform (bz2, lzma). */
export class UnsupportedCompressionError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_UNSUPPORTED_COMPRESSION';
  constructor(
    /** The compression method named. */
    readonly method: string,
    reason: string,
  ) {
    super(UnsupportedCompressionError.code, `compression method ${JSON.stringify(method)} is not supported by this build: ${reason}`);
  }
}

/** Decompressed output would exceed the limit (a decompression bomb). Never
 *  swallowed by the fallback in decompressString. */
export class DecompressedTooLargeError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_DECOMPRESSED_TOO_LARGE';
  constructor(
    /** The compression method named. */
    readonly method: string,
    /** The bound it passed. */
    readonly limit: number,
  ) {
    super(DecompressedTooLargeError.code, `${method} output exceeds the limit of ${limit} bytes`);
  }
}

/** The data is not a valid stream of that method (corrupt, truncated). py2p:
 *  zlib.error / OSError / LZMAError, which feed_string swallows. */
export class DecompressionFailedError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_DECOMPRESSION_FAILED';
  constructor(
    /** The compression method named. */
    readonly method: string,
    detail: string,
  ) {
    super(DecompressionFailedError.code, `${method} decompression failed: ${detail}`);
  }
}

/** True when `e` is one of the codec's errors (a ProtocolError). */
export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}

/** Short description of a value's type, for NotBytesError messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** A field a peer sent is longer than its bound (an id, a time, a JSON text), checked
 *  before it is decoded. No py2p counterpart: py2p decodes whatever arrives. */
export class FieldTooLargeError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_FIELD_TOO_LARGE';
  constructor(
    /** The field at fault. */
    readonly field: string,
    /** The size found (bytes, or characters for a time packet). */
    readonly size: number,
    /** The bound it passed. */
    readonly limit: number,
  ) {
    super(FieldTooLargeError.code, `${field} of ${size} bytes exceeds the limit of ${limit}`);
  }
}

/** A JSON text nests deeper than allowed, found by a scan before it is parsed. */
export class JsonTooDeepError extends ProtocolError {
  /** The code every instance of this class carries as `code`. */
  static readonly code = 'ERR_JSON_TOO_DEEP';
  constructor(
    /** The field at fault. */
    readonly field: string,
    /** The bound it passed. */
    readonly limit: number,
  ) {
    super(JsonTooDeepError.code, `${field} nests deeper than ${limit} levels`);
  }
}

/** Base class of rx2p's mesh-level errors (peers, connections, the socket). Branch on the class or on `code`. */
export class MeshError extends Error {
  /** What went wrong, as a stable `ERR_…` string to branch on (never on the message). */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A peers list, response or renegotiation payload that cannot be read. */
export class MalformedControlError extends MeshError {
  constructor(what: string, detail: string) { super('ERR_MALFORMED_CONTROL', `malformed ${what}: ${detail}`); }
}
