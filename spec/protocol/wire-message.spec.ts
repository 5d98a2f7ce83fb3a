import { expect } from 'chai';
import { PathfindingMessage, Protocol, decompress, flags, toBase58 } from '../../src/index.js';

// A message parsed from the wire reads its packets from the body when asked, and is
// passed on without being serialized again. These check that it is the same message.
const protocol = new Protocol('mesh', 'Plaintext');
const sender = toBase58(Buffer.alloc(48, 9));
const payload = [flags.broadcast, Buffer.from('hello, mesh'), Buffer.alloc(0), Buffer.alloc(300, 7)];
const built = () => new PathfindingMessage(protocol, flags.broadcast, sender, payload, [], 1_700_000_000);
const parsed = (m: PathfindingMessage) => PathfindingMessage.feedString(protocol, m.string);

describe('PathfindingMessage parsed from the wire', function () {
  it('has the packets, time, id and keys of the message it was built from', function () {
    const a = built();
    const b = parsed(a);
    expect(b.msgType).to.equal(a.msgType);
    expect(b.sender).to.equal(a.sender);
    expect(b.payload.map((p) => p.toString('hex'))).to.deep.equal(a.payload.map((p) => p.toString('hex')));
    expect(b.time).to.equal(a.time);
    expect(b.timeNumber).to.equal(1_700_000_000);
    expect(b.time58).to.equal(a.time58);
    expect(b.idKey).to.equal(a.idKey);
    expect(b.id).to.equal(a.id);
    expect(b.contentKey).to.equal(a.contentKey);
    expect(b.payloadBytes).to.equal(a.payloadBytes);
    expect(b.subflag).to.equal(flags.broadcast);
    expect(b.string.equals(a.string)).to.equal(true);
  });

  it('keys content on sender and packets: not on type, time or id, but on how the bytes are split', function () {
    const a = built();
    const later = new PathfindingMessage(protocol, flags.waterfall, sender, payload, [], 1_700_000_007);
    expect(parsed(later).contentKey).to.equal(a.contentKey);
    expect(parsed(later).idKey).to.not.equal(a.idKey);
    const resplit = new PathfindingMessage(protocol, flags.broadcast, sender, [flags.broadcast, Buffer.from('hello,'), Buffer.from(' mesh'), Buffer.alloc(300, 7)], [], 1_700_000_000);
    expect(resplit.contentKey).to.not.equal(a.contentKey);
    const other = new PathfindingMessage(protocol, flags.broadcast, toBase58(Buffer.alloc(48, 8)), payload, [], 1_700_000_000);
    expect(other.contentKey).to.not.equal(a.contentKey);
  });

  it('relays as the frame a rebuilt message would be, with only the type changed', function () {
    const a = parsed(built());
    const rebuilt = PathfindingMessage.fromParts({ protocol, msgType: flags.waterfall, sender, payload, time: 1_700_000_000 }).string;
    expect(a.relay(flags.waterfall, null).equals(rebuilt)).to.equal(true);
    // The received message is untouched by the relay.
    expect(a.msgType).to.equal(flags.broadcast);
    expect(a.msgTypeBytes.toString()).to.equal(flags.broadcast);
    const zipped = a.relay(flags.waterfall, 'gzip');
    expect(zipped.readUInt32BE(0)).to.equal(zipped.length - 4);
    expect(decompress(zipped.subarray(4), 'gzip').equals(rebuilt.subarray(4))).to.equal(true);
  });

  it('relays a time packet with leading "1"s re-encoded, as py2p would send it', function () {
    const a = built();
    const packets = a.packets.slice();
    packets[3] = Buffer.from('11' + a.time58);
    const body = Buffer.concat([...packets.map((p) => { const h = Buffer.alloc(4); h.writeUInt32BE(p.length); return h; }), ...packets]);
    const m = PathfindingMessage.feedString(protocol, body, true);
    expect(m.time).to.equal(a.time);
    expect(m.idKey).to.equal(a.idKey);
    expect(m.relay(flags.broadcast, null).equals(a.string)).to.equal(true);
  });

  it('passes on the id packet as received (every node recomputes it)', function () {
    const a = built();
    const packets = a.packets.slice();
    packets[2] = Buffer.from('not-the-id');
    const body = Buffer.concat([...packets.map((p) => { const h = Buffer.alloc(4); h.writeUInt32BE(p.length); return h; }), ...packets]);
    const m = PathfindingMessage.feedString(protocol, body, true);
    expect(m.id).to.equal(a.id);
    const relayed = PathfindingMessage.feedString(protocol, m.relay(flags.waterfall, null));
    expect(relayed.id).to.equal(a.id);
    expect(relayed.packets[2]!.toString()).to.equal(a.id);
  });

  it('compacted() copies a message out of a large chunk, keeping what it computed', function () {
    const a = built();
    const chunk = Buffer.alloc(64 * 1024);
    a.string.copy(chunk, 1000);
    const m = PathfindingMessage.feedString(protocol, chunk.subarray(1000, 1000 + a.string.length));
    const key = m.idKey;
    const c = m.compacted();
    expect(c).to.not.equal(m);
    expect(c.payload[0]!.buffer).to.not.equal(chunk.buffer);
    expect(c.idKey).to.equal(key);
    expect(c.id).to.equal(a.id);
    expect(c.payload.map((p) => p.toString('hex'))).to.deep.equal(a.payload.map((p) => p.toString('hex')));
    chunk.fill(0);
    expect(c.payload[1]!.toString()).to.equal('hello, mesh');
    // A message that owns its bytes already is returned as it is.
    expect(parsed(a).compacted().compacted()).to.be.an.instanceOf(PathfindingMessage);
  });

  it('relayAndCompact() gives the plain relay frame and the message over its bytes, keeping its own type', function () {
    const a = built();
    const chunk = Buffer.alloc(64 * 1024);
    a.string.copy(chunk, 1000);
    const m = PathfindingMessage.feedString(protocol, chunk.subarray(1000, 1000 + a.string.length));
    const shared = m.relayAndCompact(flags.waterfall)!;
    expect(shared.frame.equals(m.relay(flags.waterfall, null))).to.equal(true);
    const c = shared.message;
    expect(c.payload[1]!.buffer).to.equal(shared.frame.buffer);
    chunk.fill(0);
    expect(c.msgType).to.equal(flags.broadcast);
    expect(c.msgTypeBytes.toString()).to.equal(flags.broadcast);
    expect(c.packets.map((p) => p.toString('hex'))).to.deep.equal(a.packets.map((p) => p.toString('hex')));
    expect(c.string.equals(a.string)).to.equal(true);
    expect(c.relay(flags.broadcast, null).equals(a.string)).to.equal(true);
    expect(c.id).to.equal(a.id);
    expect(c.dedupKey).to.equal(a.dedupKey);
    // Copies of it keep the type too.
    expect(c.compacted().msgType).to.equal(flags.broadcast);
    expect(c.withCompressions(['gzip']).msgType).to.equal(flags.broadcast);
    expect(PathfindingMessage.feedString(protocol, c.withCompressions(['gzip']).string, false, ['gzip']).msgType).to.equal(flags.broadcast);
    // relayPieces() is the same frame in two pieces, the second a view of the body.
    const again = PathfindingMessage.feedString(protocol, a.string);
    const pieces = again.relayPieces(flags.waterfall)!;
    expect(Buffer.concat(pieces).equals(again.relay(flags.waterfall, null))).to.equal(true);
    expect(pieces[1].buffer).to.equal(a.string.buffer);
    expect(built().relayPieces(flags.waterfall)).to.equal(undefined);
    // Not for a message that relay() would rebuild.
    expect(built().relayAndCompact(flags.waterfall)).to.equal(undefined);
    expect(parsed(a).relayAndCompact('whisper')).to.equal(undefined);
  });
});
