/** Reading the `/schedules` forms (not a route: the `(_lib)` group folder keeps it out of routing). */
import type { Context } from "fresh";
import type { State } from "@/utils.ts";
import { HttpError } from "@/lib/http/errors.ts";
import type { ScheduleValues } from "@/components/schedule_form.ts";

/** The form's fields, urlencoded or multipart (415 for anything else). */
export async function formValues(ctx: Context<State>): Promise<ScheduleValues> {
  let form: FormData;
  try {
    form = await ctx.req.formData();
  } catch {
    throw new HttpError(
      415,
      "unsupported_media_type",
      "send the form as application/x-www-form-urlencoded",
    );
  }
  const values: ScheduleValues = {};
  for (const [k, v] of form) if (typeof v === "string") values[k] = v;
  return values;
}
