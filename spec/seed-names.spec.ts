// Every module-level name of the seed's API document resolves from the package root:
// a py2p user porting code finds each one (its rx2p equivalent, see docs/py2p.md).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as rx2p from '../src/index.js';

// py2p 0.2's API document, copied into the repository so the spec runs anywhere.
const SEED = new URL('fixtures/py2p-0.2-api.rst', import.meta.url);

/**
 * The names the document lists at file level (constants, methods, variables), its
 * classes, and the members of the flags namespace; class members are the classes'
 * own business (spec/protocol/units.spec.ts). In document order, repeats included.
 */
function seedNames(text: string): string[] {
  const lines = text.split('\n');
  const names: string[] = [];
  let inClass: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const next = lines[i + 1] ?? '';
    if (/^=+$/.test(next)) {
      inClass = undefined;
      continue;
    }
    if (/^~+$/.test(next)) {
      inClass = lines[i]!.replace(/\\/g, '');
      names.push(inClass);
      continue;
    }
    const m = /^- {2}``([A-Za-z_][A-Za-z0-9_]*)/.exec(lines[i]!);
    if (m && (inClass === undefined || inClass === 'flags')) names.push(inClass ? `${inClass}.${m[1]}` : m[1]!);
  }
  return names;
}

describe('the seed\'s names', function () {
  const listed = seedNames(readFileSync(SEED, 'utf8'));

  it('are 43 distinct names (47 listings: four are listed twice, by the public API and base.py or mesh.py)', () => {
    expect(listed).to.have.length(47);
    expect(new Set(listed).size).to.equal(43);
  });

  it('all resolve from the package root', () => {
    const root = rx2p as unknown as Record<string, Record<string, unknown>>;
    const missing = listed.filter((name) => {
      const [head, member] = name.split('.') as [string, string | undefined];
      return member === undefined ? root[head] === undefined : root[head]?.[member] === undefined;
    });
    expect(missing).to.deep.equal([]);
  });

  it('name the rx2p equivalents: base_socket is MeshSocket, the daemons are the Router, the connections Connection', () => {
    expect(rx2p.base_socket).to.equal(rx2p.MeshSocket);
    expect(rx2p.mesh_socket).to.equal(rx2p.MeshSocket);
    expect(rx2p.base_daemon).to.equal(rx2p.Router);
    expect(rx2p.mesh_daemon).to.equal(rx2p.Router);
    expect(rx2p.base_connection).to.equal(rx2p.Connection);
    expect(rx2p.mesh_connection).to.equal(rx2p.Connection);
    expect(rx2p.cleanup_files).to.deep.equal([]);
    expect(rx2p.cleanup()).to.equal(undefined);
  });
});
