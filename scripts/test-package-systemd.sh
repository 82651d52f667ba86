#!/usr/bin/env bash
# Runs the packaged unit under real systemd, which scripts/test-package.sh cannot do on a machine
# whose init is not systemd (CI's containers): boots a minimal Debian (debootstrap, from Debian's
# packages) as a systemd-nspawn container sharing this machine's network, installs the package in
# it, and checks that voxprint.service starts at boot inside its sandbox, answers /healthz, enrolls
# and identifies a voice, runs as voxprint with no capabilities, no new privileges, a seccomp
# filter and a read-only system, keeps the admin token out of the journal, stops cleanly on
# `systemctl stop`, and is stopped and removed by `dpkg --purge`. Then it removes the container.
#
#   scripts/test-package-systemd.sh     as root; needs target/debug/voxprint and the speaker model,
#                                       like test-package.sh; installs debootstrap and
#                                       systemd-container with apt when missing
#
# Not run by scripts/test.sh: it downloads a Debian base system (about 60 MB) and takes about
# 3 minutes. The model is copied in, so the container never needs PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test-package-systemd.sh: $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, systemd-nspawn)"
if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; then
  apt-get update -qq && apt-get install -y -qq debootstrap systemd-container >&2
fi
model=${VOXPRINT_MODEL:-${XDG_DATA_HOME:-$HOME/.local/share}/voxprint/models/ge2e-resemblyzer-0.1.4.vxm}
[ -f "$model" ] || fail "no speaker model at $model: run target/debug/voxprint model fetch first"

deb=$(scripts/package.sh --debug)
work=$(mktemp -d -t voxprint-nspawn.XXXXXX)
machine=voxprint-test-$$
nspawn_pid=
cleanup() {
  local status=$?
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true   # nspawn powers the container off
    for _ in $(seq 1 300); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# --- A minimal Debian of this machine's release, with systemd --------------------------------------
. /etc/os-release
log "debootstrap $VERSION_CODENAME into $work/root"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,adduser \
  "$VERSION_CODENAME" "$work/root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }

# --- Install the package, before boot (so that nothing starts yet), on a free port ----------------
cp "$deb" "$work/root/root/voxprint.deb"
install -D -m 0644 "$model" "$work/root/var/lib/voxprint/models/$(basename "$model")"
systemd-nspawn -q -D "$work/root" --register=no --keep-unit dpkg -i /root/voxprint.deb >&2
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/^VOXPRINT_LISTEN=.*/VOXPRINT_LISTEN=127.0.0.1:$port/" "$work/root/etc/default/voxprint"

# --- Boot: the unit is enabled, so systemd starts it --------------------------------------------
log "booting the container (voxprint on 127.0.0.1:$port)"
systemd-nspawn -D "$work/root" --boot --register=no --keep-unit -M "$machine" \
  </dev/null >"$work/boot.log" 2>&1 &
nspawn_pid=$!
api=http://127.0.0.1:$port
for _ in $(seq 1 240); do
  curl -fsS -m 2 "$api/healthz" >/dev/null 2>&1 && break
  kill -0 "$nspawn_pid" 2>/dev/null || { tail -n 30 "$work/boot.log" >&2; fail "the container stopped"; }
  sleep 0.5
done
init=$(pgrep -P "$nspawn_pid" -x systemd | head -n 1) || true
[ -n "$init" ] || { tail -n 30 "$work/boot.log" >&2; fail "no systemd in the container"; }
# Runs a shell command inside the container.
inside() { nsenter -t "$init" -a sh -c "$1"; }
[ "$(curl -fsS -m 5 "$api/healthz" 2>/dev/null)" = ok ] \
  || { inside 'journalctl -u voxprint --no-pager | tail -n 30' >&2; fail "voxprint.service did not answer /healthz"; }
log "voxprint.service started by systemd at boot: /healthz ok"

# --- What the sandbox gave the server ---------------------------------------------------------------
main=$(inside 'systemctl show -p MainPID --value voxprint')
status=$(inside "cat /proc/$main/status")
grep -Eq '^Uid:[[:space:]]+'"$(inside 'id -u voxprint')"'[[:space:]]' <<<"$status" || fail "the server does not run as voxprint"
grep -Eq '^CapEff:[[:space:]]+0+$' <<<"$status" || fail "the server has capabilities"
grep -Eq '^NoNewPrivs:[[:space:]]+1$' <<<"$status" || fail "the server may gain privileges"
grep -Eq '^Seccomp:[[:space:]]+2$' <<<"$status" || fail "the server has no system call filter"
# The options of the last mount on / in the server's mount table (ProtectSystem=strict: ro).
inside "awk '\$5 == \"/\" { options = \$6 } END { print options }' /proc/$main/mountinfo" | grep -q '^ro' \
  || fail "the system is writable for the server"
log "sandbox: user voxprint, no capabilities, no new privileges, seccomp filter, read-only system"

# --- Real work inside the sandbox: a group, an enrollment, an identification ------------------------
token=$(cat "$work/root/var/lib/voxprint/admin-token")
group=$(curl -fsS -m 30 -X POST "$api/v1/audio/voiceprint_groups" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"name": "systemd test"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["id"])')
curl -fsS -m 120 -X POST "$api/v1/audio/voiceprint_groups/$group/features" -H "Authorization: Bearer $token" \
  -F file=@testdata/corpus/flite-slt/04.wav -F name=slt | grep -q '"code":0' || fail "enrollment failed"
curl -fsS -m 120 -X POST "$api/v1/audio/voiceprint_groups/$group/speaker_identify" \
  -H "Authorization: Bearer $token" -F file=@testdata/corpus/flite-slt/05.wav \
  | grep -q '"matched":true' || fail "identification found no match"
inside 'journalctl -u voxprint --no-pager' | grep -q pat_ && fail "the admin token is in the journal"
log "enrolled and identified a voice; the admin token is not in the journal"

# --- Stop, start, purge -------------------------------------------------------------------------------
inside 'systemctl stop voxprint'
[ "$(inside 'systemctl show -p Result --value voxprint')" = success ] || fail "systemctl stop: the unit failed"
[ "$(inside 'systemctl show -p ExecMainStatus --value voxprint')" = 0 ] || fail "systemctl stop: the server did not exit with 0"
inside 'journalctl -u voxprint --no-pager' | grep -q 'stopped' || fail "the server did not log its stop"
inside 'systemctl start voxprint'
curl -fs -m 5 --retry 20 --retry-connrefused --retry-delay 1 "$api/healthz" >/dev/null || fail "no restart"
inside 'dpkg --purge voxprint' >&2
[ "$(inside 'systemctl is-active voxprint' || true)" != active ] || fail "dpkg --purge left the service running"
inside '[ -d /var/lib/voxprint ] && [ -f /var/lib/voxprint/voxprint.db ]' || fail "dpkg --purge deleted the data"
log "systemctl stop: clean exit; start again; dpkg --purge stops the service and keeps the data"
log "passed"
