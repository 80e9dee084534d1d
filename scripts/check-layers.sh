#!/usr/bin/env bash
# Domain packages never depend on the HTTP or job layers: fiber, asynq,
# miniprogramapi, console or jobs (directly or through another package).
set -euo pipefail
cd "$(dirname "$0")/.."
mod=github.com/siyu-live/siyu
forbidden='^(github.com/gofiber/fiber/v2|github.com/hibiken/asynq|'"$mod"'/miniprogram-api|'"$mod"'/console|'"$mod"'/jobs)(/|$)'
status=0
for dir in live catalog payments community staff analytics accesstoken outbox database; do
  [ -d "$dir" ] || continue
  for pkg in $(go list "./$dir/..."); do
    bad=$(go list -deps "$pkg" | grep -E "$forbidden" || true)
    if [ -n "$bad" ]; then
      echo "layering: $pkg depends on:" $bad
      status=1
    fi
  done
done
[ $status -eq 0 ] && echo "layering: domain packages are free of HTTP and job dependencies"
exit $status
