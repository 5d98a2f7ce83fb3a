import { expect } from 'chai';
import { joinCommand, parseCliArgs, parseHostPort, UsageError } from '../../src/cli/args.js';

describe('rx2p command arguments', () => {
  it('defaults to loopback, a free port, subnet mesh, Plaintext and interactive text', () => {
    expect(parseCliArgs([])).to.deep.equal({
      host: '127.0.0.1', port: 0, connect: [], subnet: 'mesh', ssl: false, auth: false,
      identity: undefined, allow: undefined, networkKey: undefined, debug: 0, web: undefined, webOrigins: [],
      json: false, send: [], noStdin: false, catchUp: 0, data: undefined, help: false, version: false,
    });
  });

  it('reads --data DIR and then catches up by default (60 s), unless --catch-up says otherwise', () => {
    expect(parseCliArgs(['--data', 'd'])).to.deep.include({ data: 'd', catchUp: 60 });
    expect(parseCliArgs(['--data', 'd', '--catch-up', '0'])).to.deep.include({ data: 'd', catchUp: 0 });
    expect(() => parseCliArgs(['--data', ''])).to.throw(UsageError, /--data/);
  });

  it('reads every option, --connect and --send repeatable', () => {
    const a = parseCliArgs([
      '--host', '0.0.0.0', '--port', '4444', '--connect', '10.0.0.2:4444', '--connect', '[::1]:5555', '--connect', '6666',
      '--subnet', 'lab', '--ssl', '--debug', '3', '--json', '--send', 'one', '--send', 'two', '--no-stdin', '--catch-up', '30',
    ]);
    expect(a).to.deep.include({ host: '0.0.0.0', port: 4444, subnet: 'lab', ssl: true, debug: 3, json: true, noStdin: true, catchUp: 30 });
    expect(a.connect).to.deep.equal([['10.0.0.2', 4444], ['::1', 5555], ['127.0.0.1', 6666]]);
    expect(a.send).to.deep.equal(['one', 'two']);
  });

  it('reads the authenticated protocol\'s --auth, --identity, --allow and --network-key', () => {
    expect(parseCliArgs(['--auth', '--identity', 'me.pem', '--allow', 'ids.txt', '--network-key', 'k'])).to.deep.include({
      auth: true, ssl: false, identity: 'me.pem', allow: 'ids.txt', networkKey: 'k',
    });
    expect(joinCommand('rx2p', ['127.0.0.1', 1], { subnet: 'mesh', ssl: false, auth: true })).to.equal('rx2p --connect 127.0.0.1:1 --auth');
  });

  it('accepts --opt=value and the short -h and -v', () => {
    expect(parseCliArgs(['--port=5000', '-h', '-v'])).to.deep.include({ port: 5000, help: true, version: true });
  });

  for (const [argv, why] of [
    [['--port', '65536'], /--port needs a port 0..65535/],
    [['--port', '12ab'], /--port needs a port/],
    [['--connect', 'host'], /--connect needs HOST:PORT/],
    [['--connect', 'h:0'], /--connect needs a port 1..65535/],
    [['--debug=-1'], /--debug needs a whole number/],
    [['--debug', 'x'], /--debug needs a whole number/],
    [['--host', ''], /--host needs an address/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--port'], /argument missing|--port/],
    [['stray'], /positional|stray/],
    [['--ssl', '--auth'], /--ssl and --auth/],
    [['--identity', 'k.pem'], /--identity needs --auth/],
    [['--auth', '--allow='], /--allow needs a file name/],
  ] as Array<[string[], RegExp]>) {
    it(`refuses ${JSON.stringify(argv)} with a UsageError`, () => {
      expect(() => parseCliArgs(argv)).to.throw(UsageError, why);
    });
  }

  it('parses host:port forms', () => {
    expect(parseHostPort('example.org:1')).to.deep.equal(['example.org', 1]);
    expect(parseHostPort('[fe80::1]:80')).to.deep.equal(['fe80::1', 80]);
  });

  it('builds the join command with what the joining node must match', () => {
    expect(joinCommand('npm start --', ['127.0.0.1', 4444], { subnet: 'mesh', ssl: false })).to.equal('npm start -- --connect 127.0.0.1:4444');
    expect(joinCommand('npx rx2p', ['::1', 5], { subnet: "o'k lab", ssl: true })).to.equal(`npx rx2p --connect [::1]:5 --subnet 'o'\\''k lab' --ssl`);
    expect(joinCommand('npx rx2p', ['h', 5], { subnet: '', ssl: false })).to.equal(`npx rx2p --connect h:5 --subnet ''`);
  });

  it('--web refuses a protocol a browser cannot speak, in one line; --web-origin is repeatable and needs --web', () => {
    for (const other of [['--ssl'], ['--auth'], ['--subnet', 'lab']]) {
      expect(() => parseCliArgs(['--web', ...other])).to.throw(UsageError, /^--web needs Plaintext on subnet "mesh": a browser cannot join a node with --/);
    }
    expect(parseCliArgs(['--web', '--web-origin', 'https://mesh.example', '--web-origin', 'http://127.0.0.1:9000']).webOrigins)
      .to.deep.equal(['https://mesh.example', 'http://127.0.0.1:9000']);
    expect(() => parseCliArgs(['--web-origin', 'https://mesh.example'])).to.throw(UsageError, /needs --web/);
    expect(() => parseCliArgs(['--web', '--web-origin', 'mesh.example'])).to.throw(UsageError, /needs an origin/);
  });
});
