/** The README, the compose file and the Dockerfile stay true to the code. */
import { ENV_NAMES, parseConfig } from "../lib/config.ts";
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";

const ROOT = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));

Deno.test("README: the configuration table lists every variable with its default", async () => {
  const readme = await read("README.md");
  const defaults = parseConfig({}) as Record<string, unknown>;
  for (const name of ENV_NAMES) {
    const row = readme.split("\n").find((l) => l.startsWith(`| \`${name}\``));
    assert(row, `README's configuration table has no row for ${name}`);
    const cell = row.split("|")[2].trim();
    const expected = defaults[name] === undefined ? "—" : `\`${String(defaults[name])}\``;
    assertEquals(cell, expected, `default of ${name} in README`);
  }
});

Deno.test("README: the quick start is the three documented steps", async () => {
  const readme = await read("README.md");
  assertStringIncludes(readme, "1. Install Deno: `npm install -g deno@2.9.6`");
  assertStringIncludes(readme, "2. `deno task start`");
  assertStringIncludes(readme, "3. `deno task test`");
  const tasks = JSON.parse(await read("deno.json")).tasks as Record<string, string>;
  for (const m of readme.matchAll(/deno task ([a-z:]+)/g)) {
    assert(m[1] in tasks, `README mentions deno task ${m[1]}, which deno.json does not define`);
  }
});

Deno.test("README: every local link and image points at a file in the repository", async () => {
  const readme = await read("README.md");
  for (const m of readme.matchAll(/\]\(([^)#]+)\)/g)) {
    const target = m[1];
    if (/^[a-z]+:/.test(target)) continue;
    assert(!target.startsWith(".."), `README links outside the repository: ${target}`);
    const stat = await Deno.stat(new URL(target, ROOT)).catch(() => null);
    assert(stat, `README links to ${target}, which does not exist`);
  }
});

Deno.test("compose and image: worker grace outlasts SHUTDOWN_GRACE_SECONDS; Deno pinned as in CI", async () => {
  const compose = await read("docker-compose.yml");
  const worker = compose.slice(compose.indexOf("\n  worker:"), compose.indexOf("\n  mailpit:"));
  const grace = /stop_grace_period: (\d+)s/.exec(worker);
  assert(grace, "the worker service sets stop_grace_period in seconds");
  assert(Number(grace[1]) > parseConfig({}).SHUTDOWN_GRACE_SECONDS, "stop_grace_period too short");
  assertStringIncludes(worker, 'command: ["deno", "task", "worker"]');
  assertStringIncludes(compose, "image: postgres:15");
  assertStringIncludes(compose, "pg_isready");
  assertStringIncludes(compose, "127.0.0.1:8000}:8000");
  assertStringIncludes(compose, "127.0.0.1:8025:8025");
  const ci = await read(".ci/run");
  const version = /^DENO_VERSION=(\S+)$/m.exec(ci)?.[1];
  assert(version, ".ci/run pins DENO_VERSION");
  const dockerfile = await read("Dockerfile");
  assertStringIncludes(dockerfile, `FROM denoland/deno:${version}\n`);
  assertStringIncludes(dockerfile, "RUN deno install --frozen");
  assertStringIncludes(dockerfile, "USER deno");
});
