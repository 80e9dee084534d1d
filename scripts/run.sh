#!/usr/bin/env bash
# make run: start LiveKit (unless LIVEKIT_URL is set), migrate, seed the demo
# brand and serve Siyu with its worker and the in-process WeChat sandbox.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
pids=()
cleanup() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for() { # url seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run: $1 did not answer within $2s" >&2
  return 1
}

if [ -z "${LIVEKIT_URL:-}" ]; then
  echo "run: starting LiveKit in dev mode on 127.0.0.1:7880 (log: data/livekit.log)"
  bin/livekit-server --dev --bind 127.0.0.1 --node-ip 127.0.0.1 >data/livekit.log 2>&1 &
  pids+=($!)
  wait_for http://127.0.0.1:7880 30
fi

bin/siyu migrate up
bin/siyu seed
bin/siyu serve --migrate --with-worker &
pids+=($!)
addr=${SIYU_HTTP_ADDR:-:8080}
port=${addr##*:}
wait_for "http://127.0.0.1:${port}/healthz" 30
cat <<MSG

Siyu is running.
  API             http://localhost:${port}/mp/v1  and  http://localhost:${port}/console/api/v1
  API document    http://localhost:${port}/openapi.json
  Readiness       http://localhost:${port}/readyz
  Metrics         http://localhost:${port}/metrics
  WeChat sandbox  http://localhost:${port}/sandbox/   (the shopper's phone, faults, inspection)
Demo credentials were printed by 'siyu seed' above. Press Ctrl-C to stop.
MSG
wait "${pids[-1]}"
