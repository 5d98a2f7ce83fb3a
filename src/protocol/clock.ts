// The one wall-clock read in src/protocol (spec/protocol/purity.spec.ts allows it
// here and nowhere else): py2p's getUTC(), the time a message built without one is
// given (py2p's pathfinding_message defaults its timestamp the same way). Code that
// must be replayable passes the time explicitly (MeshOptions.clock).

/** Current unix time in whole seconds (UTC), as py2p's getUTC(). */
export function getUTC(): number {
  return Math.floor(Date.now() / 1000);
}
