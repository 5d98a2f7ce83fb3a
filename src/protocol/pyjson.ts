// Python's json.dumps() with its default settings (", " and ": " separators,
// ensure_ascii=True), for the JSON texts that travel inside py2p packets:
// handshake addresses and compression lists, peers lists, responses.
// Byte-exact output matters: these texts are packets, hashed into message ids.

/** A value json.dumps can write: what py2p puts in handshakes, peers lists and responses. */
export type PyJson = string | number | boolean | null | PyJson[] | { [key: string]: PyJson };

function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

/** JSON text byte for byte as Python's json.dumps with its defaults writes it (`, ` and `: ` separators, non-ASCII escaped as \\uXXXX). */
export function pyJsonDumps(value: PyJson): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return pyJsonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('py2p JSON cannot carry a non-finite number');
    return Number.isInteger(value) ? value.toFixed(0) : String(value);
  }
  if (Array.isArray(value)) return '[' + value.map(pyJsonDumps).join(', ') + ']';
  return '{' + Object.entries(value).map(([k, v]) => pyJsonString(k) + ': ' + pyJsonDumps(v)).join(', ') + '}';
}
