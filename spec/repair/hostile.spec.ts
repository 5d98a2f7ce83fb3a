// Repair against a hostile peer: offers of made-up ids must not switch repair off, offers
// that do not check out are refused, a repeated id is answered once, and many peers asking
// for everything get no more than the node-wide budget while honest traffic flows.
import { expect } from 'chai';
import { Protocol, REPAIR_CAPABILITY, REPAIR_SUBFLAG, pyJsonDumps, type MeshOptions } from '../../src/index.js';
import { encodeHave, encodeWant, type HaveBucket } from '../../src/protocol/repair-wire.js';
import { countDeliveries, link, waitFor } from '../helpers.js';
import { hostileHarness, expectTypedErrors } from '../hostile/harness.js';
import { RawPeer } from '../hostile/raw-peer.js';
import { NodeProcess } from '../hostile/child.js';
import { prng } from '../prng.js';

const PARTITION_MS = Number(process.env.RX2P_REPAIR_PARTITION_MS ?? 10_000);
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const fast: MeshOptions = { sweepIntervalMs: 100, repairIntervalMs: 500, reconnectIntervalMs: 0, maxOutgoing: 0 };
const utc = () => Math.floor(Date.now() / 1000);
const pause = async (ms: number) => { const until = Date.now() + ms; await waitFor(() => Date.now() >= until, ms + 5_000); };

/** An offer of n made-up ids that look like short ids, dated `time`, in the bucket of their time (2 s buckets: a 60 s window). */
function madeUpOffer(random: () => number, n: number, time: number, alphabet = BASE58): Buffer {
  const bucket: HaveBucket = { index: Math.floor(time / 2), complete: true, ids: [], times: [] };
  for (let i = 0; i < n; i++) {
    let id = '';
    for (let j = 0; j < 8; j++) id += alphabet[Math.floor(random() * alphabet.length)];
    bucket.ids.push(id);
    bucket.times.push(time);
  }
  return encodeHave({ horizon: 0, bucketSeconds: 2, buckets: [bucket] });
}

describe('repair under a hostile peer', function () {
  this.timeout(90_000);
  const { nodes, keep } = hostileHarness('repair-hostile');

  it(`a–b–c, b–c cut ${PARTITION_MS / 1000} s while a sends 500 and a peer floods c with made-up offers: c ends with 500/500 exactly once`, async () => {
    // The default repair interval (5 s): wanted ids are held 20 s, as in the field.
    const chain: MeshOptions = { ...fast, repairIntervalMs: undefined };
    const a = await nodes.make(chain);
    const b = await nodes.make(chain);
    const c = await nodes.make(chain);
    const gotC = countDeliveries(c);
    await link(a, b);
    await link(b, c); // c dials b
    const hostile = await keep(RawPeer.connect(c));
    await hostile.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    const random = prng(24);
    let offers = 0;
    let flooding = true;
    // 4,096 made-up ids per offer, three offers a second for the whole test: as fast as c's
    // bound on repair messages (16 per 5 s interval) reads them.
    const flood = (async () => {
      while (flooding && !hostile.closed) {
        await hostile.send('whisper', [REPAIR_SUBFLAG, 'have', 'offer', madeUpOffer(random, 4_096, utc() - 3)]);
        offers++;
        await pause(330);
      }
    })();
    await waitFor(() => offers >= 5, 10_000, 'the flood to start');

    await c.disconnect(b.id);
    await waitFor(() => !b.routingTable.has(c.id), 5_000, 'b to see c go');
    const cutAt = Date.now();
    const tags = Array.from({ length: 500 }, (_, i) => `p-${i}`);
    for (let i = 0; i < tags.length; i++) {
      a.send(tags[i]!);
      if (i % 25 === 24) await waitFor(() => Date.now() >= cutAt + ((i + 1) / tags.length) * (PARTITION_MS - 500), PARTITION_MS, 'the next send');
    }
    await waitFor(() => Date.now() >= cutAt + PARTITION_MS, PARTITION_MS, 'the cut to last');
    expect(gotC.has('p-0')).to.equal(false);

    await c.connect('127.0.0.1', b.outAddr[1]);
    const healedAt = Date.now();
    await waitFor(() => tags.every((t) => gotC.has(t)), 30_000, 'c to get all 500 within 30 s of the heal');
    const took = Date.now() - healedAt;
    // The end marker: a's broadcast after the 500, along the same path a-b-c: a copy of any
    // of them that b sends c (flooded or repaired) before it arrives first.
    a.send('end marker');
    await waitFor(() => gotC.has('end marker'), 10_000, 'the end marker at c');
    flooding = false;
    await flood;
    expect([...gotC.values()].filter((n) => n !== 1)).to.deep.equal([]);
    expect(gotC.size).to.equal(501);
    console.log(`      c had 500/500 exactly once ${took} ms after the heal, while ${offers} offers of 4,096 made-up ids came in (${offers * 4_096} ids); c: ${c.stats.repairReceived} repaired, ${c.stats.repairRefused} repair messages refused`);
    expectTypedErrors(c);
  });

  it('gives a peer that offers made-up ids only its share of the wanted table: another peer\'s offer is still asked for', async () => {
    const c = await nodes.make({ ...fast, repairIntervalMs: 5_000, catchUpSeconds: 60 });
    const hostile = await keep(RawPeer.connect(c));
    await hostile.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    const honest = await keep(RawPeer.connect(c));
    await honest.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    const random = prng(11);
    // Four offers of 4,096: the whole table (16,384) if nothing held them to a share.
    for (let i = 0; i < 4; i++) await hostile.send('whisper', [REPAIR_SUBFLAG, 'have', 'offer', madeUpOffer(random, 4_096, utc() - 3)]);
    await waitFor(() => c.stats.repairControlFrames >= 2, 5_000, 'c to ask the hostile peer');
    // The end marker: a whisper after the four offers on the same connection; once c has
    // delivered it, c has read all four and sent whatever they made it ask for.
    const gotC = countDeliveries(c);
    await hostile.send('whisper', ['whisper', 'end marker']);
    await waitFor(() => gotC.has('end marker'), 5_000, 'the end marker after the offers');
    const asked = c.stats.repairControlFrames;
    await honest.send('whisper', [REPAIR_SUBFLAG, 'have', 'offer', madeUpOffer(random, 10, utc() - 3)]);
    await waitFor(() => c.stats.repairControlFrames === asked + 1, 5_000, 'c to ask the honest peer');
  });

  it('refuses offers dated outside the window or with ids that are not short ids, and bars their sender for a while', async () => {
    const c = await nodes.make({ ...fast, repairIntervalMs: 200 });
    const hostile = await keep(RawPeer.connect(c));
    await hostile.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    const random = prng(7);
    // Dated 0xffffffff (the far future), then 10 minutes ago, then ids with characters base_58 lacks.
    const future: HaveBucket = { index: Math.floor(0xffffffff / 2), complete: true, ids: ['abcdefgh'], times: [0xffffffff] };
    await hostile.send('whisper', [REPAIR_SUBFLAG, 'have', 'offer', encodeHave({ horizon: 0, bucketSeconds: 2, buckets: [future] })]);
    await waitFor(() => c.stats.repairRefused === 1, 5_000, 'the future offer refused');
    await pause(900); // the bar lasts 4 intervals (800 ms here): wait it out before each
    await hostile.send('whisper', [REPAIR_SUBFLAG, 'have', 'offer', madeUpOffer(random, 100, utc() - 600)]);
    await waitFor(() => c.stats.repairRefused === 2, 5_000, 'the old offer refused');
    await pause(900);
    await hostile.send('whisper', [REPAIR_SUBFLAG, 'have', 'offer', madeUpOffer(random, 100, utc() - 3, '0OIl+/_!')]);
    await waitFor(() => c.stats.repairRefused === 3, 5_000, 'the offer of bad ids refused');
    // While barred, even a good-looking offer is refused.
    await hostile.send('whisper', [REPAIR_SUBFLAG, 'have', 'offer', madeUpOffer(random, 100, utc() - 3)]);
    await waitFor(() => c.stats.repairRefused === 4, 5_000, 'the barred peer refused');
    expect(c.stats.errors.ERR_MALFORMED_CONTROL).to.equal(3);
    // Nothing was asked for: c sent the hostile peer no repair message at all.
    expect(c.stats.repairControlFrames).to.equal(0);
    expectTypedErrors(c);
  });

  it('answers a request that repeats one id 4,096 times once', async () => {
    const a = await nodes.make(fast);
    a.send('only-one');
    let id = '';
    a.repairStore!.forEach((k) => { id = k; });
    const raw = await keep(RawPeer.connect(a));
    await raw.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
    await raw.send('whisper', [REPAIR_SUBFLAG, 'want', encodeWant(Array.from({ length: 4_096 }, () => id))]);
    await raw.send('whisper', [REPAIR_SUBFLAG, 'want', encodeWant([id, id, id])]);
    await waitFor(() => a.stats.repairRequests === 2, 5_000, 'both requests read');
    expect(a.stats.repairSent).to.equal(1);
  });

  it('48 connections asking for everything get at most repairMaxBytesPerSecond; an honest peer\'s broadcasts lag < 1 s at p99', async () => {
    const BUDGET = 1024 * 1024;
    const ATTACK_MS = 6_000;
    const victim = await NodeProcess.spawn({ host: '127.0.0.1', options: { repairIntervalMs: 1_000, repairMaxBytesPerSecond: BUDGET, maxOutgoing: 0 } });
    try {
      const honest = await nodes.make({ maxOutgoing: 0 });
      const receiver = await nodes.make({ maxOutgoing: 0 });
      await honest.connect('127.0.0.1', victim.port);
      await receiver.connect('127.0.0.1', victim.port);
      await waitFor(() => honest.routingTable.has(victim.id) && receiver.routingTable.has(victim.id), 10_000, 'the honest peers');
      const got = countDeliveries(receiver);
      // 2,000 broadcasts of 1 KB that the victim stores: what the attackers ask for.
      for (let i = 0; i < 2_000; i++) honest.send(`fill-${i}-${'x'.repeat(1_000)}`);
      await waitFor(() => got.size === 2_000, 20_000, 'the victim to relay the fill');
      const ids: string[] = [];
      honest.repairStore!.forEach((k) => ids.push(k));
      const attackers = await Promise.all(Array.from({ length: 48 }, () => RawPeer.connectPort(victim.port, new Protocol('mesh', 'Plaintext'))));
      for (const r of attackers) keep(Promise.resolve(r));
      await Promise.all(attackers.map((r) => r.handshake(pyJsonDumps([REPAIR_CAPABILITY]))));
      // A 49th peer asks once a second for 20 of the messages, as an honest node repairing would.
      const asker = await RawPeer.connectPort(victim.port, new Protocol('mesh', 'Plaintext'));
      keep(Promise.resolve(asker));
      await asker.handshake(pyJsonDumps([REPAIR_CAPABILITY]));
      let askerText = '';
      asker.socket.on('data', (d: Buffer) => { askerText += d.toString('latin1'); });
      const askedFor = Array.from({ length: 20 }, (_, i) => `fill-${i}-`);
      let askerDoneAt = 0;
      const before = (await victim.report()).stats as Record<string, number>;
      const lags: number[] = [];
      receiver.messages$.subscribe((m) => {
        const t = m.packets[1]!.toString();
        if (t.startsWith('lag-')) lags.push(Date.now() - Number(t.split('-')[1]));
      });
      const started = Date.now();
      const want = encodeWant(ids);
      let sent = 0;
      // Every attacker asks for all 2,000 ten times a second; the honest peer broadcasts every 20 ms.
      const attack = (async () => {
        while (Date.now() - started < ATTACK_MS) {
          for (const r of attackers) if (!r.closed) void r.send('whisper', [REPAIR_SUBFLAG, 'want', want]).catch(() => undefined);
          if (askerDoneAt === 0 && askedFor.every((t) => askerText.includes(t))) askerDoneAt = Date.now();
          if (askerDoneAt === 0 && Math.floor((Date.now() - started) / 100) % 10 === 0) {
            // Like a node repairing: only what it still lacks.
            const lacking = ids.slice(0, 20).filter((_, i) => !askerText.includes(askedFor[i]!));
            void asker.send('whisper', [REPAIR_SUBFLAG, 'want', encodeWant(lacking)]);
          }
          await pause(100);
        }
      })();
      while (Date.now() - started < ATTACK_MS) {
        honest.send(`lag-${Date.now()}-${sent++}`);
        await pause(20);
      }
      await attack;
      const elapsed = (Date.now() - started) / 1000;
      await waitFor(() => lags.length >= sent, 10_000, 'every honest broadcast through the victim');
      const after = (await victim.report()).stats as Record<string, number>;
      const out = after.repairBytes! + after.repairControlBytes! - before.repairBytes! - before.repairControlBytes!;
      lags.sort((x, y) => x - y);
      const p99 = lags[Math.floor(lags.length * 0.99)]!;
      const received = attackers.reduce((n, r) => n + r.receivedBytes, 0);
      console.log(`      48 connections asking for 2,000 × 1 KB ten times a second for ${elapsed.toFixed(1)} s: repair out ${(out / 1048576).toFixed(2)} MiB (${(out / elapsed / 1048576).toFixed(2)} MiB/s, budget ${BUDGET / 1048576} MiB/s), attackers received ${(received / 1048576).toFixed(2)} MiB in all; ${after.repairDeferred! - before.repairDeferred!} answers deferred; honest broadcasts: ${lags.length}, lag p50 ${lags[Math.floor(lags.length / 2)]} ms, p99 ${p99} ms, max ${lags[lags.length - 1]} ms`);
      console.log(`      the 49th peer asking for 20: ${askerDoneAt ? `all 20 within ${askerDoneAt - started} ms` : `${askedFor.filter((t) => askerText.includes(t)).length} of 20 during the attack`}`);
      expect(out).to.be.at.most(BUDGET * (elapsed + 1));
      // Without an equal part each, it got 0 or 1 of them; with them, all 20 within 3-5 s on a quiet machine.
      expect(askedFor.filter((t) => askerText.includes(t)).length, 'what the 49th peer got during the attack').to.be.at.least(10);
      expect(p99).to.be.below(1_000);
    } finally {
      await victim.close();
    }
  });
});
