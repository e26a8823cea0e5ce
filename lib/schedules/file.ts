/**
 * The schedules file (`SCHEDULES_FILE`, default `schedules.json` at the
 * project root): schedules the operator keeps in the repository, applied
 * when a worker process starts.
 *
 * Precedence: the file wins. Each schedule it declares is written over the
 * row of the same name (created through the API or not) and marked source
 * `file`; through the API and the page such a schedule can only be enabled,
 * disabled and run now (PATCH of any other field and DELETE are 409
 * `schedule_from_file`). `enabled`, when the file leaves it out, keeps the
 * row's value, so a toggle from the page survives restarts. A schedule that
 * an earlier file declared and this one does not is deleted. A missing file
 * applies nothing (and deletes nothing).
 */
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import type { Sql } from "../db.ts";
import { log } from "../log.ts";
import { applyFile, type FileApplied } from "../queue/schedules.ts";
import { ROOT } from "../web/paths.ts";
import { type CreateSchedule, schedulesFile } from "./schema.ts";

/** A schedules file that cannot be used: the message names the file, the schedule and the field. */
export class SchedulesFileError extends Error {
  override name = "SchedulesFileError";
}

/** The file's path: `SCHEDULES_FILE`, relative to the project root unless absolute. */
export function schedulesPath(configured: string): string {
  return isAbsolute(configured) ? configured : join(ROOT, configured);
}

/**
 * Reads and validates the file; null when it does not exist. Throws
 * {@link SchedulesFileError} for bad JSON or any invalid schedule, naming
 * each problem as `schedule "<name>" (#<n>): <field>: <message>`.
 */
export async function readSchedulesFile(path: string): Promise<CreateSchedule[] | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new SchedulesFileError(`${path}: cannot read the schedules file: ${err}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SchedulesFileError(
      `${path}: not valid JSON (${(err as Error).message}); expected {"schedules": [ … ]}`,
    );
  }
  const res = schedulesFile.safeParse(value);
  if (res.success) return res.data.schedules;
  throw new SchedulesFileError(`${path}: invalid schedules file:\n${describe(value, res.error)}`);
}

/** One line per issue, naming the schedule and the field. */
function describe(value: unknown, err: z.ZodError): string {
  const list = (value as { schedules?: unknown[] })?.schedules;
  return err.issues.map((i) => {
    const [top, index, ...rest] = i.path;
    if (top === "schedules" && typeof index === "number") {
      const name = (list?.[index] as { name?: unknown })?.name;
      const who = typeof name === "string" ? `schedule ${JSON.stringify(name)}` : "schedule";
      return `  ${who} (#${index + 1}): ${rest.map(String).join(".") || "(entry)"}: ${i.message}`;
    }
    return `  ${i.path.map(String).join(".") || "(file)"}: ${i.message}`;
  }).join("\n");
}

/**
 * Reads the file and applies it (see the module comment); null when there
 * is no file. Throws {@link SchedulesFileError} for a bad file before
 * changing anything.
 */
export async function applySchedulesFile(
  sql: Sql,
  opts: { path: string; now?: Date | null },
): Promise<FileApplied | null> {
  const declared = await readSchedulesFile(opts.path);
  if (!declared) {
    log("info", "schedules.file_absent", { path: opts.path });
    return null;
  }
  const applied = await applyFile(sql, { schedules: declared, now: opts.now });
  log("info", "schedules.file_applied", { path: opts.path, ...applied });
  return applied;
}
