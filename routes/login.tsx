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
import { page, type RouteConfig } from "fresh";
import { sameOriginPath } from "@/lib/web/context.ts";
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
} from "@/lib/http/session.ts";
import { addressKey, RateLimiter } from "@/lib/http/rate_limit.ts";
import { Alert, buttonClass, Card, INPUT, LABEL } from "@/components/ui.tsx";
import { Frame } from "@/components/Frame.tsx";

/** Failed logins: 5 per known browser or address, and 50 overall (unknown browsers) per minute. */
export const loginLimiter = new RateLimiter({ max: 5, globalMax: 50, windowMs: 60_000 });

/** The client's address as the server saw it (`unknown` in-process without one). */
function clientKey(info: Deno.ServeHandlerInfo): string {
  return addressKey((info.remoteAddr as Deno.NetAddr).hostname || undefined);
}

/** `name=value` with the attributes of the login's cookies. */
function cookie(name: string, value: string, maxAge: number, secure: boolean, path = "/"): string {
  return `${name}=${value}; Path=${path}; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${
    secure ? "; Secure" : ""
  }`;
}

/** The sign-in page has a bare frame of its own, not the dashboard's. */
export const config: RouteConfig = { skipInheritedLayouts: true };

export const handler = define.handlers({
  GET(ctx) {
    if (!ctx.state.config.DASHBOARD_PASSWORD) return ctx.redirect("/", 303);
    const next = sameOriginPath(ctx.url.searchParams.get("next"));
    return page({ next, error: null as string | null });
  },
  async POST(ctx) {
    const cfg = ctx.state.config;
    if (!cfg.DASHBOARD_PASSWORD) return ctx.redirect("/", 303);
    const browser = await requestKnownBrowser(ctx.req, cfg);
    const key = browser ? `browser:${browser}` : clientKey(ctx.info);
    const limits = { global: !browser };
    const wait = loginLimiter.blocked(key, limits);
    if (wait) {
      return page({ next: "/", error: `Too many attempts; try again in ${wait} s.` }, {
        status: 429,
        headers: { "retry-after": String(wait) },
      });
    }
    const form = await ctx.req.formData();
    const next = String(form.get("next") ?? "/");
    const password = String(form.get("password") ?? "");
    if (!timingSafeEqual(password, cfg.DASHBOARD_PASSWORD)) {
      loginLimiter.fail(key, limits);
      const error = "That password is not right.";
      return page({ next: sameOriginPath(next), error }, { status: 401 });
    }
    loginLimiter.reset(key);
    const secret = sessionSecret(cfg)!;
    const secure = ctx.url.protocol === "https:" ||
      ctx.req.headers.get("x-forwarded-proto") === "https";
    const res = ctx.redirect(next, 303);
    const headers = res.headers;
    const session = await signSession(secret, "admin");
    headers.append("set-cookie", cookie(SESSION_COOKIE, session, SESSION_MAX_AGE_SECONDS, secure));
    const mark = await signKnownBrowser(secret, browser ?? crypto.randomUUID());
    headers.append(
      "set-cookie",
      cookie(KNOWN_BROWSER_COOKIE, mark, KNOWN_BROWSER_MAX_AGE_SECONDS, secure, "/login"),
    );
    return res;
  },
});

export default define.page<typeof handler>(({ data, url }) => (
  <Frame path={url.pathname} bare>
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
  </Frame>
));
