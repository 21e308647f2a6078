#!/usr/bin/env bash
# `make run`: the reference nodes and the app, side by side, until Ctrl-C stops them all.
#   source node  http://$HOST:$SOURCE_PORT  demo mode: every new DID gets $DEMO_ITEMS realistic items
#   target node  http://$HOST:$TARGET_PORT  empty: where the user pushes their bundle
#   app          http://$HOST:$APP_PORT     www/ with the built package under /pkg/
# Both nodes keep their data (SQLite and node key) in $RUN_DIR, so a restart keeps accounts and keys.
# The nodes are the optimized `node` build (Cargo.toml); NODE_PROFILE=dev takes the test build instead.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${HOST:-127.0.0.1}
APP_PORT=${APP_PORT:-8080}
SOURCE_PORT=${SOURCE_PORT:-7001}
TARGET_PORT=${TARGET_PORT:-7002}
DEMO_ITEMS=${DEMO_ITEMS:-2000}
RUN_DIR=${RUN_DIR:-.run}

profile=${NODE_PROFILE:-node}
cargo build --quiet --profile "$profile" -p bundle-node
bin=target/$([ "$profile" = dev ] && echo debug || echo "$profile")/bundle-node
mkdir -p "$RUN_DIR/source" "$RUN_DIR/target"

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

"$bin" --listen "$HOST:$SOURCE_PORT" --name source --data "$RUN_DIR/source" \
  --demo-items "$DEMO_ITEMS" &
pids+=($!)
"$bin" --listen "$HOST:$TARGET_PORT" --name target --data "$RUN_DIR/target" &
pids+=($!)
node tools/serve.mjs --host "$HOST" --port "$APP_PORT" \
  --connect "http://$HOST:$SOURCE_PORT" --connect "http://$HOST:$TARGET_PORT" &
pids+=($!)

# If any of the three stops (a port in use, a crash), stop the others too.
status=0
wait -n || status=$?
echo "run: a process stopped (status $status); stopping the others" >&2
exit "$status"
