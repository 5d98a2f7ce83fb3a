// The browser MeshSocket and the Node one are two facades over one core
// (src/socket-core.ts): the same argument checks, the same send()/recv() plumbing. The
// browser socket is built here in Node (it needs no WebSocket until it dials).
import { expect } from 'chai';
import { InvalidArgumentError, MeshSocket, SocketClosedError } from '../../src/index.js';
import { BrowserMeshSocket } from '../../src/web/browser.js';

/** Arguments send() must refuse with InvalidArgumentError, before anything is sent. */
const BAD_SENDS: Array<{ what: string; args: unknown[] }> = [
  { what: 'a number packet', args: [42] },
  { what: 'an object packet before the options', args: [{ not: 'a packet' }, 'x', { type: 'broadcast' }] },
  { what: 'a non-string subflag', args: ['x', { type: 5 }] },
  { what: 'an empty subflag', args: ['x', { type: '' }] },
  { what: 'a non-string main flag', args: ['x', { flag: 7 }] },
  { what: 'an empty main flag', args: ['x', { flag: '' }] },
  { what: 'null', args: [null] },
];

describe('MeshSocket facades (Node and browser) over one core', function () {
  this.timeout(20_000);

  it('the browser socket\'s send() checks its arguments as the Node one does', async () => {
    const tab = new BrowserMeshSocket({ webSocket: () => { throw new Error('no dial here'); } });
    const node = await MeshSocket.create('127.0.0.1', 0);
    try {
      for (const { what, args } of BAD_SENDS) {
        const send = (s: { send(...a: never[]): boolean }) => () => s.send(...(args as never[]));
        expect(send(node), `Node: ${what}`).to.throw(InvalidArgumentError);
        expect(send(tab), `browser: ${what}`).to.throw(InvalidArgumentError);
      }
      // Good arguments, no peers: sent to nobody, both say the buffers are fine.
      expect(node.send('x', new Uint8Array([1]), { type: 'chat' })).to.equal(true);
      expect(tab.send('x', new Uint8Array([1]), { type: 'chat' })).to.equal(true);
      expect(() => node.whisper('someone', 3 as never), 'Node: whisper').to.throw(InvalidArgumentError);
      expect(() => tab.whisper('someone', 3 as never), 'browser: whisper').to.throw(InvalidArgumentError);
    } finally {
      await Promise.all([node.close(), tab.close()]);
    }
    expect(() => tab.send('late')).to.throw(SocketClosedError);
    expect(() => node.send('late')).to.throw(SocketClosedError);
    // recv() after close resolves at once, with nothing, on both.
    expect(await tab.recv()).to.equal(undefined);
    expect(await node.recv()).to.equal(undefined);
  });
});
