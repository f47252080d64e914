# pkgfetch: the two commands are `make demo` and `make test`; both install what they need first.
SWIFT ?= swift
# Release builds link the Swift runtime statically: one self-contained binary, as a node would get it
# (no Swift runtime on the node), and fewer shared-library pages resident.
# Only the command: the test-support targets import Testing, which a release build does not have.
# No $ORIGIN run path: an installed binary looks for its libraries where the system keeps them, not
# beside itself (23 fewer failed opens at start-up).
RELEASE_FLAGS = -c release --static-swift-stdlib --disable-local-rpath --product pkgfetch
RELEASE = $(RELEASE_FLAGS) --scratch-path .build-static

# make install: $(DESTDIR)$(PREFIX)/bin/pkgfetch, completions and a man page under share/.
PREFIX ?= /usr/local
DESTDIR ?=
# The binary make install and make dist ship: the static release build, unless PKGFETCH_BINARY names
# one (the tests pass the debug build: a release build takes minutes).
PKGFETCH_BINARY ?=
INSTALL_BINARY = $(if $(PKGFETCH_BINARY),$(PKGFETCH_BINARY),.build-static/release/pkgfetch)

.PHONY: setup build release test demo bench bench-components load install dist fuzz mutants docs clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

# Tests run in parallel (swift-testing's default): suites that block run on threads of their own, at
# most PKGFETCH_TEST_WIDTH (4) tests at once (Tests/TestSupport/OffPoolTrait.swift).
# Then the team package in Examples/TeamStore (pkgfetch with a backend of its own, depending on this
# checkout by path), with a scratch path of its own: it builds its own copy of the dependencies.
# SwiftPM re-plans a package when its own files change, not when files are added to a dependency it
# has by path: its plan (debug.yaml) is removed first, else a source file added to pkgfetch is missing
# from the team build.
TEAM = --package-path Examples/TeamStore --scratch-path .build-teamstore
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	rm -f .build-teamstore/debug.yaml
	$(SWIFT) build --build-tests $(TEAM)
	$(SWIFT) test --skip-build $(TEAM)

release: setup
	$(SWIFT) build $(RELEASE)

demo: release
	@bash scripts/demo.sh .build-static/release/pkgfetch

install: setup $(if $(PKGFETCH_BINARY),,release)
	@SWIFT=$(SWIFT) bash scripts/install.sh "$(DESTDIR)$(PREFIX)" "$(INSTALL_BINARY)"

# From the committed HEAD, reproducibly: dist/pkgfetch-VERSION-linux-ARCH.tar.gz and its .sha256.
dist: setup
	@SWIFT=$(SWIFT) RELEASE_FLAGS="$(RELEASE_FLAGS)" bash scripts/dist.sh "$(PKGFETCH_BINARY)"

# libFuzzer over the parsers and the unpacker, FUZZ_SECONDS (10) per target; findings are kept as tests.
fuzz: setup
	@SWIFT=$(SWIFT) bash scripts/fuzz.sh

# Breaks each safety check of scripts/mutants.toml in turn (a scratch copy in .build-mutants) and
# expects a test of the suites named to fail; not part of make test (one rebuild per mutant).
mutants: setup
	@SWIFT=$(SWIFT) python3 scripts/mutants.py

# The Pipeline library's DocC archive, warnings as errors; fails on a public declaration without an abstract.
docs: setup
	@SWIFT=$(SWIFT) bash scripts/docs.sh

bench: setup
	@bash scripts/bench.sh

# `pkgfetch components` over a whole list against one curl/oras process per package (README "pkgfetch components").
bench-components: setup
	@bash scripts/bench-components.sh

# A fleet at once: LOAD_NODES (50) pkgfetch processes against one registry behind nginx answering a
# share with 429/503 + Retry-After, then through a pull-through cache; loopback only, a few minutes.
# LOAD_NODES=200 for a bigger fleet.
load: release
	@PKGFETCH=.build-static/release/pkgfetch python3 scripts/load.py

clean:
	rm -rf .build .build-static .build-teamstore .build-dist .build-mutants dist Fuzz/.build Fuzz/.corpus Fuzz/.artifacts
