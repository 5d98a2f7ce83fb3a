import { expect } from 'chai';
import { Message, PathfindingMessage, Protocol } from '../src/index.js';
import { RecvQueue } from '../src/recv-queue.js';

const protocol = new Protocol('mesh', 'Plaintext');
const msg = (body: string | number) =>
  new Message(new PathfindingMessage(protocol, 'broadcast', 'S', ['broadcast', typeof body === 'number' ? Buffer.alloc(body) : body], [], 1), null);
const bodies = (q: RecvQueue) => q.toArray().map((m) => m.packets[1]!.toString());

describe('RecvQueue', () => {
  it('drops the oldest past maxCount and counts it', () => {
    const q = new RecvQueue(3, 1 << 20, 'drop-oldest');
    for (const b of ['a', 'b', 'c', 'd', 'e']) q.push(msg(b));
    expect(bodies(q)).to.deep.equal(['c', 'd', 'e']);
    expect(q.dropped).to.equal(2);
  });

  it('refuses the newest past maxCount under drop-newest', () => {
    const q = new RecvQueue(2, 1 << 20, 'drop-newest');
    for (const b of ['a', 'b', 'c']) q.push(msg(b));
    expect(bodies(q)).to.deep.equal(['a', 'b']);
    expect(q.dropped).to.equal(1);
  });

  it('keeps the payload bytes under maxBytes, dropping the oldest first', () => {
    const q = new RecvQueue(1000, 25_000, 'drop-oldest');
    for (let i = 0; i < 10; i++) q.push(msg(10_000));
    expect(q.length).to.equal(2);
    expect(q.bytes).to.be.at.most(25_000);
    q.push(msg(100_000)); // larger than the bound alone: queued by itself
    expect(q.length).to.equal(1);
    expect(q.take(5)).to.have.length(1);
    expect(q.bytes).to.equal(0);
  });

  it('lets a waiting recv(n) collect n messages past the bounds', () => {
    const q = new RecvQueue(2, 1 << 20, 'drop-oldest');
    for (const b of ['a', 'b', 'c', 'd']) q.push(msg(b), 4);
    expect(bodies(q)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('stays bounded in memory over a long run without consumers', () => {
    const q = new RecvQueue(100, 1 << 20, 'drop-oldest');
    for (let i = 0; i < 100_000; i++) q.push(msg(`m${i}`));
    expect(q.length).to.equal(100);
    expect((q as unknown as { items: unknown[] }).items.length).to.be.at.most(200);
    expect(bodies(q)[0]).to.equal('m99900');
  });
});
