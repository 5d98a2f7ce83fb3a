// The router actor's mailbox: an input that arrives while another is being handled (a
// command, a send or a task issued from inside a handler) waits its turn and is handled
// after the current input completes, in order. No handler ever runs inside another.
import { expect } from 'chai';
import { NEVER } from 'rxjs';
import {
  flags, PathfindingMessage, Protocol, Router, type RouterComponent, type RouterState, type Transport,
} from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';

const protocol = new Protocol('mesh', 'Plaintext');
const options = resolveOptions({});

function message(text: string): PathfindingMessage {
  return new PathfindingMessage(protocol, flags.broadcast, 'a-peer', [flags.broadcast, text], [], options.clock());
}

/** Routers made by a test, closed after it (their housekeeping interval would keep the process alive). */
const made: Router[] = [];

/** A router with no transport to speak of, and one component whose verify stage runs `onVerify`. */
function routerWith(onVerify: (s: RouterState, msg: PathfindingMessage) => void): Router {
  const component: RouterComponent = {
    name: 'probe',
    start: (ctx) => {
      ctx.on.verify.push((s, msg) => {
        onVerify(s, msg);
        return true;
      });
    },
    stop: () => undefined,
  };
  const router = new Router({
    protocol, options, supported: [], id: () => 'this-node', outAddr: () => ['127.0.0.1', 1],
    transport: {} as Transport, accepted$: NEVER, notices$: NEVER,
    server: { replyTo: async () => undefined }, extensions: [component],
    deliver: () => undefined, emit: () => undefined, print: () => undefined,
  });
  made.push(router);
  return router;
}

describe('router actor mailbox', () => {
  afterEach(() => {
    for (const r of made.splice(0)) r.command({ type: 'close' });
  });

  it('handles a command issued inside a handler after the current input, in order, never nested', () => {
    const log: string[] = [];
    let depth = 0;
    let maxDepth = 0;
    const router: Router = routerWith((s, msg) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      const text = msg.payload[1]!.toString();
      log.push(`verify ${text}`);
      if (text === 'first') {
        // Re-entry attempts from inside the handler: a command, a task, a send.
        router.command({ type: 'waterfall', msg: message('second'), done: (isNew) => log.push(`second done ${isNew} at depth ${depth}`) });
        s.post(() => log.push(`task at depth ${depth}`));
        router.command({ type: 'waterfall', msg: message('third'), done: (isNew) => log.push(`third done ${isNew} at depth ${depth}`) });
      }
      log.push(`verify ${text} ends`);
      depth--;
    });
    router.command({ type: 'waterfall', msg: message('first'), done: (isNew) => log.push(`first done ${isNew}`) });
    expect(log).to.deep.equal([
      'verify first', 'verify first ends', 'first done true',
      'verify second', 'verify second ends', 'second done true at depth 0',
      'task at depth 0',
      'verify third', 'verify third ends', 'third done true at depth 0',
    ]);
    expect(maxDepth).to.equal(1);
  });

  it('drains what a queued input queues in turn, first in first out', () => {
    const order: number[] = [];
    const router: Router = routerWith((s, msg) => {
      if (msg.payload[1]!.toString() !== 'start') return;
      // A task that posts a task that posts a task: each after the one before completes.
      const chain = (n: number) => () => {
        order.push(n);
        if (n < 3) s.post(chain(n + 1));
        order.push(-n);
      };
      s.post(chain(1));
      s.post(() => order.push(10));
    });
    router.command({ type: 'waterfall', msg: message('start'), done: () => order.push(0) });
    expect(order).to.deep.equal([0, 1, -1, 10, 2, -2, 3, -3]);
  });

  it('a send issued inside a handler is handled after it (the seen-cache shows the order)', () => {
    let router!: Router;
    const seenDuring: number[] = [];
    router = routerWith((_s, msg) => {
      if (msg.payload[1]!.toString() !== 'trigger') return;
      router.broadcast(['from a handler'], flags.broadcast, flags.broadcast);
      // Queued: not handled yet, so not in the seen-cache yet.
      seenDuring.push(router.waterfalls.size);
    });
    router.command({ type: 'waterfall', msg: message('trigger'), done: () => undefined });
    expect(seenDuring).to.deep.equal([0]);
    // Once the trigger completed: the trigger, then this node's own broadcast.
    expect(router.waterfalls.size).to.equal(2);
  });
});
