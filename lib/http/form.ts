/** Reading a page form's fields (urlencoded or multipart). */
import { HttpError } from "./errors.ts";

/** The form's text fields by name (files are left out); 415 when the body is not a form. */
export async function formValues(req: Request): Promise<Record<string, string>> {
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw new HttpError(
      415,
      "unsupported_media_type",
      "send the form as application/x-www-form-urlencoded",
    );
  }
  const values: Record<string, string> = {};
  for (const [k, v] of form) if (typeof v === "string") values[k] = v;
  return values;
}
