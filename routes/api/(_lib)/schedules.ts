/** Helpers of the `/api/schedules` routes: the `:name` parameter and a schedule's JSON. */
import type { Context } from "fresh";
import type { State } from "../../../utils.ts";
import { SCHEDULE_NAME_RE } from "../../../lib/schedules/schema.ts";
import { scheduleNotFound } from "../../../lib/queue/schedules.ts";

/** The `:name` path parameter; a name that cannot exist is a 404 (no such schedule). */
export function scheduleNameOf(ctx: Context<State>): string {
  const name = ctx.params.name ?? "";
  if (!SCHEDULE_NAME_RE.test(name)) throw scheduleNotFound(name.slice(0, 64));
  return name;
}
