// The origin and Host policy of the WebSocket port (src/transport/ws-origin.ts), as a table.
import { expect } from 'chai';
import { OriginPolicy, hostName } from '../../src/transport/ws-origin.js';

describe('origin and Host policy of the WebSocket port', () => {
  const policy = new OriginPolicy(['https://mesh.example'], ['node1.lan']);

  it('answers Host values no DNS rebinding can forge: IP literals, localhost, named hosts', () => {
    for (const ok of ['127.0.0.1:8080', '10.0.0.2', '[::1]:8080', 'localhost:80', 'LOCALHOST', 'mesh.example', 'node1.lan:9']) {
      expect(policy.hostAllowed(ok), ok).to.equal(true);
    }
    for (const bad of [undefined, '', 'attacker.example:8080', 'localhost.attacker.example', '127.0.0.1.attacker.example', 'a:b:c', '[::1', 'x y']) {
      expect(policy.hostAllowed(bad), String(bad)).to.equal(false);
    }
    expect(hostName('[::1]:80')).to.equal('::1');
  });

  it('admits no Origin (not a browser), the page\'s own origin, and named ones only', () => {
    expect(policy.originAllowed(undefined, '127.0.0.1:8080')).to.equal(true);
    expect(policy.originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080')).to.equal(true);
    expect(policy.originAllowed('https://Mesh.Example/', '127.0.0.1:8080')).to.equal(true);
    expect(policy.originAllowed('http://127.0.0.1:9090', '127.0.0.1:8080')).to.equal(false);
    expect(policy.originAllowed('null', '127.0.0.1:8080')).to.equal(false);
    expect(policy.originAllowed('http://evil.example', '127.0.0.1:8080')).to.equal(false);
  });
});
