// require('rx2p') lands here: the package is an ES module only.
throw Object.assign(
  new Error(
    "rx2p is ESM-only and cannot be loaded with require(). Use `import { MeshSocket } from 'rx2p'` " +
      "in an ES module (a .mjs file, or \"type\": \"module\" in package.json), or " +
      "`const { MeshSocket } = await import('rx2p')` from CommonJS.",
  ),
  { code: 'ERR_REQUIRE_ESM' },
);
