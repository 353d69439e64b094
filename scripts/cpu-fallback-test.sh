#!/usr/bin/env bash
# Runs the engine's embedding and vector-search unit tests on emulated older x86-64
# processors (qemu user mode), so the code paths this machine never takes are tested:
#   Haswell-v4: AVX2 and FMA, no AVX-512 (gemm's AVX2 kernels, the AVX2 8-bit dot product);
#   Nehalem:    SSE4.2, no AVX (gemm's portable kernels, the plain 8-bit lanes).
# The embedding tests compare against PyTorch's vectors to 2e-6, so a kernel that computed
# differently would fail them. Needs the test models of `make test` (target/test-models).
# Not part of `make test`: emulating AVX2 is slow (about 7 minutes here, 1 more for Nehalem).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

models=${CUECARD_MODELS:-$PWD/target/test-models}
if [ ! -d "$models/all-minilm-l6-v2" ]; then
  echo "error: no embedding model in $models/all-minilm-l6-v2; run \`make test\` once (it installs the test models)" >&2
  exit 1
fi
scripts/install-deps.sh --qemu

# The engine's unit-test binary, from the same `cargo test` invocation as `make test` (which
# reuses its build, unless that ran under .ci/run's CARGO_INCREMENTAL=0).
binary=$(cargo test --locked --workspace --all-targets --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "cuecard_engine":
        print(m["executable"])') || binary=""
if [ -z "$binary" ]; then
  echo "error: could not build the engine's unit tests; run \`cargo test --workspace --all-targets --no-run\` to see why" >&2
  exit 1
fi

export CUECARD_TEST_EMBED_MODEL=$models/all-minilm-l6-v2
for cpu in Haswell-v4 Nehalem; do
  echo "==> engine embedding and vector tests on an emulated $cpu"
  # qemu warns about CPUID bits user mode does not emulate; they do not matter here.
  qemu-x86_64 -cpu "$cpu" "$binary" embed:: matcher::vector_index --test-threads=2 \
    2> >(grep -v "TCG doesn't support requested feature" >&2)
done
