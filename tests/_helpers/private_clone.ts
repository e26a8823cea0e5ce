/**
 * A copy of this checkout inside a private folder (mode 0700, like root's home
 * or `mktemp -d`), to run its tasks from there as a user would: the files git
 * knows (tracked and new, not ignored), `node_modules` (hard links) and the
 * built island bundles; no `.data`.
 */
import { dirname, join } from "node:path";
import { repoPath } from "./faults.ts";

/** A private folder holding a copy of the project in `<folder>/jobq`. */
export interface PrivateClone {
  folder: string;
  project: string;
  remove(): Promise<void>;
}

async function sh(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** Copies the project into a new private folder. */
export async function privateClone(): Promise<PrivateClone> {
  const src = repoPath("");
  const folder = await Deno.makeTempDir({ prefix: "jobq-private-" });
  await Deno.chmod(folder, 0o700);
  const project = join(folder, "jobq");
  const files = (await sh("git", ["ls-files", "-co", "--exclude-standard", "-z"], src))
    .split("\0").filter(Boolean);
  for (const f of files) {
    await Deno.mkdir(dirname(join(project, f)), { recursive: true });
    try {
      await Deno.copyFile(join(src, f), join(project, f));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // deleted, not yet committed
    }
  }
  await sh("cp", ["-a", "--link", join(src, "node_modules"), project]);
  const islands = join(src, "static", "islands"); // built on demand: copied when there
  if (await Deno.stat(islands).then(() => true, () => false)) {
    await sh("cp", ["-a", islands, join(project, "static")]);
  }
  return { folder, project, remove: () => Deno.remove(folder, { recursive: true }) };
}
