/**
 * `/login`: the dashboard sign-in when `DASHBOARD_PASSWORD` is set. `POST`
 * checks `password` in constant time and sets the signed, HttpOnly,
 * SameSite=Lax session cookie, then returns (303) to `next`; a wrong
 * password gets the form again with 401. Without a password it redirects home.
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
import { Alert, buttonClass, Card, INPUT, LABEL } from "@/components/ui.tsx";

/** A safe local path to return to (never another origin). */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")
    ? next
    : "/";
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
    const form = await ctx.req.formData();
    const next = safeNext(String(form.get("next") ?? "/"));
    const password = String(form.get("password") ?? "");
    if (!timingSafeEqual(password, cfg.DASHBOARD_PASSWORD)) {
      return page({ next, error: "That password is not right." }, { status: 401 });
    }
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
