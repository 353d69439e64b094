# The two commands a newcomer needs: `make demo` and `make test`.
# Both install what they need (apt packages, the speech model) and build first.

CARGO     ?= cargo
FIXTURES  := $(CURDIR)/target/fixtures
# Tests keep their models and databases away from the user's own data.
TEST_HOME := $(CURDIR)/target/test-home

.PHONY: demo test deps build-release build-debug fixtures lint bench-calls

deps:
	scripts/install-deps.sh

build-release: deps
	$(CARGO) build --release --locked

build-debug: deps
	$(CARGO) build --locked --workspace --tests

# Replays the bundled sample call at call speed: transcript, cards, summary.
demo: build-release
	./target/release/cuecard models install
	./target/release/cuecard replay samples/sample-call.flac

fixtures: build-debug
	scripts/fixtures.sh $(FIXTURES)

# Everything CI runs (.ci/run calls exactly this).
test: build-debug fixtures
	CUECARD_HOME=$(TEST_HOME) ./target/debug/cuecard models install > target/test-model-path
	CUECARD_HOME=$(TEST_HOME) CUECARD_TEST_MODEL=$$(cat target/test-model-path) CUECARD_FIXTURES=$(FIXTURES) \
		$(CARGO) test --locked --workspace -- --test-threads=2
	$(MAKE) lint

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
