# Sourced by the HTTP benchmarks: builds the release binary, fetches the model, and starts a
# server on a free loopback port with a throwaway data directory. Sets $bin, $work, $base,
# $token, $auth and $server; the server and $work are removed on exit. Extra `serve` flags may
# be given in the array $serve_flags, or by the caller in VOXPRINT_BENCH_FLAGS (split at spaces,
# e.g. "--encryption-key-file /tmp/bench.key" to time an encrypted storage). VOXPRINT_BENCH_BIN
# runs another build instead (for example an older release, to compare in the same run); it is
# then not built here.

serve_flags=("${serve_flags[@]+"${serve_flags[@]}"}")
# shellcheck disable=SC2206 # split at spaces on purpose
serve_flags+=(${VOXPRINT_BENCH_FLAGS:-})
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
bin=${VOXPRINT_BENCH_BIN:-target/release/voxprint}
[ -n "${VOXPRINT_BENCH_BIN:-}" ] || cargo build --release --locked -p voxprint >&2
"$bin" model fetch >&2

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
VOXPRINT_LOG=warn "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" "${serve_flags[@]}" >"$work/out" &
server=$!
for _ in $(seq 300); do grep -q "listening on" "$work/out" && break; sleep 0.1; done
base=$(sed -n 's/^voxprint listening on //p' "$work/out")
[ -n "$base" ] || { echo "the server did not start" >&2; exit 1; }
token=$(cat "$work/data/admin-token")
auth="Authorization: Bearer $token"
