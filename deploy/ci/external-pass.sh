#!/usr/bin/env bash
# The production configuration path, end to end: `wharf serve` from wharf-server.jar (no embedded
# servers in it) against Debian's PostgreSQL, Redis and Mosquitto and a standalone s3proxy, all on
# loopback, then curl through upload → processed → download, a delivery through the inbox, an MQTT
# upload request → grant → PUT in broker mode, and a tus upload in two chunks. Everything it starts lives in one temporary directory
# and is stopped at the end; it fails (exit 1, with the logs' tails) when any step does.
#
#   deploy/ci/external-pass.sh            (after ./mvnw package or verify; .ci/run calls it)
#
# On a fresh Debian machine as root it installs what is missing (postgresql, redis-server, mosquitto,
# mosquitto-clients, curl, jq). s3proxy is org.gaul:s3proxy:2.6.0:jar-with-dependencies from Maven
# Central, fetched with the Maven wrapper.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
JAR=${WHARF_SERVER_JAR:-$ROOT/gateway/target/wharf-server.jar}
S3PROXY_VERSION=2.6.0
ADMIN=external-pass-admin-token-0123456789
STARTED=$(date +%s)

say() { echo "external-pass: $*"; }
fail() { say "FAILED: $*"; exit 1; }

[ -f "$JAR" ] || fail "$JAR is missing; run ./mvnw -DskipTests package first"

# --- packages ------------------------------------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
missing=()
[ -n "$(pg_bin)" ] || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || fail "missing ${missing[*]} (install them, or run as root on Debian)"
  say "installing ${missing[*]}"
  apt_log=$(mktemp /tmp/wharf-external-apt.XXXXXX)
  apt-get update -qq >"$apt_log" 2>&1 || { tail -20 "$apt_log"; fail "apt-get update"; }
  # A policy-rc.d that says no keeps the packages from starting their own services on the default
  # ports (this script runs its own instances); it is removed again if it was not there before.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$apt_log" 2>&1 || { tail -20 "$apt_log"; fail "apt-get install ${missing[*]}"; }
  [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  rm -f "$apt_log"
fi
PG=$(pg_bin)
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

# --- a working directory and free loopback ports ------------------------------------------------
WORK=$(mktemp -d /tmp/wharf-external.XXXXXX)
chmod 755 "$WORK"
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  fail "no free port"
}
PG_PORT=$(free_port); REDIS_PORT=$(free_port); S3_PORT=$(free_port); MQTT_PORT=$(free_port); HTTP_PORT=$(free_port)
URL=http://127.0.0.1:$HTTP_PORT
PIDS=()
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  local rc=$?
  set +e
  [ -n "${WHARF_PID:-}" ] && kill -TERM "$WHARF_PID" 2>/dev/null && wait "$WHARF_PID" 2>/dev/null
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
  [ -d "$WORK/pg/data" ] && as_postgres "$PG/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1
  if [ $rc -ne 0 ]; then
    for log in wharf.log s3proxy.log mosquitto.log redis.log pg/log; do
      [ -f "$WORK/$log" ] && { echo "----- $log (last 40 lines)"; tail -n 40 "$WORK/$log"; }
    done
    say "logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local until=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || fail "$what did not happen within the deadline"
    sleep 0.5
  done
}

# --- PostgreSQL: our own cluster, password (SCRAM) over TCP as in production -------------------
mkdir -p "$WORK/pg" && chown -R postgres "$WORK/pg" 2>/dev/null || true
echo postgres > "$WORK/pg/pw" && chmod 644 "$WORK/pg/pw"
as_postgres "$PG/initdb" -D "$WORK/pg/data" -U postgres --pwfile="$WORK/pg/pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
as_postgres "$PG/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $WORK/pg" start >/dev/null
as_postgres "$PG/psql" -h "$WORK/pg" -p "$PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE wharf LOGIN PASSWORD 'wharf-ci'" -c "CREATE DATABASE wharf OWNER wharf" >/dev/null
say "postgresql $("$PG/postgres" --version | awk '{print $3}') on $PG_PORT"

# --- Redis ---------------------------------------------------------------------------------------
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" --dir "$WORK" >/dev/null
wait_for 20 "redis answering" redis-cli -p "$REDIS_PORT" ping
say "redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on $REDIS_PORT"

# --- Mosquitto (anonymous on loopback: the devices' auth through Wharf needs mosquitto-go-auth,
#     which Debian does not package; deploy/mosquitto/mosquitto.conf is that setup) ---------------
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" > "$WORK/mosquitto.conf"
"$MOSQUITTO" -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_for 20 "mosquitto listening" bash -c "exec 3<>/dev/tcp/127.0.0.1/$MQTT_PORT"
say "mosquitto on $MQTT_PORT"

# --- s3proxy, standalone -------------------------------------------------------------------------
./mvnw -q -B -ntp -N dependency:copy -Dartifact=org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies \
  -DoutputDirectory="$WORK" >/dev/null || fail "could not fetch s3proxy $S3PROXY_VERSION from Maven Central"
mkdir -p "$WORK/s3"
cat > "$WORK/s3proxy.properties" <<PROPS
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=wharf-ci
s3proxy.credential=wharf-ci-secret
jclouds.provider=filesystem
jclouds.filesystem.basedir=$WORK/s3
PROPS
java -jar "$WORK/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar" --properties "$WORK/s3proxy.properties" > "$WORK/s3proxy.log" 2>&1 &
PIDS+=($!)
wait_for 60 "s3proxy listening" bash -c "exec 3<>/dev/tcp/127.0.0.1/$S3_PORT"
say "s3proxy $S3PROXY_VERSION on $S3_PORT"

# --- Wharf ---------------------------------------------------------------------------------------
export WHARF_ADMIN_TOKEN=$ADMIN WHARF_HTTP_HOST=127.0.0.1 WHARF_HTTP_PORT=$HTTP_PORT WHARF_HTTP_PUBLIC_URL=$URL \
  WHARF_HTTP_INSTANCES=2 \
  WHARF_POSTGRES_HOST=127.0.0.1 WHARF_POSTGRES_PORT=$PG_PORT WHARF_POSTGRES_USER=wharf WHARF_POSTGRES_PASSWORD=wharf-ci \
  WHARF_REDIS_URI=redis://127.0.0.1:$REDIS_PORT \
  WHARF_S3_ENDPOINT=http://127.0.0.1:$S3_PORT WHARF_S3_ACCESS_KEY=wharf-ci WHARF_S3_SECRET_KEY=wharf-ci-secret \
  WHARF_MQTT_MODE=broker WHARF_MQTT_BROKER_URI=mqtt://127.0.0.1:$MQTT_PORT WHARF_MQTT_BROKER_CLIENT_ID=wharf-ci \
  WHARF_MQTT_BROKER_RECONNECT_MAX=1s WHARF_INGEST_POLL_INTERVAL=100ms

if command -v jar >/dev/null && jar tf "$JAR" | grep -q '^dev/wharf/devstack/'; then
  fail "$JAR holds the embedded dev servers (dev/wharf/devstack); it must not"
fi
out=$(timeout 60 java -jar "$JAR" dev 2>&1) && fail "wharf-server.jar ran dev" || true
grep -q "not in this jar" <<<"$out" || fail "wharf-server.jar dev did not say it is not in this jar: $out"
java -jar "$JAR" migrate > "$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; fail "wharf migrate"; }
say "$(grep 'migrations applied' "$WORK/migrate.log")"

java -jar "$JAR" serve > "$WORK/wharf.log" 2>&1 &
WHARF_PID=$!
wait_for 90 "wharf ready (/readyz 200)" curl -fsS "$URL/readyz"
say "wharf serve ready on $HTTP_PORT ($(du -h "$JAR" | cut -f1) jar)"

# --- the pass ------------------------------------------------------------------------------------
api() { # api METHOD PATH TOKEN [curl args...] -> body on stdout, fails on a non-2xx
  local method=$1 path=$2 token=$3; shift 3
  curl -sS --fail-with-body -X "$method" "$URL$path" ${token:+-H "Authorization: Bearer $token"} "$@"
}
json() { api "$1" "$2" "$3" -H 'Content-Type: application/json' -d "$4"; }

json POST /v1/admin/tenants "$ADMIN" '{"id":"ci","name":"external pass"}' >/dev/null
D1=$(json POST /v1/admin/tenants/ci/devices "$ADMIN" '{"id":"ci-robot-1"}' | jq -r .token.token)
D2=$(json POST /v1/admin/tenants/ci/devices "$ADMIN" '{"id":"ci-robot-2"}' | jq -r .token.token)
SENDER=$(json POST /v1/admin/tenants/ci/tokens "$ADMIN" '{"scopes":["deliver","read"]}' | jq -r .token)

# Upload → processed → download (whole, and a range).
head -c 300000 /dev/urandom | base64 -w 100 | sed 's/.*/{"line":"&"}/' > "$WORK/upload.jsonl"
SHA=$(sha256sum "$WORK/upload.jsonl" | cut -d' ' -f1)
FILE=$(api POST /v1/files "$D1" -H 'X-Wharf-Filename: telemetry.jsonl' -H "X-Wharf-Checksum-SHA256: $SHA" \
  --data-binary @"$WORK/upload.jsonl")
FILE_ID=$(jq -r .id <<<"$FILE")
[ "$(jq -r .sha256 <<<"$FILE")" = "$SHA" ] || fail "upload answered another sha256: $FILE"
processed() { [ "$(api GET "/v1/files/$1" "$D1" | jq -r .status)" = processed ]; }
wait_for 60 "file $FILE_ID processed" processed "$FILE_ID"
api GET "/v1/files/$FILE_ID/content" "$D1" -o "$WORK/download.jsonl"
cmp -s "$WORK/upload.jsonl" "$WORK/download.jsonl" || fail "downloaded bytes differ"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $D1" -H 'Range: bytes=0-9' "$URL/v1/files/$FILE_ID/content")" = 206 ] \
  || fail "range request not answered 206"
say "upload → processed → download: ok ($(stat -c%s "$WORK/upload.jsonl") bytes)"

# Large bodies, both ways to S3: with a Content-Length (curl -T FILE) the gateway streams it as one PUT of
# that length; chunked (curl -T -) it goes up as a multipart upload.
head -c $((20 * 1024 * 1024 + 123)) /dev/urandom > "$WORK/big.bin"
BIG_SHA=$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)
for mode in length chunked; do
  if [ "$mode" = length ]; then
    BIG=$(curl -sS --fail-with-body -X POST "$URL/v1/files" -H "Authorization: Bearer $D1" -H 'X-Wharf-Filename: big.bin' \
      -T "$WORK/big.bin")
  else
    BIG=$(curl -sS --fail-with-body -X POST "$URL/v1/files" -H "Authorization: Bearer $D1" -H 'X-Wharf-Filename: big.bin' \
      -T - < "$WORK/big.bin")
  fi
  BIG_ID=$(jq -r .id <<<"$BIG")
  [ "$(jq -r .sha256 <<<"$BIG")" = "$BIG_SHA" ] || fail "$mode upload answered another sha256: $BIG"
  wait_for 60 "file $BIG_ID processed" processed "$BIG_ID"
  api GET "/v1/files/$BIG_ID/content" "$D1" -o "$WORK/big.down"
  cmp -s "$WORK/big.bin" "$WORK/big.down" || fail "$mode upload: downloaded bytes differ"
done
say "20 MiB upload with a Content-Length (one streamed PUT) and chunked (multipart) → processed → download: ok"

# Inbox: the sender stages a file for robot-2 (streamed multipart); robot-2 polls, fetches, acks.
echo '{"mission":"survey"}' > "$WORK/mission.json"
DELIVERY=$(api POST /v1/devices/ci-robot-2/deliveries "$SENDER" -F file=@"$WORK/mission.json" | jq -r '.items[0].id')
[ "$(api GET '/v1/inbox?wait=5' "$D2" | jq -r '.items[0].id')" = "$DELIVERY" ] || fail "inbox did not list the delivery"
api GET "/v1/inbox/$DELIVERY/content" "$D2" -o "$WORK/mission.got"
cmp -s "$WORK/mission.json" "$WORK/mission.got" || fail "inbox content differs"
[ "$(api POST "/v1/inbox/$DELIVERY/ack" "$D2" | jq -r .state)" = acked ] || fail "ack"
[ "$(api GET "/v1/deliveries/$DELIVERY" "$SENDER" | jq -r .state)" = acked ] || fail "sender does not see acked"
say "inbox: stage → poll → fetch → ack: ok"

# MQTT (broker mode through Mosquitto): request → grant → PUT → processed.
broker_connected() { curl -fsS "$URL/metrics" | grep -q '^wharf_mqtt_broker_connections 1'; }
wait_for 30 "wharf connected to mosquitto" broker_connected
printf '{"hello":"wharf"}' > "$WORK/hello.json"
mosquitto_sub -p "$MQTT_PORT" -h 127.0.0.1 -i ci-robot-1 -q 1 -t wharf/d/ci-robot-1/upload/grant -C 1 -W 30 > "$WORK/grant.json" &
SUB=$!
REQ="{\"req\":\"ci-1\",\"filename\":\"hello.json\",\"size\":$(stat -c%s "$WORK/hello.json"),\"sha256\":\"$(sha256sum "$WORK/hello.json" | cut -d' ' -f1)\"}"
# The subscription may not be in place yet: ask until the grant arrives (a repeated req gets the same grant).
for _ in $(seq 1 30); do
  [ -s "$WORK/grant.json" ] && break
  mosquitto_pub -p "$MQTT_PORT" -h 127.0.0.1 -i ci-robot-1-pub -q 1 -t wharf/d/ci-robot-1/upload/request -m "$REQ"
  sleep 1
done
wait "$SUB" || fail "no grant over MQTT"
GRANT_URL=$(jq -r .url "$WORK/grant.json"); GRANT_FILE=$(jq -r .file_id "$WORK/grant.json")
[ "$GRANT_URL" != null ] || fail "grant carries an error: $(cat "$WORK/grant.json")"
curl -sS --fail-with-body -X PUT --data-binary @"$WORK/hello.json" "$GRANT_URL" >/dev/null || fail "grant PUT"
wait_for 60 "granted file processed" processed "$GRANT_FILE"
say "mqtt: request → grant → PUT → processed: ok"

# Metrics say what happened; then a graceful stop.
METRICS=$(curl -fsS "$URL/metrics")
grep -q '^wharf_uploads_total{outcome="created"} 4' <<<"$METRICS" || fail "wharf_uploads_total does not count four uploads (a small, two large, a grant PUT)"
grep -q '^wharf_dependency_up{dependency="s3"} 1' <<<"$METRICS" || fail "wharf_dependency_up missing"
# tus 1.0.0: create, append in two chunks, HEAD reports the durable offset, the last byte completes the file.
header() { tr -d '\r' | awk -v h="$1" 'tolower($1) == tolower(h) ":" {print $2}'; }
LOC=$(curl -sS --fail-with-body -D - -o /dev/null -X POST "$URL/v1/tus" -H "Authorization: Bearer $D1" \
  -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $(stat -c%s "$WORK/upload.jsonl")" \
  -H "Upload-Metadata: filename $(printf tus.jsonl | base64)" | header Location)
[ -n "$LOC" ] || fail "tus creation gave no Location"
head -c 200000 "$WORK/upload.jsonl" | curl -sS --fail-with-body -X PATCH "$URL$LOC" -H "Authorization: Bearer $D1" \
  -H 'Tus-Resumable: 1.0.0' -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 0' --data-binary @- >/dev/null
OFFSET=$(curl -sS --fail-with-body -I "$URL$LOC" -H "Authorization: Bearer $D1" -H 'Tus-Resumable: 1.0.0' | header Upload-Offset)
[ "$OFFSET" = 200000 ] || fail "tus HEAD reports offset $OFFSET, not 200000"
tail -c +200001 "$WORK/upload.jsonl" | curl -sS --fail-with-body -X PATCH "$URL$LOC" -H "Authorization: Bearer $D1" \
  -H 'Tus-Resumable: 1.0.0' -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 200000' --data-binary @- >/dev/null
TUS_FILE=${LOC##*/}
wait_for 60 "tus file $TUS_FILE processed" processed "$TUS_FILE"
api GET "/v1/files/$TUS_FILE/content" "$D1" -o "$WORK/tus.got"
cmp -s "$WORK/upload.jsonl" "$WORK/tus.got" || fail "tus upload's bytes differ"
say "tus: create → PATCH → HEAD → PATCH → processed → download: ok"
kill -TERM "$WHARF_PID"
wait "$WHARF_PID" || true
unset WHARF_PID
grep -q "wharf stopped" "$WORK/wharf.log" || fail "wharf did not stop gracefully"
say "passed in $(( $(date +%s) - STARTED )) s"
