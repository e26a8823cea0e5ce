/**
 * The statements a runner uses, gathered from their own modules rather than
 * from `lib/queue/mod.ts`: every runner is a V8 isolate that loads what it
 * imports, and the whole queue core (with zod and croner) costs each of them
 * tens of milliseconds of CPU at start-up. Imported as the `jobs` namespace,
 * as everywhere else.
 */
export { claim, completeAndClaim, type LeanJob } from "../lib/queue/claim.ts";
export { complete, completeIds } from "../lib/queue/complete.ts";
export { fail } from "../lib/queue/fail.ts";
export { release } from "../lib/queue/release.ts";
export { PROGRESS_MESSAGE_MAX, setProgress } from "../lib/queue/progress.ts";
