/**
 * The host a request was addressed to, for refusing names the server is not
 * meant to be reached by (DNS rebinding: a page on `attacker.example` whose
 * name the attacker re-points at 127.0.0.1 would otherwise read and change
 * everything a loopback server without secrets offers).
 */

/** A host name or address as a Host header carries it, lower case, without port or trailing dot. */
export const HOSTNAME = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])$/;

const AUTHORITY = /^([a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])\.?(?::\d{1,5})?$/;

/**
 * The host name of the request's `Host` header (else of its URL, for
 * requests made in-process), lower case, without port or trailing dot; `null`
 * when it is not a plain host name or address (user info, paths, spaces …).
 */
export function requestHostname(req: Request): string | null {
  const host = req.headers.get("host") ?? new URL(req.url).host;
  return AUTHORITY.exec(host.toLowerCase())?.[1] ?? null;
}
