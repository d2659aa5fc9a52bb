#!/usr/bin/env bash
# Measures the agent's memory while it uploads one large file over tus: used heap (jstat: survivor + eden +
# old, in MiB) and resident set size (VmRSS from /proc, in MiB), sampled every second, then min / max / last.
#
#   set -a; . ./.wharf-dev/dev.env; set +a     # a gateway to upload to (./wharf dev in another terminal)
#   agent/bench/upload-memory.sh [SIZE_MIB] [extra agent upload flags…]
#
# SIZE_MIB defaults to 1024 (a 1 GiB file of random bytes in a temporary folder). The agent runs as a device
# would run it: java -Xmx64m -jar agent/target/wharf-agent.jar (override with AGENT_JAVA_OPTS).
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mib=${1:-1024}
shift || true
jar=agent/target/wharf-agent.jar
[ -f "$jar" ] || ./mvnw -q -B -ntp -pl agent -am -DskipTests package
: "${WHARF_URL:?set WHARF_URL (source .wharf-dev/dev.env)}"
: "${WHARF_DEVICE_TOKEN:?set WHARF_DEVICE_TOKEN (source .wharf-dev/dev.env)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "writing a ${size_mib} MiB file of random bytes ..." >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/big.bin"
java ${AGENT_JAVA_OPTS:--Xmx64m} -jar "$jar" upload "$work/big.bin" --state-dir "$work/state" --progress lines "$@" \
  > "$work/agent.out" 2>&1 &
pid=$!
samples="$work/samples"
: > "$samples"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  heap=$(jstat -gc "$pid" 2>/dev/null | awk 'NR==2 {printf "%.1f", ($3+$4+$6+$8)/1024}' || true)
  if [ -n "$rss" ] && [ -n "$heap" ]; then
    echo "$(date +%s) $heap $(awk -v r="$rss" 'BEGIN {printf "%.1f", r/1024}')" >> "$samples"
  fi
  sleep 1
done
wait "$pid" && rc=0 || rc=$?
cat "$work/agent.out" | grep -v ' bytes (' || true
echo "agent exit code: $rc"
echo "samples: $(wc -l < "$samples") (one a second)"
echo "time   heap_used_MiB   rss_MiB"
awk 'NR==1 {t0=$1} {printf "%4ds   %13s   %7s\n", $1-t0, $2, $3}' "$samples"
awk '{h=$2; r=$3; if (NR==1 || h>hmax) hmax=h; if (NR==1 || h<hmin) hmin=h; if (NR==1 || r>rmax) rmax=r; if (NR==1 || r<rmin) rmin=r; hl=h; rl=r}
  END {printf "heap used MiB: min %.1f  max %.1f  last %.1f\nRSS MiB:       min %.1f  max %.1f  last %.1f\n", hmin, hmax, hl, rmin, rmax, rl}' "$samples"
exit "$rc"
