#!/usr/bin/env bash
# Chaos test of the scale-out deployment, bounded in time:
#   scripts/chaos.sh [SECONDS]     (default 120)
#
# Two instances share a throwaway PostgreSQL and a one-node Garage (S3), both started here.
# 32 clients enroll, identify, list, re-record, rename and delete for SECONDS
# (scripts/chaos/load.py). A quarter in, instance B is killed with SIGKILL and restarted on the
# same port; at 60 %, PostgreSQL is stopped for 3 s and started again. Afterwards
# (scripts/chaos/verify.py and `voxprint admin check`): every enrollment answered 0 is present
# and byte-exact, nothing is half-written, no 5000 was answered outside the fault windows,
# instance A's memory did not keep growing, and the audio files the kill left without a
# voiceprint (no more than the writes it cut off) go with the orphan sweep of a restarted
# instance. Prints the counts; exits non-zero on any failure.
#
# VOXPRINT_BIN names the binary (default target/debug/voxprint).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-120}
bin=$(realpath "${VOXPRINT_BIN:-target/debug/voxprint}")
work=$(mktemp -d -t voxprint-chaos.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  scripts/garage.sh stop "$work/garage" >/dev/null 2>&1 || true
  scripts/postgres.sh stop "$work/postgres" || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { echo "chaos: $*" >&2; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

postgres_env=$(scripts/postgres.sh start "$work/postgres")
garage_env=$(scripts/garage.sh start "$work/garage" 2>"$work/garage-start.log") \
  || { cat "$work/garage-start.log" >&2; exit 1; }
eval "$postgres_env"
eval "$garage_env"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL AWS_ALLOW_HTTP
storage=(--database-url "$VOXPRINT_TEST_POSTGRES" --blob-store "s3://$VOXPRINT_TEST_S3_BUCKET/chaos")

# Starts instance NAME on PORT in the background, with any further flags, and waits until it
# listens; sets $started_pid.
start_instance() {
  local name=$1 port=$2
  shift 2
  VOXPRINT_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/$name" "${storage[@]}" \
    --max-voiceprints-per-group 50 "$@" >>"$work/$name.out" 2>>"$work/$name.log" &
  started_pid=$!
  pids+=("$started_pid")
  local deadline=$((SECONDS + 60))
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; do
    kill -0 "$started_pid" 2>/dev/null || { cat "$work/$name.log" >&2; log "instance $name exited"; exit 1; }
    ((SECONDS < deadline)) || { log "instance $name did not start within 60 s"; exit 1; }
    sleep 0.2
  done
}

port_a=$(free_port)
port_b=$(free_port)
start_instance a "$port_a"
pid_a=$started_pid
start_instance b "$port_b"
pid_b=$started_pid
token=$(cat "$work/a/admin-token")
url_a=http://127.0.0.1:$port_a
url_b=http://127.0.0.1:$port_b

# Instance A's resident memory every 3 s, for the growth check.
(while kill -0 "$pid_a" 2>/dev/null; do
  echo "$(now) $(awk '/^VmRSS/ {print $2}' "/proc/$pid_a/status")"
  sleep 3
done >"$work/rss") &
pids+=($!)

log "load: 32 clients on two instances for $seconds s"
python3 scripts/chaos/load.py --urls "$url_a,$url_b" --token "$token" --clients 32 --seconds "$seconds" \
  --clips testdata/corpus --out "$work/load.json" &
load_pid=$!

sleep "$(python3 -c "print($seconds * 0.25)")"
kill_start=$(now)
log "SIGKILL instance B"
kill -KILL "$pid_b"
wait "$pid_b" 2>/dev/null || true
sleep 2
start_instance b "$port_b"
pid_b=$started_pid
kill_end=$(python3 -c "print($(now) + 2)")
log "instance B is back"

sleep "$(python3 -c "print(max(0, $seconds * 0.35 - 4))")"
restart_start=$(now)
log "PostgreSQL stopped for 3 s"
scripts/postgres.sh down "$work/postgres"
sleep 3
scripts/postgres.sh up "$work/postgres"
# Pools notice the outage on their next use of each connection: allow a few seconds for it.
restart_end=$(python3 -c "print($(now) + 5)")
log "PostgreSQL is back"

wait "$load_pid"
cat >"$work/windows.json" <<EOF
[{"name": "instance B killed and restarted", "start": $kill_start, "end": $kill_end},
 {"name": "PostgreSQL restarted", "start": $restart_start, "end": $restart_end}]
EOF

status=0
python3 scripts/chaos/verify.py --url "$url_a" --token "$token" --load "$work/load.json" \
  --windows "$work/windows.json" --rss "$work/rss" || status=1
storage_check() { VOXPRINT_LOG=warn "$bin" admin "${storage[@]}" --data-dir "$work/a" check 2>&1; }
count_in() { awk -F'\t' -v name="$2" '$1 == name { print $2 }' <<<"$1"; }
# The SIGKILL may cut off an upload between its blob and its row, or a deletion between its row
# and its blob: audio no voiceprint refers to, at most one file per request it cut off (sent and
# never answered). Nothing else may be wrong, and the orphan sweep of a restarted instance must
# remove it (grace 0 is safe now: the load is over, no upload is in flight).
check=$(storage_check) || true
orphans=$(count_in "$check" "orphan audio files")
unanswered=$(python3 -c '
import json, sys
requests = json.load(open(sys.argv[1]))["requests"]
print(sum(r["op"] in ("enroll", "re-record", "delete") and str(r["outcome"]).startswith("no answer")
          and "ConnectionRefused" not in str(r["outcome"]) for r in requests))
' "$work/load.json")
if [[ $(count_in "$check" "damaged recordings") != 0 || -z $orphans ]] || ((orphans > unanswered)); then
  echo "FAIL: admin check ($unanswered writes left unanswered): $check"
  status=1
else
  if ((orphans > 0)); then
    echo "orphan audio files after the load: $orphans ($unanswered writes left unanswered)"
    kill -TERM "$pid_b"
    wait "$pid_b" 2>/dev/null || true
    start_instance b "$port_b" --orphan-audio-grace 0
    deadline=$((SECONDS + 60))
    until check=$(storage_check) || ((SECONDS > deadline)); do sleep 1; done
  fi
  if check=$(storage_check); then
    echo "admin check: $check"
  else
    echo "FAIL: admin check after the orphan sweep: $check"
    status=1
  fi
fi
if grep -q "panicked" "$work"/*.log; then
  echo "FAIL: a panic in the logs:"
  grep -h -A3 "panicked" "$work"/*.log
  status=1
fi
exit $status
