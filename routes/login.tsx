/**
 * `/login`: the dashboard sign-in when `DASHBOARD_PASSWORD` is set. `POST`
 * checks `password` in constant time and sets the signed, HttpOnly,
 * SameSite=Lax session cookie, then returns (303) to `next`; a wrong
 * password gets the form again with 401. Failed attempts are rate-limited per
 * client address (5 a minute) and overall (50 a minute): past the limit every
 * attempt, right or wrong, gets 429 with Retry-After. Without a password it
 * redirects home.
 */
import { define } from "@/utils.ts";
import { page } from "@/lib/web/define.ts";
import {
  SESSION_COOKIE,
  SESSION_MAX_AGE_SECONDS,
  sessionSecret,
  signSession,
  timingSafeEqual,
} from "@/lib/web/session.ts";
import { RateLimiter } from "@/lib/web/rate_limit.ts";
import { Alert, buttonClass, Card, INPUT, LABEL } from "@/components/ui.tsx";

/** Failed logins: 5 per address and 50 overall per minute. */
export const loginLimiter = new RateLimiter({ max: 5, globalMax: 50, windowMs: 60_000 });

/** The client's address as the server saw it (`unknown` in-process without one). */
function clientKey(env: unknown): string {
  const addr = (env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr;
  return addr?.hostname ?? "unknown";
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
    const key = clientKey(ctx.hono.env);
    const wait = loginLimiter.blocked(key);
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
      loginLimiter.fail(key);
      return page({ next, error: "That password is not right." }, { status: 401 });
    }
    loginLimiter.reset(key);
    const value = await signSession(sessionSecret(cfg)!, "admin");
    const secure = ctx.url.protocol === "https:" ||
      ctx.req.headers.get("x-forwarded-proto") === "https";
    const cookie =
      `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_MAX_AGE_SECONDS}${
        secure ? "; Secure" : ""
      }`;
    return new Response(null, { status: 303, headers: { location: next, "set-cookie": cookie } });
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
