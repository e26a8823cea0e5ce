/** `POST /logout`: ends the dashboard session (clears the cookie) and goes to `/login`. */
import { define } from "@/utils.ts";
import { SESSION_COOKIE } from "@/lib/http/session.ts";

export const handler = define.handlers({
  POST(ctx) {
    const res = ctx.redirect("/login", 303);
    res.headers.set("set-cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
    return res;
  },
});
