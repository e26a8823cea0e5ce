# jobq: one image for both roles.
#   web (default):  deno task web      — dashboard, /api, /healthz, /metrics on PORT (8000)
#   worker:         deno task worker   — supervisor + WORKER_CONCURRENCY Web Workers
# Every entry point applies pending migrations at start (under an advisory lock).
# Build: docker build -t jobq .   (docker compose up --build does it for you)
FROM denoland/deno:2.9.6

ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    NO_COLOR=1 \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app
# The image's unprivileged user (uid 1993) owns the app folder; nothing runs as root.
RUN chown deno:deno /app
USER deno

# Dependencies in their own layer: rebuilt only when deno.json or deno.lock change.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

# The sources, then the island bundles (static/islands/) built once, at image build
# time, and the module graph of every entry point cached, so a start compiles nothing.
COPY --chown=deno:deno . .
RUN deno task build \
 && deno cache main.ts worker/main.ts lib/migrate_cli.ts scripts/seed.ts scripts/prune.ts \
      scripts/healthcheck.ts \
 && mkdir -p .data

EXPOSE 8000
# Liveness of the web role: GET /healthz with Deno itself (the image has no curl).
# The worker role overrides it to its own /healthz on WORKER_METRICS_PORT (see docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "run", "--allow-net", "--allow-env", "scripts/healthcheck.ts"]

CMD ["deno", "task", "web"]
