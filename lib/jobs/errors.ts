/**
 * Errors handlers throw. A module of its own, free of imports, so the
 * worker's runners can load it without the job schemas (and zod).
 */

/** Thrown by a handler for a failure that no retry can fix: the job fails at once. */
export class PermanentError extends Error {
  override name = "PermanentError";
}
