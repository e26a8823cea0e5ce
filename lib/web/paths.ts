/** Path helpers shared by the web layer. */
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export function toFileUrl(path: string): URL {
  return pathToFileURL(path);
}

/** The project root (the folder holding deno.json). */
export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
