# The two commands a newcomer needs: `make demo` and `make test`.
# Both install what they need (apt packages, the speech model) and build first.

CARGO     ?= cargo
FIXTURES  := $(CURDIR)/target/fixtures
# Tests keep their models and databases away from the user's own data.
TEST_MODELS := $(CURDIR)/target/test-models

.PHONY: demo test deps deps-app ui-dist build-release build-debug fixtures lint bench-calls ui-test app-test

deps:
	scripts/install-deps.sh

# The desktop app's build packages too (WebKitGTK): tests and lint cover the app.
deps-app:
	scripts/install-deps.sh --app

build-release: deps
	$(CARGO) build --release --locked

# The app embeds ui/dist at compile time.
ui-dist:
	cd ui && npm ci --no-audit --no-fund && npm run build

# Everything in one invocation (CLI, app, tests), so features unify once and the engine
# is compiled once; `cargo test` and scripts/app-e2e.sh reuse exactly this build.
build-debug: deps-app ui-dist
	$(CARGO) build --locked --workspace --all-targets

# Replays the bundled sample call at call speed: transcript, cards, summary.
demo: build-release
	./target/release/cuecard models install tiny.en
	./target/release/cuecard models install all-minilm-l6-v2
	./target/release/cuecard replay samples/sample-call.flac

fixtures: build-debug
	scripts/fixtures.sh $(FIXTURES)

# Everything CI runs (.ci/run calls exactly this).
test: build-debug fixtures
	CUECARD_MODELS=$(TEST_MODELS) ./target/debug/cuecard models install tiny.en > target/test-model-path
	CUECARD_MODELS=$(TEST_MODELS) ./target/debug/cuecard models install all-minilm-l6-v2
	# Embeds the built-in library and trains its classifier once, into the cache beside
	# the test models that every test shares (each test still gets its own database).
	CUECARD_MODELS=$(TEST_MODELS) CUECARD_HOME=$(CURDIR)/target/test-home \
		./target/debug/cuecard library import objection-library
	CUECARD_MODELS=$(TEST_MODELS) CUECARD_TEST_MODEL=$$(cat target/test-model-path) \
		CUECARD_TEST_EMBED_MODEL=$(TEST_MODELS)/all-minilm-l6-v2 CUECARD_FIXTURES=$(FIXTURES) \
		$(CARGO) test --locked --workspace --all-targets --no-fail-fast -- --test-threads=2
	scripts/ui-tests.sh
	scripts/app-e2e.sh
	$(CARGO) fmt --all --check

# Clippy needs its own check build of every crate (minutes on two cores), so CI runs
# only the format check above; run `make lint` before committing.

# The desktop app's web front end alone: unit tests and the built UI in Chromium.
ui-test:
	scripts/ui-tests.sh

lint: deps-app
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

# The desktop app alone (also part of `test`): installs the WebKitGTK build and test
# packages and tauri-driver, builds ui/dist and the debug app, and drives it under Xvfb
# through WebDriver (replay the sample call, card on the overlay, feedback in the
# database, screenshots in target/app-e2e/).
app-test: deps-app
	scripts/app-e2e.sh
