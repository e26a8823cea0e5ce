/** `POST /logout`: ends the dashboard session (clears the cookie) and goes to `/login`. */
import { define } from "@/utils.ts";
import { SESSION_COOKIE } from "@/lib/web/session.ts";

export const handler = define.handlers({
  POST() {
    return new Response(null, {
      status: 303,
      headers: {
        location: "/login",
        "set-cookie": `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`,
      },
    });
  },
});
