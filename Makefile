# bundle-vault — the two commands are `make run` and `make test`; both install what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# npm's binaryen wasm-opt first (wasm-pack uses the wasm-opt it finds on PATH), then cargo's binaries.
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export CARGO_TERM_COLOR ?= never

HOST ?= 127.0.0.1
APP_PORT ?= 8080
SOURCE_PORT ?= 7001
TARGET_PORT ?= 7002
DEMO_ITEMS ?= 2000

.PHONY: help setup build build-node-pkg run serve bench test lint test-native test-browser test-node test-e2e clean \
  build-bundler-pkg pack example test-types docs fuzz test-fuzz bench-smoke

help:
	@echo "make run    build the package, start the source node (demo data) on :$(SOURCE_PORT) and the target"
	@echo "            node on :$(TARGET_PORT), and serve the app on http://$(HOST):$(APP_PORT)"
	@echo "make test   every test layer: lint, native, browser (wasm-pack), Node package, end to end"
	@echo "make bench  the vault against a plain-JS baseline and the limits, 1k/10k/100k items (bench/)"
	@echo "make fuzz   fuzz the core, each target for FUZZ_SECONDS (60) seconds (docs/security.md)"

setup:
	@tools/setup.sh

## The npm package for browsers (release build, wasm-opt optimized) in pkg/, with its size.
build: setup
	wasm-pack build --release --target web --out-dir pkg --out-name bundle_vault
	@node tools/package.mjs pkg web
	@node tools/size.mjs pkg/bundle_vault_bg.wasm

## The same package for Node.js (a verifier for node operators) in pkg-node/.
build-node-pkg: setup
	wasm-pack build --release --target nodejs --out-dir pkg-node --out-name bundle_vault
	@node tools/package.mjs pkg-node nodejs

## The same package for bundlers with WebAssembly ES module integration (webpack 5, Vite with a wasm
## plugin) in pkg-bundler/: no init(), the bundler loads the module.
build-bundler-pkg: setup
	wasm-pack build --release --target bundler --out-dir pkg-bundler --out-name bundle_vault
	@node tools/package.mjs pkg-bundler bundler

## pkg/ as the tarball an app installs before the package is on a registry: target/npm/bundle-vault.tgz.
pack: build
	node tools/pack.mjs pkg

## The Vite example (examples/vite-app) built against that tarball into examples/vite-app/dist.
example: build
	node tools/example.mjs

## API reference from the doc comments (via pkg/bundle_vault.d.ts) into docs/api/ (HTML, not committed).
docs: build
	typedoc --options tools/typedoc.json
	@printf '# built by make docs\n*\n' > docs/api/.gitignore

run: build
	HOST=$(HOST) APP_PORT=$(APP_PORT) SOURCE_PORT=$(SOURCE_PORT) TARGET_PORT=$(TARGET_PORT) \
	  DEMO_ITEMS=$(DEMO_ITEMS) tools/run.sh

serve:
	node tools/serve.mjs --host $(HOST) --port $(APP_PORT)

## Figures, not tests: the vault against a plain-JS baseline and the platform's limits in headless
## Chromium, on local nodes with accounts of BENCH_SIZES items (1000,10000,100000), BENCH_RUNS (3) runs
## each; the table, JSON and chart go to bench/ (README). About 5 minutes on 2 cores.
bench: build
	node tools/bench.mjs

## Its smoke run in `make test`: 1,000 items, one run; fails only when a step did not complete.
bench-smoke: build
	BENCH_SMOKE=1 node tools/bench.mjs

test: setup lint test-native test-fuzz test-browser test-node test-types test-e2e bench-smoke
	@echo "make test: every layer passed"

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --lib --tests --target wasm32-unknown-unknown -- -D warnings

test-native:
	cargo test --workspace

## Fuzzing the core with cargo-fuzz (libFuzzer): each target of fuzz/ for FUZZ_SECONDS, executions
## printed; crashes fail it (tools/fuzz.sh). `make test` runs a smoke run of FUZZ_SMOKE_SECONDS each,
## on an unoptimized build.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

test-fuzz:
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_BUILD=dev tools/fuzz.sh

## Rust tests compiled to wasm and run in headless Chromium (real IndexedDB, real crypto.getRandomValues),
## against two reference nodes on free loopback ports (see tools/with-nodes.sh).
test-browser: setup
	WASM_BINDGEN_TEST_TIMEOUT=180 tools/with-nodes.sh -- wasm-pack test --headless --chrome -- --test web --test vault --test rights --test catalogue

## A hang fails its layer with the test's name rather than running out the CI clock: each test has
## 5 minutes, and each layer a hard bound (a timed-out test file can leave the runner waiting on it).
NODE_TEST = node --test --test-timeout=300000

test-node: build-node-pkg
	timeout --kill-after=30 900 $(NODE_TEST) tests/node/

## The package's TypeScript declarations under tsc --strict: tests/types/good.ts compiles, bad.ts's misuses fail.
test-types: build
	timeout --kill-after=30 900 $(NODE_TEST) tests/types/

## The release build in headless Chromium: the page of www/ driven by playwright-core; the Vite example
## (examples/vite-app) built from the npm pack tarball; the three package builds (web, bundler, nodejs).
test-e2e: build build-bundler-pkg build-node-pkg
	timeout --kill-after=30 1800 $(NODE_TEST) tests/e2e/

clean:
	cargo clean
	rm -rf pkg pkg-node pkg-bundler .run
