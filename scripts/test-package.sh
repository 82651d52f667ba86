#!/usr/bin/env bash
# Tests the Debian package (scripts/package.sh) the way an operator uses it: builds it from the
# debug build (no release build in CI), checks what it holds, installs it with dpkg -i, runs the
# installed binary as the systemd unit would (its user, settings file, working directory, umask,
# open-files limit and commands) against a scratch state directory, checks /healthz and /readyz and
# the files' owners and modes, stops it with SIGTERM, then removes and purges the package and what
# the test added (the user, if new), leaving the machine as it was.
#
# systemd itself does not run the unit here: CI's containers have no systemd as init, so the unit
# file is checked with systemd-analyze (verify, and the sandbox's exposure score). On a machine
# whose init is systemd, installing also starts the packaged service (on 127.0.0.1:8080, fetching
# the model if it can); purging stops it.
#
#   scripts/test-package.sh      needs target/debug/voxprint (cargo build) and the speaker model
#                                (target/debug/voxprint model fetch), as scripts/test.sh does first
#
# Installing needs root; without it, or when a voxprint package is already installed here (a real
# one is never replaced), only the package's contents are checked.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test-package.sh: $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

UNIT=voxprint.service
ENV_FILE=/etc/default/voxprint
# The unit's TimeoutStopSec: the server must have stopped within it after SIGTERM.
STOP_TIMEOUT=45
# The unit's LimitNOFILE (capped below at this machine's hard limit when raising it needs root
# powers that a container may lack).
NOFILE=65536

# --- The settings file documents every variable of the command line -----------------------------
missing=()
for var in $(grep -oE 'env *= *"VOXPRINT_[A-Z0-9_]+"' crates/server/src/cli/args.rs | cut -d'"' -f2 | sort -u); do
  grep -Eq "^#?$var=" packaging/voxprint.default || missing+=("$var")
done
[ ${#missing[@]} = 0 ] || fail "packaging/voxprint.default lacks ${missing[*]}: add a line for each (commented out, with its default), as for the others"
log "settings file: every VOXPRINT_ variable of cli/args.rs is there"

# --- Build and inspect -----------------------------------------------------------------------------
deb=$(scripts/package.sh --debug)
log "built $deb"
contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/voxprint ./etc/default/voxprint ./usr/share/doc/voxprint/README.md ./usr/share/doc/voxprint/docs/api.md; do
  grep -q " $path\$" <<<"$contents" || fail "$deb lacks $path"
done
grep -Eq " \./(usr/)?lib/systemd/system/$UNIT\$" <<<"$contents" || fail "$deb lacks the unit $UNIT"
ctl=$(mktemp -d -t voxprint-deb.XXXXXX)
trap 'rm -rf "$ctl"' EXIT
dpkg-deb --control "$deb" "$ctl"
grep -qx "$ENV_FILE" "$ctl/conffiles" || fail "$ENV_FILE is not a conffile"
grep -q '^Depends:.*adduser' "$ctl/control" || fail "the package does not depend on adduser"
for script in postinst prerm postrm; do
  [ -x "$ctl/$script" ] || fail "$deb has no $script"
  sh -n "$ctl/$script" || fail "$script is not valid sh"
done
grep -q 'deb-systemd-helper enable' "$ctl/postinst" || fail "postinst does not enable the unit"
log "package contents: binary, unit, conffile, maintainer scripts"

if [ "$(id -u)" != 0 ]; then
  log "not root: not installing the package (contents checked only)"
  exit 0
fi
# Installed, or removed with its settings kept: either way an operator's, not ours to purge.
case "$(dpkg-query -W -f='${db:Status-Status}' voxprint 2>/dev/null || true)" in
  ''|not-installed) ;;
  *) log "a voxprint package is on this machine: not replacing it (contents checked only)"; exit 0 ;;
esac

# --- Install ---------------------------------------------------------------------------------------
user_existed=false
getent passwd voxprint >/dev/null && user_existed=true
state_existed=false
[ -e /var/lib/voxprint ] && state_existed=true
scratch=$(mktemp -d -t voxprint-pkgtest.XXXXXX)
server_pid=
cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if dpkg-query -W voxprint >/dev/null 2>&1; then
    dpkg --purge voxprint >/dev/null 2>&1 || log "could not purge the voxprint package"
  fi
  if [ "$user_existed" = false ] && getent passwd voxprint >/dev/null; then
    deluser --system voxprint >/dev/null 2>&1 || log "could not delete the voxprint user"
    getent group voxprint >/dev/null && { delgroup --system voxprint >/dev/null 2>&1 || true; }
  fi
  if [ "$state_existed" = false ]; then
    rm -rf /var/lib/voxprint
  fi
  rm -rf "$scratch" "$ctl"
  exit "$status"
}
trap cleanup EXIT

dpkg -i "$deb" >&2
installed=$(command -v voxprint) || fail "voxprint is not on PATH after dpkg -i"
[ "$installed" = /usr/bin/voxprint ] || fail "voxprint resolves to $installed, not /usr/bin/voxprint"
/usr/bin/voxprint --version >&2

# The user: a system account that cannot log in.
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd voxprint)
[ "$uid" -lt 1000 ] || fail "voxprint is not a system user (uid $uid)"
[ "$home" = /var/lib/voxprint ] || fail "voxprint's home is $home"
case "$shell" in */nologin|*/false) ;; *) fail "voxprint can log in (shell $shell)" ;; esac
[ "$(stat -c '%a %U %G' /var/lib/voxprint)" = "700 voxprint voxprint" ] \
  || fail "/var/lib/voxprint is $(stat -c '%a %U %G' /var/lib/voxprint), not 700 voxprint voxprint"
[ "$(stat -c '%a %U %G' "$ENV_FILE")" = "640 root voxprint" ] \
  || fail "$ENV_FILE is $(stat -c '%a %U %G' "$ENV_FILE"), not 640 root voxprint"
unit_file=$(ls /lib/systemd/system/$UNIT /usr/lib/systemd/system/$UNIT 2>/dev/null | head -n 1)
[ -n "$unit_file" ] || fail "$UNIT was not installed"
[ -L /etc/systemd/system/multi-user.target.wants/$UNIT ] || fail "$UNIT was not enabled"
log "installed: /usr/bin/voxprint, user voxprint (uid $uid), $unit_file (enabled), $ENV_FILE"

# --- The unit file ---------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
  # verify: syntax, known directives, the commands exist. security: systemd's own exposure score
  # of the sandbox (0 = locked down, 10 = none), 1.4 when this was written:
  # it must stay at 2.0 or below.
  systemd-analyze verify "$unit_file" >&2 || fail "systemd-analyze verify rejects $UNIT"
  exposure=$(systemd-analyze security --offline=true --no-pager "$unit_file" 2>/dev/null | tail -n 1)
  log "systemd-analyze security: $exposure"
  systemd-analyze security --offline=true --threshold=20 --no-pager "$unit_file" >/dev/null 2>&1 \
    || fail "the unit's sandbox got weaker: $exposure"
else
  log "systemd-analyze missing: the unit file is not verified"
fi

# The value of one setting (Key=) in the unit.
unit_setting() { sed -n "s/^$1=//p" "$unit_file" | tail -n 1; }
[ "$(unit_setting User)" = voxprint ] || fail "the unit does not run as voxprint"
[ "$(unit_setting StateDirectory)" = voxprint ] || fail "the unit has no StateDirectory=voxprint"
[ "$(unit_setting LimitNOFILE)" = "$NOFILE" ] || fail "the unit's LimitNOFILE is not $NOFILE"
[ "$(unit_setting TimeoutStopSec)" = "${STOP_TIMEOUT}s" ] || fail "the unit's TimeoutStopSec is not ${STOP_TIMEOUT}s"
[ "$(unit_setting EnvironmentFile)" = "$ENV_FILE" ] || fail "the unit does not read $ENV_FILE"
exec_start_pre=$(unit_setting ExecStartPre)
exec_start=$(unit_setting ExecStart)

# --- Run it as the unit would, on a scratch state directory ----------------------------------------
# The scratch directory stands for /var/lib: its voxprint/ for the state directory, so that the
# settings file's XDG_DATA_HOME (the model's location) maps too. The model is copied in, as an
# operator without PyPI access would; `voxprint model fetch` then only verifies it.
model=${VOXPRINT_MODEL:-${XDG_DATA_HOME:-$HOME/.local/share}/voxprint/models/ge2e-resemblyzer-0.1.4.vxm}
[ -f "$model" ] || fail "no speaker model at $model: run target/debug/voxprint model fetch first"
chmod 755 "$scratch"
state=$scratch/voxprint
install -d -m 0700 -o voxprint -g voxprint "$state" "$state/models"
install -m 0600 -o voxprint -g voxprint "$model" "$state/models/"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The unit's environment: systemd's PATH, the user's HOME, the unit's Environment= lines, then the
# settings file (which overrides them, as in systemd), then this test's scratch paths and port.
unit_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/voxprint
          USER=voxprint LOGNAME=voxprint)
for assignment in $(unit_setting Environment); do unit_env+=("$assignment"); done
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  unit_env+=("$line")
done <"$ENV_FILE"
unit_env+=(VOXPRINT_DATA_DIR="$state" XDG_DATA_HOME="$scratch" VOXPRINT_LISTEN="127.0.0.1:$port")

hard_nofile=$(ulimit -Hn)
nofile=$NOFILE
if [ "$hard_nofile" != unlimited ] && [ "$hard_nofile" -lt "$NOFILE" ] \
   && ! prlimit --pid $$ --nofile="$NOFILE:$NOFILE" 2>/dev/null; then
  nofile=$hard_nofile
  log "this machine cannot raise the open-files limit to $NOFILE (hard limit $hard_nofile): using $nofile"
fi

# Becomes a command line of the unit: in the state directory (WorkingDirectory=), with its umask,
# open-files limit and environment, as voxprint with no capabilities and no new privileges. It
# execs, so call it in $(…) or with &: then the process is the server itself, and a signal to
# $! reaches it as systemd's would.
as_unit() {
  cd "$state" || exit 1
  umask 0077
  exec prlimit --nofile="$nofile:$nofile" \
    setpriv --reuid=voxprint --regid=voxprint --init-groups --no-new-privs \
      --inh-caps=-all --bounding-set=-all \
      env -i "${unit_env[@]}" "$@"
}

log "ExecStartPre: $exec_start_pre"
# shellcheck disable=SC2086 # the unit's command line, split into words as systemd does
fetched=$(as_unit $exec_start_pre 2>&1) || fail "ExecStartPre failed: $fetched"
grep -q 'already present' <<<"$fetched" || fail "ExecStartPre did more than verify the model: $fetched"

log "ExecStart: $exec_start (listening on 127.0.0.1:$port)"
# stdout is discarded by the unit (StandardOutput=null); kept here to check what it would hide.
# shellcheck disable=SC2086
as_unit $exec_start >"$scratch/stdout" 2>"$scratch/stderr" &
server_pid=$!
for _ in $(seq 1 120); do
  curl -fsS -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$scratch/stderr" >&2; fail "the server exited at start"; }
  sleep 0.5
done
[ "$(curl -fsS -m 5 "http://127.0.0.1:$port/healthz")" = ok ] || { cat "$scratch/stderr" >&2; fail "/healthz did not answer ok"; }
[ "$(curl -fsS -m 5 "http://127.0.0.1:$port/readyz")" = ready ] || fail "/readyz did not answer ready"
log "/healthz ok, /readyz ready"

# It runs as voxprint, with the unit's limit; its files are the user's and private.
[ "$(ps -o user= -p "$server_pid" | tr -d ' ')" = voxprint ] || fail "the server does not run as voxprint"
limit=$(awk '/^Max open files/ {print $5}' "/proc/$server_pid/limits")
[ "$limit" = "$nofile" ] || fail "the server's open-files limit is $limit, not $nofile"
for file in "$state/voxprint.db" "$state/admin-token"; do
  [ -f "$file" ] || fail "no $file after the first start"
  [ "$(stat -c '%U %a' "$file")" = "voxprint 600" ] || fail "$file is $(stat -c '%U %a' "$file"), not voxprint 600"
done
grep -q pat_ "$scratch/stdout" && ! grep -q pat_ "$scratch/stderr" \
  || fail "the admin token should be on stdout (which the unit discards) and never on stderr (the journal)"
# The README's way of running an admin command as the service user, with the settings file.
teams=$(as_unit /usr/bin/voxprint admin list-teams) || fail "voxprint admin list-teams failed as voxprint"
[ -n "$teams" ] || fail "voxprint admin list-teams listed no team"
log "files: voxprint.db and admin-token are voxprint's, mode 600; admin commands work as voxprint"

# systemd's stop: SIGTERM, then SIGKILL after TimeoutStopSec.
started=$SECONDS
kill -TERM "$server_pid"
for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$server_pid" 2>/dev/null && fail "the server was still running ${STOP_TIMEOUT}s after SIGTERM"
wait "$server_pid" && status=0 || status=$?
server_pid=
[ "$status" = 0 ] || { cat "$scratch/stderr" >&2; fail "the server exited with status $status after SIGTERM"; }
log "SIGTERM: stopped cleanly in $((SECONDS - started)) s"

# --- Upgrade: installing again keeps the operator's settings and the user ----------------------
echo "# edited by test-package.sh" >>"$ENV_FILE"
dpkg -i "$deb" >&2
grep -q '^# edited by test-package.sh$' "$ENV_FILE" || fail "installing again overwrote the edited $ENV_FILE"
[ "$(getent passwd voxprint | cut -d: -f3)" = "$uid" ] || fail "installing again changed the voxprint user"
[ "$(stat -c '%a %U %G' "$ENV_FILE")" = "640 root voxprint" ] || fail "installing again changed $ENV_FILE's mode"
log "installed again (as an upgrade does): settings edit, user and modes kept"

# --- Remove, then purge ----------------------------------------------------------------------------
dpkg -r voxprint >&2
[ ! -e /usr/bin/voxprint ] || fail "dpkg -r left /usr/bin/voxprint"
[ -e "$ENV_FILE" ] || fail "dpkg -r removed the conffile $ENV_FILE (only purge should)"
dpkg --purge voxprint >&2
[ ! -e "$ENV_FILE" ] || fail "dpkg --purge left $ENV_FILE"
[ ! -e "$unit_file" ] || fail "dpkg --purge left $unit_file"
[ ! -e /etc/systemd/system/multi-user.target.wants/$UNIT ] || fail "dpkg --purge left the unit enabled"
log "removed and purged: binary, conffile and unit gone"
log "passed"
