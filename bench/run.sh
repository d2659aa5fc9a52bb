#!/usr/bin/env bash
# The issue-2 benchmark in one command: builds every module with the bench profile (tests skipped), then runs
# bench/target/wharf-bench.jar from the repository root. Options are passed through (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

# The issue-4 MQTT benchmark: ./bench/run.sh mqtt [--name value ...] (needs no redis-benchmark).
if [ "${1:-}" = "mqtt" ]; then
  echo "building: ./mvnw -q -B -Pbench -DskipTests package"
  ./mvnw -q -B -Pbench -DskipTests package
  exec java -Xmx2g -jar bench/target/wharf-bench.jar "$@"
fi

if ! command -v redis-benchmark >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "redis-benchmark not found: installing Debian's redis-tools (apt-get install -y redis-tools)"
    apt-get install -y -q redis-tools >/dev/null 2>&1 \
      || { echo "  apt-get install failed; running apt-get update once and retrying"; apt-get update -q >/dev/null 2>&1 && apt-get install -y -q redis-tools >/dev/null 2>&1; } \
      || echo "  could not install redis-tools: the ZADD yardstick will be skipped"
  else
    echo "redis-benchmark not found and not root: the ZADD yardstick will be skipped (install redis-tools to get it)"
  fi
fi

echo "building: ./mvnw -q -B -Pbench -DskipTests package"
./mvnw -q -B -Pbench -DskipTests package
exec java -Xmx2g -jar bench/target/wharf-bench.jar "$@"
