#!/usr/bin/env node
// The `rx2p` command: one mesh node on the terminal. Lines typed are broadcast,
// messages received are printed; `--json` makes it a line-oriented tool for scripts.
import * as readline from 'node:readline';
import { readFileSync } from 'node:fs';
import { filter, firstValueFrom, map, merge, Subject, take } from 'rxjs';
import { MeshSocket } from '../mesh.js';
import { Protocol } from '../protocol/protocol.js';
import { __version__ } from '../protocol/constants.js';
import { joinCommand, NETWORK_KEY_PLACEHOLDER, parseCliArgs, usage, UsageError, type CliArgs } from './args.js';
import { resolveOptions, type MeshOptions } from '../options.js';
import { ConnectError, InvalidArgumentError } from '../errors.js';
import { AUTH_ENCRYPTION } from '../trust/protocol.js';
import { createSecretFile, identityFromFile, readSecretFile } from '../trust/identity.js';
import { networkKeyBytes, newNetworkKeyText } from '../trust/network-key.js';
import { parseAllowFile } from '../trust/admission.js';
import { formatMessage, messageRecord, safeText, shortId } from './format.js';

/** How a user runs this command again: from a checkout (`npm start`) or installed. */
const selfCommand = import.meta.url.endsWith('.ts') ? 'npm start --' : 'npx rx2p';
/** After close, anything still holding the event loop is a bug: leave anyway. */
const EXIT_GRACE_MS = 500;
/** Node ids are base_58 of SHA-384 (about 65 characters); anything shorter is a prefix. */
const MIN_FULL_ID = 60;
/** At most this long is spent pushing unsent bytes to peers before closing. */
const FLUSH_DEADLINE_MS = 2000;
/** A --connect target that cannot be reached is dialled again after this long, doubling per failure… */
const CONNECT_RETRY_FIRST_MS = 250;
/** …up to this long between attempts, until it is connected (or the node closes). */
const CONNECT_RETRY_MAX_MS = 2000;

/** A failure of one of the command's inputs, named by what failed (a flag and its value). */
class InputError extends Error {
  constructor(readonly context: string, readonly error: unknown) {
    super(context);
  }
}

/** Runs read(), naming `context` as what failed if it throws. */
function reading<T>(context: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new InputError(context, err);
  }
}

type OutputRecord = { readonly type: string };

/**
 * --identity, --allow, --network-key: the authenticated protocol's options, read from
 * their files and checked as the socket will check them, so that an error names the flag
 * and file at fault (InputError) rather than the listen that would fail on it.
 */
function trustOptions(args: CliArgs): MeshOptions {
  const o: MeshOptions = {};
  if (args.identity !== undefined) {
    const file = args.identity;
    o.identity = reading(`--identity ${file}`, () => identityFromFile(file).privateKey);
  }
  if (args.allow !== undefined) {
    const file = args.allow;
    o.allow = reading(`--allow ${file}`, () => {
      const entries = parseAllowFile(readFileSync(file, 'utf8'));
      resolveOptions({ allow: entries }); // an entry that is neither an id nor a key throws here
      return entries;
    });
  }
  if (args.networkKey !== undefined) {
    const file = args.networkKey;
    o.networkKey = reading(`--network-key ${file}`, () => {
      // Held to the identity file's rules (regular file, mode 0600); its hex text (what
      // --network-key-new writes) or its raw bytes, checked by the networkKey option.
      const bytes = readSecretFile(file, 'network key file');
      if (bytes === undefined) throw new InvalidArgumentError(`network key file ${file} does not exist (rx2p --network-key-new ${file} writes one)`);
      return networkKeyBytes(bytes);
    });
  }
  return o;
}

async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`rx2p: ${err.message}\nRun rx2p --help for the options.\n`);
    return 2;
  }
  if (args.help || args.version) {
    process.stdout.write(args.help ? usage : `rx2p ${__version__}\n`);
    return 0;
  }
  if (args.networkKeyNew !== undefined) {
    try {
      if (!createSecretFile(args.networkKeyNew, newNetworkKeyText())) throw new InvalidArgumentError(`${args.networkKeyNew} exists: a network key is never overwritten`);
    } catch (err) {
      process.stderr.write(`rx2p: ${(err as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`rx2p: wrote a new network key to ${args.networkKeyNew} (mode 0600); give it to each member with --network-key\n`);
    return 0;
  }

  // --json: every line on stdout is one JSON object; otherwise text, errors on stderr.
  const say = <R extends OutputRecord>(record: R, text: string): void => {
    process.stdout.write(`${args.json ? JSON.stringify(record) : text}\n`);
  };
  const warn = <R extends OutputRecord>(record: R, text: string): void => {
    if (args.json) say(record, text);
    else process.stderr.write(`${text}\n`);
  };
  const failure = (err: unknown, context: string) => {
    const e = err instanceof Error ? err : new Error(String(err));
    // Error messages and contexts may quote what a peer sent (an id, a flag): made safe.
    warn({ type: 'error', context, code: (e as { code?: string }).code ?? e.name, message: e.message }, `rx2p: ${safeText(context)}: ${safeText(e.message)}`);
  };

  // Handlers go in first: a SIGTERM that arrives as soon as the banner is out must still
  // close the node cleanly. One that arrives even earlier is acted on once the node exists.
  let early: NodeJS.Signals | undefined;
  let onSignal = (signal: NodeJS.Signals) => { early ??= signal; };
  let signals = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (++signals > 1) process.exit(1); // a second signal: leave now
      onSignal(signal);
    });
  }

  const protocol = new Protocol(args.subnet, args.auth ? AUTH_ENCRYPTION : args.ssl ? 'SSL' : 'Plaintext');
  let trust: MeshOptions;
  try {
    trust = trustOptions(args);
  } catch (err) {
    if (err instanceof InputError) failure(err.error, err.context);
    else failure(err, 'cannot read the authentication files');
    return 1;
  }
  let node: MeshSocket;
  let webUrl: string | undefined;
  try {
    let served: MeshSocket | undefined;
    // --web: the page and WebSocket peers on one port (the page's script joins there).
    const webSocket = args.web === undefined ? undefined : {
      port: args.web,
      origins: args.webOrigins,
      onRequest: await (await import('../web/server.js')).webPage(() => served),
    };
    node = served = await MeshSocket.create(args.host, args.port, {
      protocol, debugLevel: args.debug, ...trust, webSocket, catchUpSeconds: args.catchUp,
      // The command never calls recv(): it keeps at most one message for it.
      maxQueue: 1,
      ...(args.data !== undefined ? { dataDir: args.data } : {}),
    });
    if (node.webSocketPort !== undefined) {
      const h = args.host === '0.0.0.0' ? '127.0.0.1' : args.host.includes(':') ? `[${args.host}]` : args.host;
      webUrl = `http://${h}:${node.webSocketPort}/`;
    }
  } catch (err) {
    // A busy --web port is the page's listener failing, not the node's.
    const webFailed = args.web !== undefined && args.web !== 0 && args.web !== args.port && (err as { port?: unknown }).port === args.web;
    failure(err, webFailed ? `cannot serve the live page (--web) on ${args.host}:${args.web}` : `cannot listen on ${args.host}:${args.port}`);
    return 1;
  }

  const [host, port] = node.outAddr;
  const join = joinCommand(selfCommand, node.outAddr, args);
  say(
    { type: 'listening', id: node.id, host, port, subnet: protocol.subnet, encryption: protocol.encryption, join, ...(webUrl ? { web: webUrl } : {}) },
    [
      `rx2p node ${node.id}`,
      `listening on ${host}:${port} (subnet "${protocol.subnet}", ${protocol.encryption})`,
      `join it from another terminal with:\n  ${join}`,
      ...(join.includes(NETWORK_KEY_PLACEHOLDER) ? [`  (${NETWORK_KEY_PLACEHOLDER}: the joiner's copy of this node's --network-key file)`] : []),
      ...(webUrl ? [`live page (browsers join the mesh there): ${webUrl}`] : []),
      ...(args.noStdin ? [] : ['type a line to broadcast it; /peers, /whisper ID TEXT, /quit']),
    ].join('\n'),
  );

  node.messages$.subscribe((m) => {
    const r = messageRecord(m);
    say(r, formatMessage(r));
  });
  node.events$.subscribe((e) => {
    if (e.type === 'error') return failure(e.error, e.peer ? `peer ${e.peer}` : 'mesh');
    if (e.type === 'repair') return say({ ...e }, `repair with ${e.peer}: ${e.received} missed broadcast(s) received, ${e.sent} sent`);
    const verb = e.type === 'peer-connected' ? 'connected to' : 'disconnected from';
    const addr = e.addr ? `${e.addr[0]}:${e.addr[1]}` : 'unknown address';
    say({ ...e }, `${verb} ${safeText(e.id)} at ${safeText(addr)} (${e.outgoing ? 'outgoing' : 'incoming'})`);
  });

  const broadcast = (text: string) => {
    node.send(text);
    const peers = node.routing_table.size;
    say({ type: 'sent', text, peers }, peers ? `(sent to ${peers} peer${peers > 1 ? 's' : ''})` : '(no peers connected: nobody received this)');
  };

  // --connect: all at once; --send waits for them, then for a first peer. A target that
  // cannot be reached (ConnectError: refused, unknown host, …) is dialled again with
  // backoff until it is connected: B started before A joins A once A is up. `connects`
  // settles with the first attempts; the retries go on behind it.
  let retrying = true;
  const retryTimers = new Set<NodeJS.Timeout>();
  const connectUntilConnected = (h: string, p: number): Promise<void> => new Promise<void>((firstSettled) => {
    let attempt = 0;
    const tryOnce = () => {
      attempt++;
      node.connect(h, p).then(() => firstSettled(), (err: unknown) => {
        firstSettled();
        if (!retrying) return;
        if (!(err instanceof ConnectError)) return failure(err, `cannot connect to ${h}:${p}`);
        const delayMs = Math.min(CONNECT_RETRY_FIRST_MS * 2 ** (attempt - 1), CONNECT_RETRY_MAX_MS);
        // Said on attempts 1, 2, 4, 8, …: a node waiting an hour for its peer prints a dozen lines, not 1,800.
        if ((attempt & (attempt - 1)) === 0) {
          const code = err.syscallCode ?? err.code;
          say(
            { type: 'connect-retry', host: h, port: p, attempt, delayMs, code, message: err.message },
            `cannot connect to ${safeText(`${h}:${p}`)} (${safeText(code)}, attempt ${attempt}): trying again in ${delayMs} ms, and on until connected`,
          );
        }
        const timer = setTimeout(() => {
          retryTimers.delete(timer);
          if (retrying) tryOnce();
        }, delayMs);
        retryTimers.add(timer);
      });
    };
    tryOnce();
  });
  const stopRetrying = () => {
    retrying = false;
    for (const t of retryTimers) clearTimeout(t);
    retryTimers.clear();
  };
  const connects = Promise.allSettled(args.connect.map(([h, p]) => connectUntilConnected(h, p)));
  const giveUp$ = new Subject<void>();
  let sendFailed = false;
  const sends = args.send.length === 0 ? Promise.resolve() : (async () => {
    await connects;
    const peer$ = node.events$.pipe(filter((e) => e.type === 'peer-connected'), map(() => true));
    const ready = node.routing_table.size > 0
      || await firstValueFrom(merge(peer$, giveUp$.pipe(map(() => false))).pipe(take(1)), { defaultValue: false });
    if (!ready) {
      sendFailed = true; // a script must be able to tell that its message went nowhere
      return warn({ type: 'error', context: 'send', code: 'ERR_NO_PEERS', message: 'no peer connected; --send not sent' }, 'rx2p: no peer connected; --send not sent');
    }
    for (const text of args.send) broadcast(text);
  })();

  let rl: readline.Interface | undefined;
  let closing: Promise<void> | undefined;
  let reading = true; // after /quit or a signal, later lines are ignored
  const whispers = new Set<Promise<void>>();
  // Lines are handled in order, and only once the --connect attempts are settled, so
  // that `echo hi | rx2p --connect ...` sends "hi" to the peer rather than to nobody.
  let input: Promise<void> = connects.then(() => undefined);

  // A signal cuts short a graceful close (end of input, /quit) that is still waiting.
  let hurry = () => {};
  const hurried = new Promise<void>((r) => { hurry = r; });
  const unlessHurried = (p: Promise<unknown>) => Promise.race([p, hurried]);

  const shutdown = (why: string): Promise<void> => {
    closing ??= (async () => {
      await unlessHurried(input.then(() => connects));
      stopRetrying();
      if (node.routing_table.size === 0) giveUp$.next();
      await unlessHurried(Promise.race([Promise.allSettled(whispers), delay(FLUSH_DEADLINE_MS)]));
      await unlessHurried(sends);
      await flushed(node);
      await node.close();
      rl?.close(); // releases stdin; its 'close' event finds `closing` set
      say({ type: 'closed', reason: why }, `closed (${why})`);
      process.exitCode = sendFailed ? 1 : 0;
      // Leave by process.exit once stdout and stderr have taken the last lines, not when the
      // event loop drains: on a natural exit Node closes its signal handlers first, and a
      // second SIGTERM arriving in that window ended the process by the signal (3 runs in 15)
      // instead of exiting 1.
      process.stdout.write('', () => process.stderr.write('', () => process.exit()));
      setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
    })();
    return closing;
  };

  onSignal = (signal) => {
    reading = false;
    giveUp$.next();
    hurry();
    void shutdown(signal);
  };
  if (early) onSignal(early);

  const onLine = (line: string): void => {
    const text = line.trim();
    if (text === '' || !reading) return;
    if (!text.startsWith('/')) return broadcast(line);
    const [command, target, ...rest] = text.split(/\s+/);
    switch (command) {
      case '/peers': {
        const peers = [...node.routing_table].map(([id, c]) => ({ id, addr: c.addr, outgoing: c.outgoing }));
        const lines = peers.map((p) => `  ${safeText(p.id)}  ${p.addr ? safeText(`${p.addr[0]}:${p.addr[1]}`) : '?'}  ${p.outgoing ? 'outgoing' : 'incoming'}`);
        return say({ type: 'peers', peers }, peers.length ? `${peers.length} peer(s):\n${lines.join('\n')}` : 'no peers connected');
      }
      case '/whisper': {
        if (!target || rest.length === 0) return warn({ type: 'error', context: 'whisper', code: 'ERR_USAGE', message: 'usage: /whisper ID TEXT' }, 'usage: /whisper ID TEXT');
        // A unique prefix of a connected peer's id will do. A full id of a node not
        // connected goes through py2p's request/response route.
        const matches = [...node.routing_table.keys()].filter((id) => id.startsWith(target));
        if (matches.length !== 1 && target.length < MIN_FULL_ID) {
          const why = matches.length ? `${matches.length} peers' ids start with ${target}` : `no connected peer's id starts with ${target}`;
          return warn({ type: 'error', context: 'whisper', code: 'ERR_NO_SUCH_PEER', message: why }, `rx2p: ${why}`);
        }
        const id = matches.length === 1 ? matches[0]! : target;
        const body = text.slice(text.indexOf(target) + target.length).trim();
        const done = node.whisper(id, body).then(
          () => void say({ type: 'whispered', to: id, text: body }, `(whispered to ${shortId(id)})`),
          (err: unknown) => failure(err, `whisper to ${shortId(id)}`),
        );
        whispers.add(done);
        void done.finally(() => whispers.delete(done));
        return;
      }
      case '/quit':
        reading = false;
        return void shutdown('quit');
      default:
        return warn({ type: 'error', context: 'command', code: 'ERR_USAGE', message: `unknown command ${command}` }, `unknown command ${command}; try /peers, /whisper ID TEXT, /quit`);
    }
  };

  if (args.noStdin) return 0;
  rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    input = input.then(() => onLine(line));
  });
  // End of input: lines and --send texts still pending go out before the node closes.
  rl.on('close', () => void shutdown('end of input'));
  return 0;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Resolves once every peer's unsent bytes have reached the kernel, or at the deadline. */
async function flushed(node: MeshSocket): Promise<void> {
  const deadline = Date.now() + FLUSH_DEADLINE_MS;
  await new Promise((r) => setImmediate(r)); // writes of this tick are corked until the next
  while ([...node.routing_table.values()].some((c) => c.backlog > 0) && Date.now() < deadline) await delay(10);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode ??= code; // a node that closed already has set its own
  },
  (err: unknown) => {
    process.stderr.write(`rx2p: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
