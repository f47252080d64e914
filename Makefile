# pkgfetch: the two commands are `make demo` and `make test`; both install what they need first.
SWIFT ?= swift
# Release builds link the Swift runtime statically: one self-contained binary, as a node would get it
# (no Swift runtime on the node), and fewer shared-library pages resident.
RELEASE = -c release --static-swift-stdlib --scratch-path .build-static

.PHONY: setup build test demo bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

# Tests run in parallel (swift-testing's default): suites that block run on threads of their own, at
# most PKGFETCH_TEST_WIDTH (4) tests at once (Tests/TestSupport/OffPoolTrait.swift).
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: setup
	$(SWIFT) build $(RELEASE)
	@bash scripts/demo.sh .build-static/release/pkgfetch

bench: setup
	@bash scripts/bench.sh

clean:
	rm -rf .build .build-static
