#!/usr/bin/env bash
# Runs `COMMAND... BASE_URL OPERATOR_KEY_FILE` against a release-built scim-server on a free
# loopback port with a fresh data directory; prints the server's log if the command fails.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --release -p server
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data_dir=$(mktemp -d)
"$target_dir/release/scim-server" --bind "127.0.0.1:$port" --data-dir "$data_dir" > "$data_dir/server.log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data_dir"
}
trap cleanup EXIT

for _ in $(seq 60); do
    [ -s "$data_dir/operator.key" ] && break
    if ! kill -0 "$server" 2>/dev/null; then
        echo "scim-server exited before it was ready:"
        cat "$data_dir/server.log"
        exit 1
    fi
    sleep 0.5
done
if ! "$@" "http://127.0.0.1:$port" "$data_dir/operator.key"; then
    echo "--- server log ---"
    tail -50 "$data_dir/server.log"
    exit 1
fi
