#!/usr/bin/env bash
# Builds the core, its unit tests and the standalone benchmark against the
# CUDA-enabled libtorch inside a PyPI torch wheel (no PostgreSQL needed), and
# runs the unit tests.  Not part of check.sh: it downloads the wheel (~3 GB
# with its CUDA libraries) from PyPI and needs the CUDA toolkit (nvcc).
#
# Usage: scripts/cuda_build.sh [VENV_DIR]     (default: build-cuda/venv)
# Environment: TORCH_SPEC (pip requirement, default "torch").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-cuda"
VENV="${1:-$BUILD/venv}"

command -v nvcc >/dev/null || { echo "error: nvcc (the CUDA toolkit) is required" >&2; exit 1; }
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "${TORCH_SPEC:-torch}"
fi
prefix="$("$VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
start=$(date +%s)
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPG_AUTOML_WITH_POSTGRES=OFF -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$BUILD" -j"${AUTOML_JOBS:-2}"
echo "==> CUDA build took $(($(date +%s) - start)) s"
# Without a GPU the tests run on the CPU of the CUDA build; with one, the
# CUDA test runs too.
"$BUILD/pg_automl_tests"
