/**
 * Signed session cookies for the dashboard: `jobq_session=<payload>.<hmac>`,
 * HMAC-SHA256 over the payload with a key from `SESSION_SECRET`, or derived
 * from `DASHBOARD_PASSWORD` (changing the password ends every session); and
 * the "this browser signed in before" mark `jobq_known`, signed with a key of
 * its own purpose so neither verifies as the other.
 * Also constant-time comparison for passwords and API tokens.
 */

/** Cookie name of the dashboard session. */
export const SESSION_COOKIE = "jobq_session";
/** Session lifetime. */
export const SESSION_MAX_AGE_SECONDS = 7 * 24 * 3600;

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array<ArrayBuffer> | null {
  try {
    const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** True when `a` and `b` are equal, in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i % (x.length || 1)] ?? 0) ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}

/** True when `presented` equals one of the comma-separated `tokens` (each compared in constant time). */
export function tokenMatches(tokens: string, presented: string): boolean {
  let ok = false;
  for (const t of tokens.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (timingSafeEqual(t, presented)) ok = true;
  }
  return ok;
}

/** An HMAC key for one purpose: a value signed for one purpose never verifies for another. */
async function keyFor(secret: string, purpose: string): Promise<CryptoKey> {
  const material = await crypto.subtle.digest("SHA-256", enc.encode(`jobq-${purpose}:` + secret));
  return await crypto.subtle.importKey("raw", material, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** `<payload>.<hmac>` of `fields` plus `exp` (now + `maxAgeSeconds`), signed for `purpose`. */
async function signFields(
  secret: string,
  purpose: string,
  fields: Record<string, string>,
  maxAgeSeconds: number,
  nowMs: number,
): Promise<string> {
  const payload = b64url(
    enc.encode(JSON.stringify({ ...fields, exp: Math.floor(nowMs / 1000) + maxAgeSeconds })),
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign("HMAC", await keyFor(secret, purpose), enc.encode(payload)),
  );
  return `${payload}.${b64url(sig)}`;
}

/** The fields of a value {@link signFields} made for `purpose`, when its signature holds and it has not expired. */
async function verifyFields(
  secret: string,
  purpose: string,
  value: string | undefined | null,
  nowMs: number,
): Promise<Record<string, unknown> | null> {
  if (!value) return null;
  const [payload, sig, extra] = value.split(".");
  if (!payload || !sig || extra !== undefined) return null;
  const sigBytes = fromB64url(sig);
  if (!sigBytes) return null;
  const key = await keyFor(secret, purpose);
  if (!await crypto.subtle.verify("HMAC", key, sigBytes, enc.encode(payload))) return null;
  try {
    const data = JSON.parse(new TextDecoder().decode(fromB64url(payload)!));
    return typeof data?.exp === "number" && data.exp * 1000 >= nowMs ? data : null;
  } catch {
    return null;
  }
}

/** The secret sessions are signed with: SESSION_SECRET, else DASHBOARD_PASSWORD. */
export function sessionSecret(
  cfg: { SESSION_SECRET?: string; DASHBOARD_PASSWORD?: string },
): string | null {
  return cfg.SESSION_SECRET ?? cfg.DASHBOARD_PASSWORD ?? null;
}

/** Makes a signed cookie value for `user`, valid for {@link SESSION_MAX_AGE_SECONDS}. */
export async function signSession(
  secret: string,
  user: string,
  nowMs = Date.now(),
): Promise<string> {
  return await signFields(secret, "session", { u: user }, SESSION_MAX_AGE_SECONDS, nowMs);
}

/** The user of a valid, unexpired cookie value, or `null`. */
export async function verifySession(
  secret: string,
  value: string | undefined | null,
  nowMs = Date.now(),
): Promise<{ user: string } | null> {
  const data = await verifyFields(secret, "session", value, nowMs);
  return typeof data?.u === "string" ? { user: data.u } : null;
}

/** Cookie name of the "this browser signed in before" mark (see routes/login.tsx). */
export const KNOWN_BROWSER_COOKIE = "jobq_known";
/** Lifetime of that mark (400 days, the longest browsers keep a cookie). */
export const KNOWN_BROWSER_MAX_AGE_SECONDS = 400 * 86400;

/** A signed mark for the browser `id` (random), valid {@link KNOWN_BROWSER_MAX_AGE_SECONDS}; it is no session. */
export async function signKnownBrowser(
  secret: string,
  id: string,
  nowMs = Date.now(),
): Promise<string> {
  return await signFields(secret, "known-browser", { b: id }, KNOWN_BROWSER_MAX_AGE_SECONDS, nowMs);
}

/** The browser id of a request's valid known-browser mark, or `null`. */
export async function requestKnownBrowser(
  req: Request,
  cfg: { SESSION_SECRET?: string; DASHBOARD_PASSWORD?: string },
  nowMs = Date.now(),
): Promise<string | null> {
  const secret = sessionSecret(cfg);
  if (!secret) return null;
  const data = await verifyFields(
    secret,
    "known-browser",
    readCookie(req, KNOWN_BROWSER_COOKIE),
    nowMs,
  );
  return typeof data?.b === "string" ? data.b : null;
}

/** Reads one cookie from a request's `Cookie` header. */
export function readCookie(req: Request, name: string): string | null {
  const header = req.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** The session user of a request, when a valid session cookie is present. */
export async function requestSession(
  req: Request,
  cfg: { SESSION_SECRET?: string; DASHBOARD_PASSWORD?: string },
): Promise<{ user: string } | null> {
  const secret = sessionSecret(cfg);
  if (!secret) return null;
  return await verifySession(secret, readCookie(req, SESSION_COOKIE));
}
