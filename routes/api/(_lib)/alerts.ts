/** Helpers of the `/api/alerts` routes: the `:id` parameter. */
import type { Context } from "fresh";
import type { State } from "../../../utils.ts";
import { alertNotFound } from "../../../lib/queue/alerts.ts";

/** The `:id` parameter; anything but a whole number an alert could have is a 404. */
export function alertIdOf(ctx: Pick<Context<State>, "params">): number {
  const raw = ctx.params.id ?? "";
  const id = /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(id <= 2_147_483_647)) throw alertNotFound(raw.slice(0, 64));
  return id;
}
