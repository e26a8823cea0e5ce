/**
 * The container's HEALTHCHECK: `deno run --allow-net --allow-env scripts/healthcheck.ts [URL]`.
 * GETs URL (default `http://127.0.0.1:$PORT/healthz`, PORT defaulting to 8000)
 * and exits 0 on a 2xx answer within 4 seconds, else 1 with one line saying why.
 * The image has no curl; Deno is already there.
 */

/** The URL to check: the first argument, else the web server's /healthz on `port`. */
export function healthUrl(args: string[], port: string | undefined): string {
  return args[0] ?? `http://127.0.0.1:${port || "8000"}/healthz`;
}

/** Checks `url` once; returns the process exit code and a one-line message. */
export async function check(
  url: string,
  timeoutMs = 4000,
): Promise<{ code: number; line: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok
      ? { code: 0, line: `healthy: ${url} answered ${res.status}` }
      : { code: 1, line: `unhealthy: ${url} answered ${res.status}` };
  } catch (err) {
    return { code: 1, line: `unhealthy: ${url}: ${(err as Error).message}` };
  }
}

if (import.meta.main) {
  const { code, line } = await check(healthUrl(Deno.args, Deno.env.get("PORT")));
  (code === 0 ? console.log : console.error)(line);
  Deno.exit(code);
}
