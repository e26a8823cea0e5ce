/** Who is acting in a request, for the audit log. */
import type { Context } from "fresh";
import type { Actor } from "../queue/audit.ts";
import type { State } from "../../utils.ts";

/**
 * The actor of a request: the API token's name, else the dashboard session's
 * user, else `anonymous` (no API_TOKEN and no DASHBOARD_PASSWORD); with the
 * connection's remote address (behind a proxy, the proxy's).
 */
export function actorOf(ctx: Pick<Context<State>, "state" | "info">): Actor {
  const address = ctx.info.remoteAddr.transport === "tcp"
    ? ctx.info.remoteAddr.hostname || null
    : null;
  if (ctx.state.tokenName) return { name: ctx.state.tokenName, via: "token", address };
  if (ctx.state.session) return { name: ctx.state.session.user, via: "session", address };
  return { name: "anonymous", via: "open", address };
}
