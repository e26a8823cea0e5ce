/** Request body examples: shown on /docs and checked against their schemas by the tests. */
export const EXAMPLE_ID = "3f0c8b52-5d1e-4c3a-9a57-1b2f7a6e4d10";
export const EXAMPLES = {
  createJob: {
    email: {
      type: "email",
      payload: { to: "ada@example.com", subject: "Welcome", body: "Hello Ada" },
      priority: 5,
    },
    report: {
      type: "report",
      payload: {
        report_type: "failures",
        format: "csv",
        date_range: { from: "2026-11-01", to: "2026-11-30" },
      },
      scheduled_for: "2026-12-01T06:00:00Z",
    },
    unique: {
      type: "notification",
      payload: { user_id: "user-42", channel: "push", message: "Your report is ready" },
      unique_key: "report-ready:user-42",
      timeout_seconds: 20,
      expires_at: "2026-12-01T07:00:00Z",
    },
  },
  createJobBatch: {
    two: {
      jobs: [
        {
          type: "notification",
          payload: { user_id: "user-42", channel: "push", message: "Your report is ready" },
        },
        {
          type: "email",
          payload: { to: "bob@example.com", subject: "Hi", body: "Hello Bob" },
          priority: 1,
        },
      ],
    },
  },
  bulkJobs: {
    cancel: { action: "cancel", ids: [EXAMPLE_ID, EXAMPLE_ID.toUpperCase()] },
    retryFailedEmailsDryRun: {
      action: "retry",
      filter: { status: ["failed"], type: ["email"] },
      dry_run: true,
    },
    retryFailedEmails: { action: "retry", filter: { status: ["failed"], type: ["email"] } },
    deleteEverything: { action: "delete", filter: {}, all: true },
  },
  patchQueue: {
    pause: { paused: true },
    limit: { concurrency: 2 },
    unlimited: { concurrency: null },
  },
  cancelJob: { empty: {} },
  retryJob: {
    empty: {},
    edit: {
      payload: { to: "ada@example.org", subject: "Welcome", body: "Hello Ada" },
      priority: 5,
    },
    move: { queue: "mail-slow" },
  },
  createSchedule: {
    weekdayMail: {
      name: "weekday-digest",
      cron: "0 8 * * 1-5",
      timezone: "Europe/Berlin",
      type: "email",
      payload: { to: "team@example.com", subject: "Daily digest", body: "Good morning" },
      priority: 4,
    },
  },
  updateSchedule: { disable: { enabled: false } },
  deleteSchedule: { empty: {} },
  runSchedule: { empty: {} },
  claimJob: { named: { worker: "ext-1", types: ["email", "notification"] } },
  completeJob: {
    done: { result: { message_id: "<1@example.com>" }, worker: "ext-1", attempt: 1 },
  },
  failJob: {
    retry: { error: "webhook answered 503", worker: "ext-1", attempt: 1 },
    permanent: {
      error: { code: "E_BOUNCE", detail: "no such user" },
      permanent: true,
      worker: "ext-1",
      attempt: 1,
    },
  },
} as const;
