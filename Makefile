# Syneroym — build, run, test and benchmark on a fresh Debian 12 machine.
#   make run    builds everything and starts a node with the shipped SynApps
#   make test   builds everything and runs the whole suite
#   make bench  runs the benchmarks (release build) and prints JSON

SWIFT        ?= swift
CC           ?= cc
CONFIG       ?= debug
DATA         ?= $(CURDIR)/.data
APT_PACKAGES := libsqlite3-dev libsodium-dev libseccomp-dev libcap-dev libgnutls28-dev ca-certificates pkg-config gcc make python3
BENCH_PACKAGES := bubblewrap wrk sqlite3
# gnutls-cli: a third-party TLS peer for the node-link tests
TEST_PACKAGES := gnutls-bin iproute2
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PRODUCTS      = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path 2>/dev/null)

.PHONY: deps build plugins run test bench clean

## deps: install the Debian packages the build needs, only when missing
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "error: no Swift 6 toolchain on PATH (see README: Requirements)"; exit 1; }

## build: the host, the worker, the Swift test apps, and the C example app (plain cc)
build: deps
	$(SWIFT) build -c $(CONFIG)
	$(MAKE) --no-print-directory plugins

## plugins: C apps built exactly as app developers build them, into the products directory
plugins:
	$(CC) -shared -fPIC -O2 -Wall -Wextra -I PluginABI/include -o $(PRODUCTS)/libhello.so Plugins/Examples/hello-c/hello.c
	$(CC) -shared -fPIC -O2 -Wall -Wextra -I PluginABI/include -o $(PRODUCTS)/libstore.so Tests/HostileApps/store.c

## run: start a node with every app in manifests/ on 127.0.0.1:7420 (Ctrl-C stops it). The first time it makes
## your signing key `default` and a node in $(DATA) that you own.
run: build
	@$(PRODUCTS)/syneroym keys new default --exist-ok
	$(PRODUCTS)/syneroym init --data $(DATA) --owner default --manifests manifests
	$(PRODUCTS)/syneroym run --manifests manifests --profiles sandbox-profiles --data $(DATA) --links-listen 127.0.0.1:7421

## test: the whole suite (real workers, real sandboxes)
test: deps
	@dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(TEST_PACKAGES); }
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory plugins CONFIG=debug
	$(SWIFT) test --skip-build --skip BrowserTests
	@# The browser tests run on their own: three Chromiums beside the suite's timing-bound tests starve both.
	$(SWIFT) test --skip-build --filter BrowserTests

## bench: release build, then the runtime benchmarks as JSON (figures go to docs/benchmarks.md)
bench: deps
	@dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BENCH_PACKAGES); }
	$(MAKE) --no-print-directory build CONFIG=release
	Benchmarks/run.sh $$($(SWIFT) build -c release --show-bin-path)

clean:
	rm -rf .build .data
