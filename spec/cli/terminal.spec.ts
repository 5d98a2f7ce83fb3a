// Text mode shows what a peer sent without letting it act on the terminal: controls
// and bidi marks are escaped, and one message is one line.
import { expect } from 'chai';
import { formatMessage, safeText, shortId, type MessageRecord } from '../../src/cli/format.js';
import { MeshSocket } from '../../src/index.js';
import { Proc, Procs } from './proc.js';

// What a hostile peer sends: clear the screen, retitle the terminal, a forged line,
// a one-byte CSI (C1), DEL, and a right-to-left override that would reverse the rest.
const HOSTILE = '\x1b[2J\x1b]0;pwned\x07ok\r\n[00:00:00] Alice…: forged\x9b31m\x7f\u202etxt.exe\u2066\u2069\u200e\u200f\u061c\u2028';

function record(packets: string[], sender = 'QmSender', subflag = 'broadcast'): MessageRecord {
  return { type: 'message', sender, id: 'x', time: 0, subflag, packets };
}

/** True if the text holds a character a terminal would act on. */
function hasUnsafe(s: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(s);
}

describe('terminal output (text mode)', function () {
  it('escapes C0 and C1 controls, ESC, CR, LF, BEL, DEL and the bidi marks as \\xNN and \\uNNNN', () => {
    expect(safeText('a\x1bb\rc\nd\x07e\x7ff\x9bg\u202eh\u2066i\u2069j\u200ek\u200fl\u061cm\u202an\x00')).to.equal(
      'a\\x1bb\\x0dc\\x0ad\\x07e\\x7ff\\x9bg\\u202eh\\u2066i\\u2069j\\u200ek\\u200fl\\u061cm\\u202an\\x00',
    );
    expect(safeText('plain text, ünïcode, 日本語, emoji 🎉, tab-free')).to.equal('plain text, ünïcode, 日本語, emoji 🎉, tab-free');
    expect(hasUnsafe(safeText(HOSTILE))).to.equal(false);
  });

  it('formats a hostile message, sender and subflag as one line with nothing a terminal acts on', () => {
    const line = formatMessage(record([HOSTILE, 'second\npacket'], '\x1b]0;id\x07', 'whis\rper'));
    expect(line.split('\n')).to.have.length(1);
    expect(hasUnsafe(line)).to.equal(false);
    expect(line).to.include('\\x1b]0;pwned\\x07ok\\x0d\\x0a[00:00:00] Alice…: forged');
    expect(line).to.include('\\u202etxt.exe');
    expect(shortId('\x1b[2J\x1b[2J\x1b[2J')).to.not.match(/\x1b/);
  });

  it('prints a peer\'s ESC, CR, BEL and bidi override escaped on one line; --json keeps the exact text', async function () {
    this.timeout(20_000);
    const procs = new Procs();
    const peer = await MeshSocket.create('127.0.0.1', 0);
    try {
      const text = procs.add(Proc.rx2p('--no-stdin'));
      const json = procs.add(Proc.rx2p('--no-stdin', '--json'));
      const listen = await text.until(() => text.lines.map((l) => /listening on 127\.0\.0\.1:(\d+)/.exec(l)).find(Boolean), 5000, 'text node listening');
      const jl = await json.record((r) => r.type === 'listening', 5000, 'json node listening');
      await peer.connect('127.0.0.1', Number(listen![1]));
      await peer.connect('127.0.0.1', jl.port as number);
      await text.until(() => text.lines.find((l) => l.startsWith('connected to')), 5000, 'text node connected');
      await json.record((r) => r.type === 'peer-connected', 5000, 'json node connected');
      peer.send(HOSTILE);
      const line = await text.until(() => text.lines.find((l) => l.includes('pwned')), 5000, 'the hostile message');
      // The forged "[00:00:00] Alice" is on the message's own line, not a line of its own.
      expect(text.lines.filter((l) => l.includes('Alice'))).to.deep.equal([line]);
      expect(hasUnsafe(line)).to.equal(false);
      expect(line).to.match(/^\[\d\d:\d\d:\d\d\] \S+: \\x1b\[2J\\x1b\]0;pwned\\x07ok\\x0d\\x0a\[00:00:00\] Alice…: forged\\x9b31m\\x7f\\u202etxt\.exe/);
      const got = await json.record((r) => r.type === 'message', 5000, 'the message in --json');
      expect(got.packets).to.deep.equal([HOSTILE]);
    } finally {
      await peer.close();
      procs.killAll();
    }
  });
});
