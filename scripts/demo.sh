#!/usr/bin/env bash
# Builds pg_automl, starts a private PostgreSQL 15 cluster with it and runs
# scripts/demo.sql there. The output is also saved to build/demo.out.
#
# Usage: scripts/demo.sh [PSQL_ARGS...]   (e.g. -e to echo queries)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local sql="$ROOT/scripts/demo.sql"
  [[ -f "$sql" ]] || automl_die "missing $sql"
  automl_install_deps
  automl_build
  automl_cluster_start
  automl_psql "$@" -f "$sql" 2>&1 | tee "$AUTOML_BUILD_DIR/demo.out"
}

main "$@"
