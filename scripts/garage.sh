#!/usr/bin/env bash
# A real local S3 service (Garage, a distributed object store in Rust) for the tests and
# benchmarks of the S3 audio storage: one node on loopback ports, one bucket, one key.
#
# Usage:
#   scripts/garage.sh install        build garage into target/tools/garage (once; a few minutes)
#   scripts/garage.sh start DIR      run a fresh single-node Garage with its files in DIR and print,
#                                    on stdout, the `export` lines that point the AWS_* settings
#                                    (and VOXPRINT_TEST_S3_BUCKET) at it:
#                                      eval "$(scripts/garage.sh start "$dir")"
#   scripts/garage.sh stop DIR       stop the Garage started in DIR (its files stay)
#   scripts/garage.sh up DIR         start the stopped Garage of DIR again, with its data and ports:
#                                    after `stop`, an outage, for the storage-fault tests
#
# GARAGE_BIN, when set, names an existing garage binary to use instead of building one.
# Everything but the export lines goes to stderr, so `eval` sees only them.
set -euo pipefail

GARAGE_VERSION=2.5.0
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INSTALL_ROOT=$REPO_ROOT/target/tools/garage
# What start creates: the S3 region Garage signs with, the bucket and the key granted on it.
REGION=garage
BUCKET=voxprint
KEY_NAME=voxprint-test

log() { echo "garage.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# The garage binary: GARAGE_BIN if set, else the one `install` builds.
garage_bin() {
    if [[ -n ${GARAGE_BIN:-} ]]; then
        [[ -x $GARAGE_BIN ]] || die "GARAGE_BIN=$GARAGE_BIN is not an executable file"
        echo "$GARAGE_BIN"
    else
        echo "$INSTALL_ROOT/bin/garage"
    fi
}

cmd_install() {
    local bin
    bin=$(garage_bin)
    if [[ -x $bin ]]; then
        log "using $bin"
        return
    fi
    # A debug build with only the sqlite metadata engine and the C libraries vendored: the
    # quickest build that needs nothing from the system (a release build takes far longer).
    log "building garage $GARAGE_VERSION into $INSTALL_ROOT"
    cargo install garage --version "$GARAGE_VERSION" --locked --debug --no-default-features \
        --features bundled-libs,sqlite --root "$INSTALL_ROOT" >&2
}

# Three distinct free TCP ports on 127.0.0.1: the kernel picks them (bind to port 0), and all
# three sockets stay open until the last is picked so none is handed out twice.
free_ports() {
    python3 -c '
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
'
}

cmd_start() {
    local dir=$1 bin rpc_port s3_port admin_port node_id key_id secret_key
    cmd_install
    bin=$(garage_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ -f $dir/garage.pid ]] && kill -0 "$(cat "$dir/garage.pid")" 2>/dev/null; then
        die "a garage started in $dir is still running (scripts/garage.sh stop $dir)"
    fi
    read -r rpc_port s3_port admin_port < <(free_ports)
    # The config holds the RPC secret: readable by its owner only.
    (
        umask 077
        cat >"$dir/garage.toml" <<EOF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1

rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

[s3_api]
api_bind_addr = "127.0.0.1:$s3_port"
s3_region = "$REGION"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
EOF
    )
    garage() { "$bin" -c "$dir/garage.toml" "$@"; }

    log "starting garage in $dir (S3 on 127.0.0.1:$s3_port, log in $dir/garage.log)"
    launch "$dir"
    node_id=$(garage node id -q)
    node_id=${node_id%%@*}

    # A new cluster stores nothing until its layout gives the node a role and capacity.
    garage layout assign -z dc1 -c 1G "$node_id" >&2
    garage layout apply --version 1 >&2
    garage key create "$KEY_NAME" >&2
    key_id=$(garage key info --key-id "$KEY_NAME")
    secret_key=$(garage key info --secret-key "$KEY_NAME")
    garage bucket create "$BUCKET" >&2
    garage bucket allow --read --write --owner "$BUCKET" --key "$KEY_NAME" >&2

    printf 'export %s=%q\n' \
        AWS_ACCESS_KEY_ID "$key_id" \
        AWS_SECRET_ACCESS_KEY "$secret_key" \
        AWS_REGION "$REGION" \
        AWS_ENDPOINT_URL "http://127.0.0.1:$s3_port" \
        AWS_ALLOW_HTTP true \
        VOXPRINT_TEST_S3_BUCKET "$BUCKET"
    log "ready"
}

# Runs the server configured in DIR in the background and waits until its RPC answers the CLI;
# gives up if it exits or takes over a minute.
launch() {
    local dir=$1 bin
    bin=$(garage_bin)
    nohup "$bin" -c "$dir/garage.toml" server >>"$dir/garage.log" 2>&1 </dev/null &
    echo $! >"$dir/garage.pid"
    local deadline=$((SECONDS + 60))
    until "$bin" -c "$dir/garage.toml" node id -q >/dev/null 2>&1; do
        if ! kill -0 "$(cat "$dir/garage.pid")" 2>/dev/null; then
            tail -n 20 "$dir/garage.log" >&2
            die "garage exited at start (log above, in $dir/garage.log)"
        fi
        ((SECONDS < deadline)) || die "garage did not answer within 60 s (see $dir/garage.log)"
        sleep 0.2
    done
}

cmd_up() {
    local dir=$1
    [[ -f $dir/garage.toml ]] || die "no garage.toml in $dir: start one first (scripts/garage.sh start $dir)"
    if [[ -f $dir/garage.pid ]] && kill -0 "$(cat "$dir/garage.pid")" 2>/dev/null; then
        die "the garage of $dir is already running"
    fi
    launch "$dir"
    log "up again"
}

cmd_stop() {
    local dir=$1 pid
    if [[ ! -f $dir/garage.pid ]]; then
        log "no garage.pid in $dir: nothing to stop"
        return
    fi
    pid=$(cat "$dir/garage.pid")
    if kill "$pid" 2>/dev/null; then
        # Not our child after `start` returned, so poll instead of `wait`.
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                log "garage ($pid) ignored SIGTERM for 30 s: killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 0.2
        done
    fi
    rm -f "$dir/garage.pid"
    log "stopped"
}

case "${1:-}" in
    install) cmd_install ;;
    start | stop | up)
        [[ $# -eq 2 ]] || die "usage: scripts/garage.sh $1 DIR"
        "cmd_$1" "$2"
        ;;
    *) die "usage: scripts/garage.sh install | start DIR | stop DIR | up DIR" ;;
esac
