// A 10-node authenticated mesh in which two members attack everything they relay:
// for each broadcast they see, every honest node they are linked to gets, ahead of
// the genuine copy, every altered trailer a relay can make (other index, other path
// hashes, S + L, other batch size) and copies naming another sender; then the genuine
// copy, then replays. Every genuine broadcast must reach every honest node exactly
// once. MEMBER_ATTACK_MESSAGES sets the broadcasts per honest node (default 5; the
// long run uses 50).
import { expect } from 'chai';
import { generateIdentity, type MeshSocket, type PathfindingMessage } from '../../src/index.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { prng } from '../prng.js';
import { AuthPeer, authProtocol } from './auth-peer.js';

const HEAD = 32 + 64 + 4;
const L = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

function malleated(trailer: Buffer, random: () => number): Buffer[] {
  const out: Buffer[] = [];
  const count = trailer.readUInt16BE(96);
  const index = trailer.readUInt16BE(98);
  if (count > 1) {
    const t = Buffer.from(trailer);
    t.writeUInt16BE((index + 1) % count, 98);
    out.push(t);
  }
  for (let at = HEAD; at < trailer.length; at += 32) {
    const t = Buffer.from(trailer);
    for (let i = 0; i < 32; i++) t[at + i] = Math.floor(random() * 256);
    out.push(t);
  }
  const s = Buffer.from(trailer);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const v = trailer[64 + i]! + L[i]! + carry;
    s[64 + i] = v & 0xff;
    carry = v >> 8;
  }
  out.push(s);
  return out;
}

describe('authenticated protocol: a 10-node mesh with two members attacking what they relay', function () {
  this.timeout(120_000);
  const nodes = new Nodes();
  const peers: AuthPeer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await nodes.closeAll();
  });

  it('delivers every genuine broadcast exactly once at every honest node', async () => {
    const perNode = Number(process.env.MEMBER_ATTACK_MESSAGES ?? 5);
    const random = prng(1919);
    const honest: MeshSocket[] = [];
    for (let i = 0; i < 8; i++) honest.push(await nodes.make({ protocol: authProtocol, maxBadSignatures: 1_000_000 }));
    for (let i = 0; i < 8; i++) await link(honest[i]!, honest[(i + 1) % 8]!);
    // Two attackers, each a member linked to four honest nodes.
    const attackers = [0, 1].map(() => ({ identity: generateIdentity(), links: [] as AuthPeer[], seen: new Set<string>(), sent: 0 }));
    const nodeOf = new Map<AuthPeer, number>();
    let attacking = true;
    for (const [k, attacker] of attackers.entries()) {
      for (let i = k; i < 8; i += 2) {
        const p = await AuthPeer.connect(honest[i]!.outAddr[1], { identity: attacker.identity });
        peers.push(p);
        await p.prove();
        await waitFor(() => honest[i]!.routingTable.has(attacker.identity.id), 5_000, 'attacker admitted');
        attacker.links.push(p);
        nodeOf.set(p, i);
      }
      for (const from of attacker.links) {
        from.onFrame = (msg: PathfindingMessage) => {
          if (!attacking || (msg.msgType !== 'broadcast' && msg.msgType !== 'waterfall') || msg.payload.length < 3) return;
          const key = msg.payload[1]!.toString('latin1');
          if (attacker.seen.has(key)) return;
          attacker.seen.add(key);
          const trailer = msg.payload[msg.payload.length - 1]!;
          const time = msg.timeNumber;
          for (const to of attacker.links) {
            if (to === from) continue;
            const send = (t: Buffer, sender: string) => {
              attacker.sent++;
              void to.send('waterfall', [...msg.payload.slice(0, -1), t], sender, time);
            };
            for (const t of malleated(trailer, random)) send(t, msg.sender); // malleate
            for (const sender of [attacker.identity.id, generateIdentity().id]) send(trailer, sender); // poison
            send(trailer, msg.sender); // the genuine copy
            send(trailer, msg.sender); // replays
            send(trailer, msg.sender);
          }
        };
      }
    }
    const got = honest.map((n) => {
      const count = new Map<string, number>();
      let unverified = 0;
      const markers = new Set<string>();
      n.messages$.subscribe((m) => {
        if (m.text(1) === 'end marker') { markers.add(m.sender); return; }
        if (!m.verified) unverified++;
        const t = `${m.sender}/${m.text(1)}`;
        count.set(t, (count.get(t) ?? 0) + 1);
      });
      return { count, markers, unverified: () => unverified };
    });
    const started = Date.now();
    // Each honest node sends its broadcasts in one tick: one signed batch (Merkle paths).
    for (const [i, n] of honest.entries()) for (let j = 0; j < perNode; j++) n.send(`n${i}m${j}`);
    const total = (i: number) => [...got[i]!.count.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => honest.every((_, i) => total(i) >= 7 * perNode), 60_000, 'every broadcast everywhere');
    const elapsed = Date.now() - started;
    // Then the attack is over only when its last frame was handled. End markers: the
    // attackers stop, and each link still open whispers after its last hostile frame (its
    // honest node has handled every frame before it once the whisper is delivered); then
    // every honest node broadcasts one, after whatever it relayed, and each waits for all.
    attacking = false;
    const links = attackers.flatMap((a) => a.links);
    for (const p of links) if (!p.closed) await p.send('whisper', ['whisper', 'end marker']).catch(() => undefined);
    await waitFor(() => links.every((p) => p.closed || got[nodeOf.get(p)!]!.markers.has(p.id)), 60_000, 'the attackers\' end markers');
    for (const n of honest) n.send('end marker');
    await waitFor(() => honest.every((n, i) => honest.every((m) => m === n || got[i]!.markers.has(m.id))), 60_000, 'the honest end markers');
    for (const [i, n] of honest.entries()) {
      const expected = new Map<string, number>();
      for (const [k, m] of honest.entries()) if (k !== i) for (let j = 0; j < perNode; j++) expected.set(`${m.id}/n${k}m${j}`, 1);
      expect(got[i]!.count, `node ${i}`).to.deep.equal(expected);
      expect(got[i]!.unverified()).to.equal(0);
      expect(n.routingTable.size).to.be.at.least(2);
    }
    const bad = honest.reduce((a, n) => a + n.stats.badSignatures, 0);
    const verified = honest.reduce((a, n) => a + n.stats.signaturesVerified, 0);
    const sent = attackers[0]!.sent + attackers[1]!.sent;
    expect(sent).to.be.greaterThan(0);
    expect(bad).to.be.greaterThan(0);
    const open = attackers.flatMap((a) => a.links).filter((p) => !p.closed).length;
    const errors: Record<string, number> = {};
    for (const n of honest) for (const [code, k] of Object.entries(n.stats.errors)) errors[code] = (errors[code] ?? 0) + k;
    console.log(`      member attack: ${8 * perNode} broadcasts, ${sent} hostile frames sent, ${bad} charged, ${verified} verifications at 8 honest nodes, all delivered once in ${elapsed} ms; attacker links open ${open}/8; ${JSON.stringify(errors)}`);
  });
});
