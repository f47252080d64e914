# pkgfetch: the two commands are `make demo` and `make test`; both install what they need first.
SWIFT ?= swift

.PHONY: setup build test demo bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --no-parallel

demo: setup
	$(SWIFT) build -c release
	@bash scripts/demo.sh .build/release/pkgfetch

bench: setup
	@bash scripts/bench.sh

clean:
	rm -rf .build
