#!/usr/bin/env bash
# The benchmarks in one command: builds every module with the bench profile (tests skipped), then runs
# bench/target/wharf-bench.jar from the repository root. The first argument picks the benchmark: spine (the
# default: issue 2, uploads, heap, queue), inbox (issue 3, held long-polls), mqtt (issue 4, connections and
# grant round trips), tus (issue 7, a 1 GiB resumable upload against a direct PUT),
# small (issue 11, small requests: rate and gateway CPU per request against presigned PUTs and /healthz) or all (spine and inbox); options are passed through (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=spine
case "${1:-}" in
  spine|inbox|mqtt|tus|queue|small|all) mode=$1 ;;
esac

if [ "$mode" = "inbox" ] || [ "$mode" = "mqtt" ] || [ "$mode" = "all" ]; then
  # One socket per held poll on each side (the client here, the gateway child): the default 10,000 polls need an
  # open-file limit above about 12,000. Raise the soft limit to the hard one when that is allowed.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  echo "open-file limit (soft/hard): $(ulimit -Sn)/$(ulimit -Hn)"
fi

if [ "$mode" != "inbox" ] && [ "$mode" != "mqtt" ] && [ "$mode" != "tus" ] && [ "$mode" != "small" ] && ! command -v redis-benchmark >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "redis-benchmark not found: installing Debian's redis-tools (apt-get install -y redis-tools)"
    apt-get install -y -q redis-tools >/dev/null 2>&1 \
      || { echo "  apt-get install failed; running apt-get update once and retrying"; apt-get update -q >/dev/null 2>&1 && apt-get install -y -q redis-tools >/dev/null 2>&1; } \
      || echo "  could not install redis-tools: the ZADD yardstick will be skipped"
  else
    echo "redis-benchmark not found and not root: the ZADD yardstick will be skipped (install redis-tools to get it)"
  fi
fi

if [ "$mode" = "queue" ] && [ ! -d bench/target/bullmq/node_modules/bullmq ]; then
  # The yardstick of the queue benchmark is BullMQ on the same Redis, run by node from bench/bullmq/noop.cjs.
  echo "installing BullMQ for the queue benchmark: npm install --prefix bench/target/bullmq bullmq@5"
  mkdir -p bench/target/bullmq && npm install --prefix bench/target/bullmq --no-audit --no-fund bullmq@5 >/dev/null
fi

echo "building: ./mvnw -q -B -Pbench -DskipTests package"
./mvnw -q -B -Pbench -DskipTests package
exec java -Xmx2g -jar bench/target/wharf-bench.jar "$@"
