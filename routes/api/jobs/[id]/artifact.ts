/** `GET /api/jobs/:id/artifact`: the file a report job made (404 when none). */
import { define } from "../../../../utils.ts";
import { artifacts, jobs } from "../../../../lib/queue/mod.ts";
import { HttpError } from "../../../../lib/http/errors.ts";
import { jobIdOf } from "../../(_lib)/helpers.ts";
import { jobNotFound } from "../../../../lib/queue/guard.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const id = jobIdOf(ctx);
    const file = await artifacts.get(ctx.state.sql, { jobId: id });
    if (!file) {
      if (!(await jobs.get(ctx.state.sql, { id }))) throw jobNotFound(id);
      throw new HttpError(404, "artifact_not_found", `job ${id} has made no file`);
    }
    const ascii = file.filename.replace(/[^A-Za-z0-9._-]/g, "_") || "artifact";
    return new Response(file.bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": file.content_type,
        "content-length": String(file.bytes.length),
        "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${
          encodeURIComponent(file.filename)
        }`,
        "x-content-type-options": "nosniff",
        "cache-control": "private, no-store",
      },
    });
  },
});
