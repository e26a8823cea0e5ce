/**
 * Small helpers shared by the `/api` route modules (not a route: the `(_lib)`
 * group folder keeps it out of routing): path ids, bodies, query strings.
 */
import type { z } from "zod";
import { queryObject, UUID_RE } from "../../../lib/api_schemas.ts";
import { HttpError } from "../../../lib/http/errors.ts";
import { readJson } from "../../../lib/http/json.ts";
import type { Context } from "fresh";
import type { State } from "../../../utils.ts";

/** The `:id` path parameter, lower-cased; a malformed id is a 404 (no such job). */
export function jobIdOf(ctx: Context<State>): string {
  const id = ctx.params.id ?? "";
  if (!UUID_RE.test(id)) {
    throw new HttpError(404, "job_not_found", `no job with id ${JSON.stringify(id.slice(0, 64))}`);
  }
  return id.toLowerCase();
}

/**
 * Reads and validates the JSON body (limits from the config: the batch limit
 * for `/api/jobs/batch`, else the per-request one). With `optional`, an
 * absent body parses as `{}`.
 */
export async function bodyOf<T extends z.ZodType>(
  ctx: Context<State>,
  schema: T,
  opts: { optional?: boolean; batch?: boolean } = {},
): Promise<z.output<T>> {
  const limit = opts.batch
    ? ctx.state.config.BATCH_BODY_LIMIT_BYTES
    : ctx.state.config.BODY_LIMIT_BYTES;
  const value = await readJson(ctx.req, { limit, optional: opts.optional });
  return schema.parse(value === undefined ? {} : value);
}

/** Validates the query string with `schema` (422 with every issue). */
export function queryOf<T extends z.ZodType>(ctx: Context<State>, schema: T): z.output<T> {
  return schema.parse(queryObject(ctx.url.searchParams));
}
