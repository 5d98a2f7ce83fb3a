// @noble/curves in the browser bundle: the authenticated protocol (the only user, for
// its strict Ed25519 key checks) needs TLS and never runs in a browser.
export const ed25519 = {
  Point: {
    fromBytes(): never {
      throw new Error('Ed25519 key checks are not available in the browser build');
    },
  },
};
