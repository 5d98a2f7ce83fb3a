import { expect } from 'chai';
import sinon from 'sinon';
import { gzip as pakoGzip } from 'pako';
import * as protocolApi from '../../src/protocol/index.js';
import * as compat from '../../src/compat.js';
import { getLanIp } from '../../src/host.js';
import {
  BadBase58Error,
  BadPacketHeaderError,
  BadSizeHeaderError,
  DecompressedTooLargeError,
  DecompressionFailedError,
  Deframer,
  FrameTooLargeError,
  MalformedMessageError,
  Message,
  NotBytesError,
  PathfindingMessage,
  Protocol,
  ProtocolError,
  TooManyPacketsError,
  UnknownCompressionError,
  UnsupportedCompressionError,
  base_58,
  compress,
  compression,
  decompress,
  default_protocol,
  encodeFrame,
  flags,
  fromBase58,
  getUTC,
  intersect,
  isProtocolError,
  nodeId,
  pythonRepr,
  pythonStr,
  toBase58,
  user_salt,
  userSaltBytes,
  version_info,
  __version__,
  protocol_version,
  node_policy_version,
  version,
  type MessageServer,
} from '../../src/protocol/index.js';

const mesh = new Protocol('mesh', 'Plaintext');

describe('pythonStr / pythonRepr (Python 3 str() of an address)', function () {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', "'127.0.0.1'"],
    ["it's", `"it's"`],
    [`say "hi"`, `'say "hi"'`],
    [`it's "both"`, `'it\\'s "both"'`],
    ['back\\slash', "'back\\\\slash'"],
    ['tab\tnl\ncr\r', "'tab\\tnl\\ncr\\r'"],
    ['\x00\x1f\x7f', "'\\x00\\x1f\\x7f'"],
    ['nbsp\u00a0', "'nbsp\\xa0'"],
    ['soft\u00adhyphen', "'soft\\xadhyphen'"],
    ['zero\u200bwidth', "'zero\\u200bwidth'"],
    ['line\u2028sep', "'line\\u2028sep'"],
    ['bücher', "'bücher'"],
    ['网格', "'网格'"],
    ['🚀', "'🚀'"],
    ['\u{e0001}', "'\\U000e0001'"],
    ['lone\ud800', "'lone\\ud800'"],
    ['', "''"],
  ];
  for (const [input, expected] of cases) {
    it(`repr(${JSON.stringify(input)}) is ${expected}`, function () {
      expect(pythonRepr(input)).to.equal(expected);
    });
  }

  it('prints a tuple with parentheses and a list with brackets', function () {
    expect(pythonStr(['::1', 8080])).to.equal("('::1', 8080)");
    expect(pythonStr(['::1', 8080], 'list')).to.equal("['::1', 8080]");
  });

  it('rejects a non-integer port', function () {
    expect(() => pythonStr(['x', 1.5])).to.throw(TypeError);
  });

  it('nodeId defaults to this process salt and tuple form', function () {
    expect(nodeId(['127.0.0.1', 4444], mesh.id)).to.equal(nodeId(['127.0.0.1', 4444], mesh.id, userSaltBytes, 'tuple'));
    expect(nodeId(['127.0.0.1', 4444], mesh.id, 'a')).to.not.equal(nodeId(['127.0.0.1', 4444], mesh.id, 'b'));
  });
});

describe('base_58 edge cases', function () {
  it('encodes 0 as the empty string, whatever the input type', function () {
    expect(toBase58(0)).to.equal('');
    expect(toBase58(0n)).to.equal('');
    expect(toBase58(new Uint8Array(0))).to.equal('');
    expect(toBase58(new Uint8Array(48))).to.equal('');
  });

  it('reads bytes as a big-endian integer: leading zero bytes do not count', function () {
    expect(toBase58(Uint8Array.of(0, 0, 1))).to.equal('2');
    expect(toBase58(Uint8Array.of(1, 0))).to.equal(toBase58(256));
  });

  it('decodes leading 1s as nothing', function () {
    expect(fromBase58('')).to.equal(0n);
    expect(fromBase58('111')).to.equal(0n);
    expect(fromBase58('1112')).to.equal(1n);
  });

  it('agrees between number, bigint and long inputs around 2^53', function () {
    for (const n of [2 ** 53 - 1, 2 ** 53 - 2, 58 ** 9, 58 ** 9 - 1]) {
      expect(toBase58(n)).to.equal(toBase58(BigInt(n)));
      expect(fromBase58(toBase58(n))).to.equal(BigInt(n));
    }
    expect(fromBase58(toBase58(2n ** 200n + 12345n))).to.equal(2n ** 200n + 12345n);
  });

  it('rejects negative and non-integer numbers with RangeError', function () {
    expect(() => toBase58(-1)).to.throw(RangeError);
    expect(() => toBase58(-1n)).to.throw(RangeError);
    expect(() => toBase58(1.5)).to.throw(RangeError);
    expect(() => toBase58(2 ** 53)).to.throw(RangeError);
  });

  it('rejects characters outside the alphabet and non-UTF-8 bytes with BadBase58Error', function () {
    for (const bad of ['0', 'O', 'I', 'l', ' ', 'é', '+', 'abc0']) expect(() => fromBase58(bad)).to.throw(BadBase58Error);
    expect(() => fromBase58(Uint8Array.of(0xff, 0x32))).to.throw(BadBase58Error, /UTF-8/);
    expect(() => fromBase58(Buffer.from('é', 'utf8'))).to.throw(BadBase58Error, /alphabet/);
    expect(() => fromBase58(42 as unknown as string)).to.throw(NotBytesError);
  });

  it('uses the Bitcoin alphabet', function () {
    expect(base_58).to.equal('123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz');
  });
});

describe('compression', function () {
  const body = Buffer.from('py2p '.repeat(100));

  it('supports gzip only, and says why not bz2 or lzma', function () {
    expect(compression).to.deep.equal(['gzip']);
    expect(() => compress(body, 'bz2')).to.throw(UnsupportedCompressionError, /bz2/);
    expect(() => decompress(body, 'lzma')).to.throw(UnsupportedCompressionError, /lzma/);
    expect(() => compress(body, 'zstd')).to.throw(UnknownCompressionError);
    expect(() => decompress(body, 'zlib')).to.throw(UnknownCompressionError);
  });

  it('"gzip" compresses to a zlib (RFC 1950) stream', function () {
    const z = compress(body, 'gzip');
    expect(z[0]).to.equal(0x78);
    expect(decompress(z, 'gzip').equals(body)).to.equal(true);
  });

  it('decompresses an RFC 1952 gzip stream too, and ignores trailing bytes', function () {
    expect(decompress(pakoGzip(body), 'gzip').equals(body)).to.equal(true);
    const trailing = Buffer.concat([compress(body, 'gzip'), Buffer.from('garbage')]);
    expect(decompress(trailing, 'gzip').equals(body)).to.equal(true);
  });

  it('fails with DecompressionFailedError on corrupt, truncated or empty input', function () {
    const z = compress(body, 'gzip');
    expect(() => decompress(z.subarray(0, z.length - 6), 'gzip')).to.throw(DecompressionFailedError);
    expect(() => decompress(Buffer.from('not compressed at all'), 'gzip')).to.throw(DecompressionFailedError);
    expect(() => decompress(Buffer.alloc(0), 'gzip')).to.throw(DecompressionFailedError);
    const corrupt = Buffer.from(z);
    corrupt[z.length - 1]! ^= 0xff; // adler32 mismatch
    expect(() => decompress(corrupt, 'gzip')).to.throw(DecompressionFailedError);
  });

  it('accepts output exactly at maxBytes and refuses one byte more', function () {
    const z = compress(body, 'gzip');
    expect(decompress(z, 'gzip', { maxBytes: body.length }).length).to.equal(body.length);
    expect(() => decompress(z, 'gzip', { maxBytes: body.length - 1 })).to.throw(DecompressedTooLargeError);
    expect(decompress(compress(Buffer.alloc(0), 'gzip'), 'gzip', { maxBytes: 0 }).length).to.equal(0);
  });

  it('intersect keeps the first list order and treats missing lists as empty', function () {
    expect(intersect(['lzma', 'bz2', 'gzip'], ['gzip', 'bz2'])).to.deep.equal(['bz2', 'gzip']);
    expect(intersect(null, ['gzip'])).to.deep.equal([]);
    expect(intersect(['gzip'], undefined)).to.deep.equal([]);
  });

  it('getUTC is whole unix seconds; getLanIp is an IPv4 address without traffic', function () {
    const now = getUTC();
    expect(Number.isInteger(now)).to.equal(true);
    expect(Math.abs(now - Date.now() / 1000)).to.be.below(2);
    expect(getLanIp()).to.match(/^\d{1,3}(\.\d{1,3}){3}$/);
  });
});

describe('errors', function () {
  it('every class has a stable ERR_ code and is a ProtocolError', function () {
    const errors: ProtocolError[] = [
      new NotBytesError('number'),
      new BadSizeHeaderError('x'),
      new FrameTooLargeError(10, 5),
      new BadPacketHeaderError('x'),
      new TooManyPacketsError(3),
      new MalformedMessageError('x'),
      new BadBase58Error('x'),
      new UnknownCompressionError('zstd'),
      new UnsupportedCompressionError('bz2', 'x'),
      new DecompressedTooLargeError('gzip', 1),
      new DecompressionFailedError('gzip', 'x'),
    ];
    const codes = errors.map((e) => e.code);
    expect(codes).to.deep.equal([
      'ERR_NOT_BYTES',
      'ERR_BAD_SIZE_HEADER',
      'ERR_FRAME_TOO_LARGE',
      'ERR_BAD_PACKET_HEADER',
      'ERR_TOO_MANY_PACKETS',
      'ERR_MALFORMED_MESSAGE',
      'ERR_BAD_BASE58',
      'ERR_UNKNOWN_COMPRESSION',
      'ERR_UNSUPPORTED_COMPRESSION',
      'ERR_DECOMPRESSED_TOO_LARGE',
      'ERR_DECOMPRESSION_FAILED',
    ]);
    for (const e of errors) {
      expect(isProtocolError(e)).to.equal(true);
      expect(e).to.be.instanceOf(Error);
      expect(e.name).to.equal(e.constructor.name);
    }
    expect(isProtocolError(new Error('x'))).to.equal(false);
    const big = new FrameTooLargeError(10, 5);
    expect([big.size, big.limit]).to.deep.equal([10, 5]);
  });
});

describe('constants, flags and protocols', function () {
  it('exposes rx2p version constants and the 0.2 protocol version', function () {
    expect(__version__).to.equal('0.2.0');
    expect(version).to.equal(__version__);
    expect(version_info).to.deep.equal([0, 2, 0]);
    expect(protocol_version).to.equal('0.2');
    expect(`${protocol_version}.${node_policy_version}`).to.equal(__version__);
  });

  it('makes one uuid4 salt per process', function () {
    expect(user_salt).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(userSaltBytes.toString('utf8')).to.equal(user_salt);
  });

  it('flags are their own names', function () {
    for (const [k, v] of Object.entries(flags)) expect(k).to.equal(v);
  });

  it('protocols are immutable values; ids join subnet and encryption without a separator', function () {
    expect(new Protocol('a', 'bc').id).to.equal(new Protocol('ab', 'c').id);
    expect(new Protocol('mesh', 'Plaintext').equals(mesh)).to.equal(true);
    expect(Object.isFrozen(mesh)).to.equal(true);
    expect(default_protocol.subnet).to.equal('');
    expect(default_protocol.encryption).to.equal('Plaintext');
  });
});

describe('PathfindingMessage', function () {
  it('time 0 gives an empty time packet; a missing time is now', function () {
    const zero = new PathfindingMessage(mesh, 'broadcast', 'me', ['x'], null, 0);
    expect(zero.time58).to.equal('');
    expect(zero.packets[3]!.length).to.equal(0);
    const now = new PathfindingMessage(mesh, 'broadcast', 'me', ['x']);
    expect(Number(now.time)).to.be.closeTo(getUTC(), 2);
    expect(() => new PathfindingMessage(mesh, 'broadcast', 'me', [], null, -1)).to.throw(RangeError);
  });

  it('decodes msgType and sender as latin1 so that bytes round-trip', function () {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const msg = new PathfindingMessage(mesh, bytes, bytes, [], null, 1);
    expect(Buffer.from(msg.sender, 'latin1').equals(Buffer.from(bytes))).to.equal(true);
    expect(Buffer.from(msg.msgType, 'latin1').equals(Buffer.from(bytes))).to.equal(true);
  });

  it('does not copy payload Buffers given to it', function () {
    const p = Buffer.from('payload');
    const msg = new PathfindingMessage(mesh, 'broadcast', 'me', [p], null, 1);
    expect(msg.payload[0]).to.equal(p);
  });

  it('rejects non-bytes packets with NotBytesError', function () {
    expect(() => new PathfindingMessage(mesh, 'broadcast', 'me', [42 as unknown as string])).to.throw(NotBytesError);
    expect(() => new PathfindingMessage(mesh, 'broadcast', 'me', 'x' as unknown as string[])).to.throw(NotBytesError);
  });

  it('processString reads all length headers first, then the packets', function () {
    const body = Buffer.concat([Buffer.from('000000020000000100000000', 'hex'), Buffer.from('abc')]);
    expect(PathfindingMessage.processString(body).map((b) => b.toString())).to.deep.equal(['ab', 'c', '']);
    expect(PathfindingMessage.processString(Buffer.alloc(0))).to.deep.equal([]);
    expect(() => PathfindingMessage.processString(Buffer.from('00000005ab', 'hex'))).to.throw(BadPacketHeaderError);
    expect(() => PathfindingMessage.processString(Buffer.from('0000', 'hex'))).to.throw(BadPacketHeaderError);
    expect(() => PathfindingMessage.processString(Buffer.alloc(400), { maxPackets: 10 })).to.throw(TooManyPacketsError);
  });

  it('withCompressions and fromParts reuse a known id', function () {
    const msg = new PathfindingMessage(mesh, 'waterfall', 'origin', ['broadcast', 'x'], [], 1469151333);
    const gz = msg.withCompressions(['gzip']);
    expect(gz.id).to.equal(msg.id);
    expect(gz.compressionUsed).to.equal('gzip');
    expect(gz.plainBody.equals(msg.string.subarray(4))).to.equal(true);
    const trusted = PathfindingMessage.fromParts({
      protocol: mesh,
      msgType: 'waterfall',
      sender: 'origin',
      payload: msg.payload,
      time: msg.time,
      id: 'trusted-id',
    });
    expect(trusted.id).to.equal('trusted-id');
  });

  it('encode() refuses a method it cannot use instead of sending plaintext', function () {
    expect(() => PathfindingMessage.encode(mesh, 'whisper', 'me', [], 'bz2', 1)).to.throw(UnsupportedCompressionError);
    expect(() => PathfindingMessage.encode(mesh, 'whisper', 'me', [], 'zstd', 1)).to.throw(UnknownCompressionError);
    const wire = PathfindingMessage.encode(mesh, 'whisper', 'me', ['a'], 'gzip', 1);
    expect(PathfindingMessage.feedString(mesh, wire, false, ['gzip']).payload[0]!.toString()).to.equal('a');
  });

  it('feedString with methods that all fail parses the plain body and flags compressionFail', function () {
    const plain = new PathfindingMessage(mesh, 'broadcast', 'me', ['x'], null, 5).string;
    const msg = PathfindingMessage.feedString(mesh, plain, false, ['gzip']);
    expect(msg.compressionFail).to.equal(true);
    expect(PathfindingMessage.feedString(mesh, plain, false, ['zstd']).compressionFail).to.equal(false);
  });

  it('feedString treats a JS string as UTF-8 and rejects other non-bytes', function () {
    const wire = new PathfindingMessage(mesh, 'broadcast', 'me', ['x'], null, 5).string;
    expect(PathfindingMessage.feedString(mesh, wire.toString('latin1')).id).to.equal(PathfindingMessage.feedString(mesh, wire).id);
    for (const bad of [null, undefined, 5, [1, 2], new ArrayBuffer(4), {}]) {
      expect(() => PathfindingMessage.feedString(mesh, bad as unknown as Uint8Array)).to.throw(NotBytesError);
    }
  });

  it('feedString needs 4 packets', function () {
    const three = encodeFrame(Buffer.from('000000010000000100000001616263', 'hex'));
    expect(() => PathfindingMessage.feedString(mesh, three)).to.throw(MalformedMessageError);
  });
});

describe('Deframer', function () {
  it('emits empty frames and many frames per chunk', function () {
    const d = new Deframer({ maxFrameBytes: 10 });
    const out = d.push(Buffer.concat([encodeFrame(Buffer.alloc(0)), encodeFrame(Buffer.from('ab')), encodeFrame(Buffer.from('c'))]));
    expect(out.map((b) => b.toString())).to.deep.equal(['', 'ab', 'c']);
  });

  it('yields the same frames when the stream is split at every byte, or fed byte by byte', function () {
    const bodies = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('the third frame')];
    const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
    const expected = bodies.map((b) => b.toString());
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new Deframer({ maxFrameBytes: 100 });
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(out.map((b) => b.toString()), `cut at ${cut}`).to.deep.equal(expected);
    }
    const d = new Deframer({ maxFrameBytes: 100 });
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      out.push(...d.push(stream.subarray(i, i + 1)));
      expect(d.buffered + d.needed).to.be.at.least(1);
    }
    expect(out.map((b) => b.toString())).to.deep.equal(expected);
    expect(d.buffered).to.equal(0);
  });

  it('returns views of the chunk unless copyFrames is set', function () {
    const chunk = encodeFrame(Buffer.from('abc'));
    const [view] = new Deframer({ maxFrameBytes: 10 }).push(chunk);
    const [copy] = new Deframer({ maxFrameBytes: 10, copyFrames: true }).push(chunk);
    chunk[4] = 0x7a;
    expect(view!.toString()).to.equal('zbc');
    expect(copy!.toString()).to.equal('abc');
  });

  it('returns a view, not a copy, of a frame whose pieces lie end to end in one buffer (a large chunk handed on in slices)', function () {
    const body = Buffer.alloc(200 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const chunk = Buffer.concat([encodeFrame(body), encodeFrame(Buffer.from('next'))]);
    const deframer = new Deframer({ maxFrameBytes: 1024 * 1024 });
    const frames: Buffer[] = [];
    for (let at = 0; at < chunk.length; at += 64 * 1024) deframer.push(chunk.subarray(at, at + 64 * 1024), frames);
    expect(frames.map((f) => f.length)).to.deep.equal([body.length, 4]);
    expect(frames[0]!.equals(body)).to.equal(true);
    expect(frames[0]!.buffer, 'a view of the chunk').to.equal(chunk.buffer);
    // Pieces from separate buffers are joined into one of the frame's own.
    const split = new Deframer({ maxFrameBytes: 1024 * 1024 });
    const joined: Buffer[] = [];
    for (let at = 0; at < chunk.length; at += 64 * 1024) split.push(Buffer.from(chunk.subarray(at, at + 64 * 1024)), joined);
    expect(joined[0]!.equals(body)).to.equal(true);
    expect(joined[0]!.buffer).to.not.equal(chunk.buffer);
  });

  it('validates its options and its input', function () {
    expect(() => new Deframer({ maxFrameBytes: -1 })).to.throw(RangeError);
    expect(() => new Deframer({ maxFrameBytes: 2 ** 32 })).to.throw(RangeError);
    const d = new Deframer({ maxFrameBytes: 10 });
    expect(() => d.push('abc' as unknown as Uint8Array)).to.throw(NotBytesError);
    expect(d.failed).to.equal(true);
  });
});

describe('Message (what the user receives)', function () {
  const pm = new PathfindingMessage(mesh, 'whisper', 'sender-id', ['whisper', 'hello', Buffer.from([0xff])], [], 1469151333);

  it('exposes the payload with the subflag first', function () {
    const m = new Message(pm, null);
    expect(m.packets[0]!.toString()).to.equal('whisper');
    expect(m.text(1)).to.equal('hello');
    expect(m.text(9)).to.equal(undefined);
    expect(m.time).to.equal(1469151333);
    expect(m.time58).to.equal(pm.time58);
    expect(m.sender).to.equal('sender-id');
    expect(m.id).to.equal(pm.id);
    expect(m.protocol).to.equal(mesh);
  });

  it('reply() hands the packets to its server', async function () {
    const server: MessageServer = { replyTo: sinon.stub().resolves() };
    const m = new Message(pm, server);
    await m.reply('a', Buffer.from('b'));
    sinon.assert.calledOnceWithExactly(server.replyTo as sinon.SinonStub, m, ['a', Buffer.from('b')]);
  });

  it('reply() rejects clearly without a server', async function () {
    let err: unknown;
    await new Message(pm, null).reply('x').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/no server/);
  });
});

describe('py2p compatibility names', function () {
  it('exist in src/compat.ts and alias the TypeScript API', function () {
    expect(compat.to_base_58).to.equal(toBase58);
    expect(compat.from_base_58).to.equal(fromBase58);
    expect(compat.get_lan_ip).to.equal(getLanIp);
    expect(compat.pathfinding_message).to.equal(PathfindingMessage);
    expect(compat.message).to.equal(Message);
    expect(compat.protocol('mesh', 'Plaintext').id).to.equal(mesh.id);
    expect(compat.default_protocol).to.equal(default_protocol);
    for (const name of ['compression', 'compress', 'decompress', 'getUTC', 'intersect', 'base_58', 'user_salt', 'flags']) {
      expect(compat, name).to.have.property(name);
    }
    for (const name of ['__version__', 'version_info', 'protocol_version', 'node_policy_version', 'version']) {
      expect(compat, name).to.have.property(name);
    }
  });

  it('adds the classmethod names and the snake_case getters', function () {
    const wire = new PathfindingMessage(mesh, 'broadcast', 'me', ['x'], ['gzip'], 7).string;
    const msg = compat.pathfinding_message.feed_string(mesh, wire, false, ['gzip']);
    expect(msg.compression_used).to.equal('gzip');
    expect(msg.time_58).to.equal(msg.time58);
    expect(msg.msg_type).to.equal('broadcast');
    expect(msg.compression_fail).to.equal(false);
    msg.compression_fail = true;
    expect(msg.compressionFail).to.equal(true);
    expect(compat.pathfinding_message.sanitize_string(wire).length).to.equal(wire.length - 4);
    const [plain] = compat.pathfinding_message.decompress_string(wire.subarray(4), ['gzip']);
    expect(compat.pathfinding_message.process_string(plain).length).to.equal(5);
    expect(new Message(msg, null).time_58).to.equal(msg.time58);
  });

  it('src/protocol/index.ts re-exports them too', function () {
    expect(protocolApi.to_base_58).to.equal(toBase58);
    expect(protocolApi.pathfinding_message).to.equal(PathfindingMessage);
  });
});
