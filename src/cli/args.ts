// Command-line arguments of the `rx2p` command: parsing and validation only (no I/O),
// so that every rule can be unit-tested.
import { parseArgs } from 'node:util';

export interface CliArgs {
  /** Address to bind. Default 127.0.0.1 (loopback only: nothing outside this machine can join). */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Peers to join, in order. */
  connect: Array<[string, number]>;
  /** py2p subnet: nodes with different subnets refuse each other. Default 'mesh'. */
  subnet: string;
  /** Use py2p's "SSL" encryption (self-signed, unauthenticated) instead of Plaintext. */
  ssl: boolean;
  /** Use the authenticated protocol (encryption 'Ed25519': node keys, proofs, signed broadcasts). */
  auth: boolean;
  /** --auth: the PEM file of this node's key (created, mode 0600, if missing). */
  identity: string | undefined;
  /** --auth: a file of node ids / PEM public keys admitted (the allow-list). */
  allow: string | undefined;
  /** --auth: a file holding the network key shared by the members. */
  networkKey: string | undefined;
  /** --network-key-new FILE: write a new network key (32 random bytes as hex, mode 0600) to FILE, which must not exist, and exit. */
  networkKeyNew?: string;
  /** Debug verbosity for the mesh socket (a line of level L prints to stderr when L < debug). */
  debug: number;
  /** One JSON object per line on stdout instead of human-readable text. */
  json: boolean;
  /** Texts to broadcast once a peer is connected. */
  send: string[];
  /** `--web [PORT]`: serve the live page and accept WebSocket peers on PORT (0: a free one); undefined: off. */
  web: number | undefined;
  /** `--web-origin ORIGIN` (repeatable): browser origins admitted besides the page's own. */
  webOrigins: string[];
  /** Do not read stdin: run until SIGINT/SIGTERM. */
  noStdin: boolean;
  /** Ask the first peers for the broadcasts of the last S seconds (the catchUpSeconds option). Default 0. */
  catchUp: number;
  /** `--data DIR`: keep the recent-message store and the ids seen in DIR (the dataDir option). */
  data: string | undefined;
  help: boolean;
  version: boolean;
}

/** A command line that cannot be used; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const usage = `Usage: rx2p [options]

A py2p 0.2 compatible mesh node. Each line typed is broadcast to the mesh;
each message received is printed with its sender and time.

Options:
  --host ADDR          address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N             port to bind (default: a free one)
  --connect HOST:PORT  join the node at HOST:PORT (repeatable; PORT alone means 127.0.0.1)
  --subnet NAME        py2p subnet (default "mesh"); nodes on other subnets are refused
  --ssl                encrypt with TLS (self-signed: no peer authentication)
  --auth               the authenticated protocol: TLS 1.3, Ed25519 node keys proven
                       in the handshake, every broadcast signed (not py2p compatible)
  --identity FILE      --auth: this node's key as PEM; created (mode 0600) if missing,
                       so the node keeps its id across restarts (default: a new key)
  --allow FILE         --auth: admit only the node ids / PEM public keys in FILE
  --network-key FILE   --auth: admit only nodes holding the secret in FILE
  --network-key-new FILE  write a new network key (32 random bytes) to FILE and exit
  --debug N            mesh debug verbosity, printed to stderr (default 0)
  --json               print one JSON object per line: messages and status
  --send TEXT          broadcast TEXT once a peer is connected (repeatable)
  --web [PORT]         serve a live page of the mesh on PORT (default: a free one);
                       browsers that open it join the mesh over WebSocket there
                       (Plaintext, subnet "mesh" only: what a browser speaks)
  --web-origin ORIGIN  --web: also admit pages from ORIGIN, e.g. https://mesh.example
                       (repeatable; default: the page's own origin only)
  --no-stdin           do not read stdin; run until SIGINT/SIGTERM
  --catch-up S         on start, get the broadcasts of the last S seconds from
                       rx2p peers (at most 60; default 0: no history, 60 with --data)
  --data DIR           keep recent messages and the ids already shown in DIR, so
                       that a restart shows nothing twice and catches up on what it
                       missed while down (see docs/persistence.md)
  -h, --help           print this help
  -v, --version        print the version

Commands (typed on stdin):
  /peers               list connected peers
  /whisper ID TEXT     send TEXT to one peer only (ID may be a unique prefix)
  /quit                leave (so do end of input, Ctrl-D, Ctrl-C and SIGTERM)
`;

/** Parses "host:port", "[v6]:port" or "port" (meaning 127.0.0.1). */
export function parseHostPort(text: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--connect needs HOST:PORT, got ${JSON.stringify(text)}`);
  const host = m[1] || m[2] || '127.0.0.1';
  return [host, parsePort(m[3]!, '--connect', 1)];
}

function parsePort(text: string, flag: string, min = 0): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= 65535)) throw new UsageError(`${flag} needs a port ${min}..65535, got ${JSON.stringify(text)}`);
  return n;
}

/** node:util parseArgs over the command's options; its own errors (unknown option, missing value) are usage errors too. */
function parseOptions(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '0' },
        connect: { type: 'string', multiple: true, default: [] },
        subnet: { type: 'string', default: 'mesh' },
        ssl: { type: 'boolean', default: false },
        auth: { type: 'boolean', default: false },
        identity: { type: 'string' },
        allow: { type: 'string' },
        'network-key': { type: 'string' },
        'network-key-new': { type: 'string' },
        debug: { type: 'string', default: '0' },
        json: { type: 'boolean', default: false },
        send: { type: 'string', multiple: true, default: [] },
        'no-stdin': { type: 'boolean', default: false },
        web: { type: 'string' },
        'web-origin': { type: 'string', multiple: true, default: [] },
        'catch-up': { type: 'string' },
        data: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Parses argv (without node and script). Throws UsageError on anything it cannot use. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  // --web takes an optional port: without one (last, or before another option) it is 0.
  argv = argv.flatMap((a, i) => (a === '--web' && (i === argv.length - 1 || argv[i + 1]!.startsWith('-')) ? [a, '0'] : [a]));
  const { values } = parseOptions(argv);
  if (!values.host) throw new UsageError('--host needs an address');
  if (values.ssl && values.auth) throw new UsageError('--ssl and --auth are two different protocols: give one');
  for (const flag of ['identity', 'allow', 'network-key'] as const) {
    if (values[flag] !== undefined && !values.auth) throw new UsageError(`--${flag} needs --auth`);
    if (values[flag] === '') throw new UsageError(`--${flag} needs a file name`);
  }
  if (values.web !== undefined) {
    // The page's node speaks py2p Plaintext on subnet "mesh": a node on another protocol would refuse it.
    const other = values.ssl ? '--ssl' : values.auth ? '--auth' : values.subnet !== 'mesh' ? `--subnet ${values.subnet}` : undefined;
    if (other) throw new UsageError(`--web needs Plaintext on subnet "mesh": a browser cannot join a node with ${other}`);
  }
  for (const o of values['web-origin']) {
    if (values.web === undefined) throw new UsageError('--web-origin needs --web');
    if (!/^https?:\/\/[^/\s]+$/.test(o)) throw new UsageError(`--web-origin needs an origin such as https://mesh.example, got ${JSON.stringify(o)}`);
  }
  const debug = /^\d+$/.test(values.debug) ? Number(values.debug) : NaN;
  if (!Number.isSafeInteger(debug)) throw new UsageError(`--debug needs a whole number, got ${JSON.stringify(values.debug)}`);
  if (values.data === '') throw new UsageError('--data needs a directory name');
  // With a data directory the node catches up by default: on what it missed while down.
  const catchUpText = values['catch-up'] ?? (values.data !== undefined ? '60' : '0');
  const catchUp = /^\d+$/.test(catchUpText) ? Number(catchUpText) : NaN;
  if (!Number.isSafeInteger(catchUp) || catchUp > 60) throw new UsageError(`--catch-up needs a whole number of seconds up to 60, got ${JSON.stringify(values['catch-up'])}`);
  return {
    host: values.host,
    port: parsePort(values.port, '--port'),
    connect: values.connect.map(parseHostPort),
    subnet: values.subnet,
    ssl: values.ssl,
    auth: values.auth,
    identity: values.identity,
    allow: values.allow,
    networkKey: values['network-key'],
    ...(values['network-key-new'] !== undefined ? { networkKeyNew: values['network-key-new'] } : {}),
    debug,
    json: values.json,
    send: values.send,
    noStdin: values['no-stdin'],
    web: values.web === undefined ? undefined : parsePort(values.web, '--web'),
    webOrigins: values['web-origin'],
    catchUp,
    data: values.data,
    help: values.help,
    version: values.version,
  };
}

/** What the join line writes for a secret the joiner must supply from its own copy. */
export const NETWORK_KEY_PLACEHOLDER = 'NETWORK_KEY_FILE';

/**
 * The command line another node runs to join this one: same subnet and encryption, and
 * with --network-key a placeholder for the joiner's copy of the key file (never the path
 * or the secret itself).
 */
export function joinCommand(prefix: string, addr: readonly [string, number], args: Pick<CliArgs, 'subnet' | 'ssl'> & Partial<Pick<CliArgs, 'auth' | 'networkKey'>>): string {
  const host = addr[0].includes(':') ? `[${addr[0]}]` : addr[0];
  const parts = [prefix, '--connect', `${host}:${addr[1]}`];
  if (args.subnet !== 'mesh') parts.push('--subnet', shellQuote(args.subnet));
  if (args.ssl) parts.push('--ssl');
  if (args.auth) parts.push('--auth');
  if (args.auth && args.networkKey !== undefined) parts.push('--network-key', NETWORK_KEY_PLACEHOLDER);
  return parts.join(' ');
}

function shellQuote(s: string): string {
  return /^[\w.,@%+=:/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
