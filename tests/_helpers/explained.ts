/**
 * A session of its own whose statements' plans come back as notices
 * (auto_explain, with actual row counts): what the plan tests read.
 */
import postgres from "postgres";

/** One connection to `url`; after `explain()`, each statement's plan is in `plans()`. */
export function explainedSession(url: string) {
  const notices: string[] = [];
  const conn = postgres(url, {
    max: 1,
    onnotice: (n: { message?: string }) => notices.push(String(n.message ?? "")),
  });
  return {
    conn,
    /** From now on, every statement of this session (nested ones too) logs its plan to it. */
    async explain(): Promise<void> {
      await conn`LOAD 'auto_explain'`;
      await conn`SET auto_explain.log_min_duration = 0`;
      await conn`SET auto_explain.log_nested_statements = on`;
      await conn`SET auto_explain.log_analyze = on`;
      await conn`SET client_min_messages = log`;
    },
    /** The plans logged so far, one after another. */
    plans: (): string => notices.join("\n---\n"),
    close: () => conn.end({ timeout: 2 }),
  };
}
