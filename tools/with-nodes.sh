#!/usr/bin/env bash
# Runs a command with two fresh reference nodes on free loopback ports, then stops them.
#   tools/with-nodes.sh [--demo-items N] -- COMMAND…
# The command sees SOURCE_MANIFEST and TARGET_MANIFEST (the nodes' manifest URLs). The source node
# runs in demo mode; both keep their data in a temporary directory that is removed afterwards.
# NODE_PROFILE picks the node's build: `dev` (default; the build `cargo test` already made, so tests
# compile nothing more) or `node` (optimized, for `make bench` and `make run`; see Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

demo_items=300
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --demo-items) demo_items=$2; shift 2 ;;
    --node-arg) extra+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "with-nodes: unknown option $1" >&2; exit 2 ;;
  esac
done

profile=${NODE_PROFILE:-dev}
cargo build --quiet --profile "$profile" -p bundle-node
bin=target/$([ "$profile" = dev ] && echo debug || echo "$profile")/bundle-node
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a node and sets URL to its manifest URL once it is listening.
start() {
  local name=$1; shift
  mkdir -p "$work/$name"
  "$bin" --listen 127.0.0.1:0 --name "$name" --data "$work/$name" "$@" > "$work/$name.out" 2> "$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 300); do
    if URL=$(grep -o 'http://[^ ]*/.well-known/bundle-node' "$work/$name.out" 2>/dev/null); then
      return 0
    fi
    sleep 0.1
  done
  echo "with-nodes: node $name did not start:" >&2; cat "$work/$name.err" >&2; return 1
}

start source --demo-items "$demo_items" --dev-endpoints "${extra[@]}"
SOURCE_MANIFEST=$URL
start target --dev-endpoints "${extra[@]}"
TARGET_MANIFEST=$URL
export SOURCE_MANIFEST TARGET_MANIFEST
echo "with-nodes: source $SOURCE_MANIFEST, target $TARGET_MANIFEST" >&2
"$@"
