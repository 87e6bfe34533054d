# shellcheck shell=bash
# Shared by the shell tests that act on a model hopper run from a second
# session (crash_resume.sh, vacuum_during_run.sh): a database of their own,
# Fashion-MNIST prepared on 2 segments with a small MLP, four
# configurations, and the run's driver session in the background.
# Set NAME (for messages), DB and PREFIX (of the tables and the model)
# before sourcing it.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

TRIALS=4
SEGMENTS=2
# batch_size 10 makes each unit ~0.1 s, so a run lasts several seconds and
# what a test does lands in the middle of it, not after it.
CONFIGS="[
  {\"model\": \"${PREFIX}_mlp\", \"params\": {\"optimizer\": \"adam\", \"lr\": 0.01, \"batch_size\": 10}},
  {\"model\": \"${PREFIX}_mlp\", \"params\": {\"optimizer\": \"adam\", \"lr\": 0.001, \"batch_size\": 10}},
  {\"model\": \"${PREFIX}_mlp\", \"params\": {\"optimizer\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9, \"batch_size\": 10}},
  {\"model\": \"${PREFIX}_mlp\", \"params\": {\"optimizer\": \"rmsprop\", \"lr\": 0.001, \"batch_size\": 10}}]"

# The per-epoch NOTICEs of the runs are noise here.
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

fail() { automl_die "$NAME: $*"; }
sql() { automl_psql -d "$DB" -qAt -c "$1"; }

driver=""
log="$(mktemp)"
cleanup() {
  if [[ -n "$driver" ]] && kill -0 "$driver" 2>/dev/null; then kill "$driver" || true; fi
  rm -f "$log"
}
trap cleanup EXIT

# Creates $DB with ${PREFIX}_train, ${PREFIX}_val ($1 validation rows; none
# when 0) and the model ${PREFIX}_mlp.
create_run_db() {
  automl_psql -d postgres -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  automl_psql -d "$DB" -q >/dev/null <<SQL
CREATE EXTENSION pg_automl;
SELECT * FROM automl_load_fashion_mnist('fm', validation_rows => $1, train_rows => 6000, test_rows => 10);
SELECT * FROM automl_prepare('fm_train', '${PREFIX}_train', 'label', 'image', 250, $SEGMENTS);
SELECT * FROM automl_add_model('${PREFIX}_mlp', '{"input_shape": [784], "layers": [{"type": "Linear", "out_features": 64},
                                                  {"type": "ReLU"}, {"type": "Linear", "out_features": 10}]}');
SQL
  if (($1 > 0)); then
    automl_psql -d "$DB" -q >/dev/null -c "SELECT * FROM automl_prepare('fm_validation', '${PREFIX}_val', 'label', 'image',
                                            250, $SEGMENTS, \"like\" => '${PREFIX}_train')"
  fi
}

# Runs statement $1 in the background, as the session that drives a run.
start_driver() {
  automl_psql -d "$DB" -qAt -c "$1" >"$log" 2>&1 &
  driver=$!
}

# Waits until count query $1 reaches $2 while the driver runs ($3: what
# for); leaves the last count in $counted.
wait_for_count() {
  local i
  for ((i = 0; ; i++)); do
    counted="$(sql "$1")"
    ((counted < $2)) || return 0
    kill -0 "$driver" 2>/dev/null || fail "the run ended before $3: $(cat "$log")"
    ((i < 600)) || fail "60 s without $3 (count $counted of $2)"
    sleep 0.1
  done
}
