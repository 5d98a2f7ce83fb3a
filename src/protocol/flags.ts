/** py2p 0.2 protocol flags. On the wire a flag is its ASCII bytes. */
export const flags = Object.freeze({
  broadcast: 'broadcast',
  waterfall: 'waterfall',
  whisper: 'whisper',
  renegotiate: 'renegotiate',
  handshake: 'handshake',
  request: 'request',
  response: 'response',
  resend: 'resend',
  peers: 'peers',
  compression: 'compression',
  gzip: 'gzip',
  bz2: 'bz2',
  lzma: 'lzma',
} as const);

/** One of py2p's message flags (the values of `flags`). */
export type Flag = (typeof flags)[keyof typeof flags];
