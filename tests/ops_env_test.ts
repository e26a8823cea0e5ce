/** `.env.example` and lib/config.ts agree: same names, same order, same defaults. */
import { ENV_NAMES, parseConfig } from "../lib/config.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

const ROOT = new URL("../", import.meta.url);

/** Entries of a dotenv file: name, value (quotes removed) and the comment line above it. */
async function readEnvExample(): Promise<{ name: string; value: string; comment: string }[]> {
  const lines = (await Deno.readTextFile(new URL(".env.example", ROOT))).split("\n");
  const out: { name: string; value: string; comment: string }[] = [];
  lines.forEach((line, i) => {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) return;
    let value = m[2];
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    out.push({ name: m[1], value, comment: lines[i - 1] ?? "" });
  });
  return out;
}

Deno.test(".env.example: lists every variable of ENV_SCHEMA, in the same order", async () => {
  const names = (await readEnvExample()).map((e) => e.name);
  assertEquals(names, [...ENV_NAMES]);
});

Deno.test(".env.example: each value is the schema's default, or empty where there is none", async () => {
  const defaults = parseConfig({}) as Record<string, unknown>;
  for (const e of await readEnvExample()) {
    if (defaults[e.name] === undefined) {
      assertEquals(e.value, "", `${e.name} has no default in lib/config.ts, so it should be empty`);
      continue;
    }
    const parsed = parseConfig({ [e.name]: e.value }) as Record<string, unknown>;
    assertEquals(parsed[e.name], defaults[e.name], `${e.name}=${e.value} is not the default`);
  }
});

Deno.test(".env.example: every variable has a one-line comment right above it", async () => {
  for (const e of await readEnvExample()) {
    assert(/^# \S/.test(e.comment), `${e.name} needs a "# …" comment on the line above`);
  }
});

Deno.test(".env.example: the whole file, as it is, is a valid configuration", async () => {
  const env = Object.fromEntries((await readEnvExample()).map((e) => [e.name, e.value]));
  const config = parseConfig(env);
  assertEquals(config.HOST, "127.0.0.1");
  assertEquals(config.DATABASE_URL, undefined);
});
