/**
 * `/login`: the dashboard sign-in when `DASHBOARD_PASSWORD` is set. `POST`
 * checks `password` in constant time and sets the signed, HttpOnly,
 * SameSite=Lax session cookie, then returns (303) to `next`; a wrong
 * password gets the form again with 401. Failed attempts are rate-limited:
 * a browser that signed in before (a valid signed `jobq_known` mark, set with
 * every good login and kept 400 days, logout included) 5 a minute on its own;
 * any other attempt 5 a minute per client address (an IPv6 /64 counts as one
 * address), then 50 a minute over all of them. Past a limit every attempt,
 * right or wrong, gets 429 with Retry-After. So a flood of wrong passwords
 * from many addresses locks out new browsers for up to a minute, but not the
 * admin's. Without a password it redirects home.
 */
import { define } from "@/utils.ts";
import { page } from "@/lib/web/define.ts";
import {
  KNOWN_BROWSER_COOKIE,
  KNOWN_BROWSER_MAX_AGE_SECONDS,
  requestKnownBrowser,
  SESSION_COOKIE,
  SESSION_MAX_AGE_SECONDS,
  sessionSecret,
  signKnownBrowser,
  signSession,
  timingSafeEqual,
} from "@/lib/web/session.ts";
import { addressKey, RateLimiter } from "@/lib/web/rate_limit.ts";
import { Alert, buttonClass, Card, INPUT, LABEL } from "@/components/ui.tsx";

/** Failed logins: 5 per known browser or address, and 50 overall (unknown browsers) per minute. */
export const loginLimiter = new RateLimiter({ max: 5, globalMax: 50, windowMs: 60_000 });

/** The client's address as the server saw it (`unknown` in-process without one). */
function clientKey(env: unknown): string {
  return addressKey(
    (env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname,
  );
}

/** `name=value` with the attributes of the login's cookies. */
function cookie(name: string, value: string, maxAge: number, secure: boolean, path = "/"): string {
  return `${name}=${value}; Path=${path}; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${
    secure ? "; Secure" : ""
  }`;
}

const LOCAL = "http://jobq.invalid";

/**
 * A safe path on this origin to return to, else `/`: it must start with one
 * `/`, hold no control characters, spaces or backslashes (browsers drop tabs
 * and newlines, so `/\t/evil.example` would become `//evil.example`), and
 * resolve to this origin. The answer is the resolved path, percent-encoded,
 * so it always fits in a `Location` header.
 */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//")) return "/";
  if ([...next].some((c) => c <= " " || c === "\u007f" || c === "\\")) return "/";
  const url = new URL(next, LOCAL);
  return url.origin === LOCAL ? url.pathname + url.search + url.hash : "/";
}

const home = (to = "/") => new Response(null, { status: 303, headers: { location: to } });

export const handler = define.handlers({
  GET(ctx) {
    if (!ctx.state.config.DASHBOARD_PASSWORD) return home();
    return page({ next: safeNext(ctx.url.searchParams.get("next")), error: null as string | null });
  },
  async POST(ctx) {
    const cfg = ctx.state.config;
    if (!cfg.DASHBOARD_PASSWORD) return home();
    const browser = await requestKnownBrowser(ctx.req, cfg);
    const key = browser ? `browser:${browser}` : clientKey(ctx.hono.env);
    const limits = { global: !browser };
    const wait = loginLimiter.blocked(key, limits);
    if (wait) {
      return page({ next: "/", error: `Too many attempts; try again in ${wait} s.` }, {
        status: 429,
        headers: { "retry-after": String(wait) },
      });
    }
    const form = await ctx.req.formData();
    const next = safeNext(String(form.get("next") ?? "/"));
    const password = String(form.get("password") ?? "");
    if (!timingSafeEqual(password, cfg.DASHBOARD_PASSWORD)) {
      loginLimiter.fail(key, limits);
      return page({ next, error: "That password is not right." }, { status: 401 });
    }
    loginLimiter.reset(key);
    const secret = sessionSecret(cfg)!;
    const secure = ctx.url.protocol === "https:" ||
      ctx.req.headers.get("x-forwarded-proto") === "https";
    const headers = new Headers({ location: next });
    const session = await signSession(secret, "admin");
    headers.append("set-cookie", cookie(SESSION_COOKIE, session, SESSION_MAX_AGE_SECONDS, secure));
    const mark = await signKnownBrowser(secret, browser ?? crypto.randomUUID());
    headers.append(
      "set-cookie",
      cookie(KNOWN_BROWSER_COOKIE, mark, KNOWN_BROWSER_MAX_AGE_SECONDS, secure, "/login"),
    );
    return new Response(null, { status: 303, headers });
  },
});

export default define.page<typeof handler>(({ data }) => (
  <div class="mx-auto mt-12 max-w-sm">
    <h1 class="mb-1 text-xl font-semibold tracking-tight">Sign in</h1>
    <p class="mb-4 text-sm text-muted-foreground">
      The dashboard needs the password set in DASHBOARD_PASSWORD.
    </p>
    {data.error && <Alert kind="error">{data.error}</Alert>}
    <Card>
      <form method="post" action="/login" class="space-y-4 p-4">
        <input type="hidden" name="next" value={data.next} />
        <div>
          <label for="password" class={LABEL}>Password</label>
          <input
            id="password"
            name="password"
            type="password"
            required
            autocomplete="current-password"
            autofocus
            class={INPUT}
          />
        </div>
        <button type="submit" class={buttonClass("primary", "w-full")}>Sign in</button>
      </form>
    </Card>
  </div>
));
