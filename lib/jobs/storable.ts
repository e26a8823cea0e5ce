/**
 * The one check every stored string passes, in a module free of imports, so
 * the worker's runners can use it without the job schemas (and zod).
 */

/** True when `s` holds a NUL or a lone UTF-16 surrogate (Postgres cannot store either). */
export function hasUnstorableChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return true;
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (!(n >= 0xdc00 && n <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}
