#!/usr/bin/env bash
# Soak: one session runs ROUNDS rounds (default 200; scripts/check.sh runs
# 40) of fits, evaluations, predictions and bad input (invalid params, a
# corrupt state, a cancelled fit), and every 5th round a model hopper run
# in segment processes, with a trial whose loss becomes NaN, or a run that
# is cancelled.  Then it checks that nothing is left behind:
#   - the session's backend memory levels off: after the first quarter of
#     the rounds (which fills the buffer cache) its private resident memory
#     (RssAnon: VmRSS also counts the shared buffers it touches, which grow
#     with every state written) grows by less than SOAK_RSS_SLACK_MB (32);
#   - its open file descriptors do not grow: the most it holds in the last
#     quarter of the rounds exceeds the most of the first half by at most 2
#     (PostgreSQL keeps the files of the relations it touched open, and a
#     few come and go); a descriptor lost per run of the rarest operation
#     (every 10th round) adds 5 per 100 rounds, so the default 200 rounds
#     catch it, and the 40 of check.sh a leak every 4th round;
#   - no segment process, dynamic shared memory segment, temporary file or
#     other server process outlives the rounds.
#
# Usage: regress/soak.sh [ROUNDS]   (against the cluster of PGHOST/PGPORT,
# as scripts/check.sh calls it, in a database of its own)
set -euo pipefail
NAME=soak
DB=automl_soak
PREFIX=sk
# shellcheck source=regress/run_script.sh
source "$(dirname "${BASH_SOURCE[0]}")/run_script.sh"

ROUNDS="${1:-200}"
[[ "$ROUNDS" =~ ^[0-9]+$ ]] && ((ROUNDS >= 8)) || fail "ROUNDS must be a number of at least 8, not $ROUNDS"
SLACK_MB="${SOAK_RSS_SLACK_MB:-32}"

create_run_db 500
datadir="$(sql "SHOW data_directory")"
postmaster="$(head -n 1 "$datadir/postmaster.pid")"

# What the server holds while idle: its processes, its dynamic shared
# memory segments (files of POSIX shared memory) and temporary files.
children() { pgrep -c -P "$postmaster" || true; }
dsm_files() { find /dev/shm -maxdepth 1 -name 'PostgreSQL.*' 2>/dev/null | wc -l; }
temp_files() { sql "SELECT count(*) FROM pg_ls_tmpdir()"; }
sleep 1
children_before="$(children)"
dsm_before="$(dsm_files)"

# One round of work and errors (errors do not stop the script); every 5th
# round adds a hopper run: a NaN trial that fails alone, or a cancelled run.
round_sql() {
  local r=$1
  cat <<SQL
SELECT count(*) FROM automl_fit('sk_train', 'sk_mlp', '{"lr": 0.01, "batch_size": 100}', 1, 'sk_val', seed => $r);
SELECT rows FROM automl_evaluate((SELECT max(fit_id) FROM automl_fits), 'sk_val');
SELECT count(*) FROM automl_predict((SELECT max(fit_id) FROM automl_fits), 'sk_val');
SELECT count(*) FROM automl_fit('sk_train', 'sk_mlp', '{"lr": -1}', 1);
SELECT (automl_train_pass('sk_train', 0, '\\x0102'::bytea, (SELECT spec FROM automl_model_arch WHERE name = 'sk_mlp'),
                          '{}')).rows;
SET statement_timeout = '100ms';
SELECT count(*) FROM automl_fit('sk_train', 'sk_mlp', '{"batch_size": 10}', 50);
RESET statement_timeout;
SQL
  if ((r % 10 == 5)); then
    cat <<SQL
SELECT count(*) FROM automl_fit_multiple('sk_train', '[{"model": "sk_mlp", "params": {"batch_size": 100}},
    {"model": "sk_mlp", "params": {"optimizer": "sgd", "lr": 10, "momentum": 0.99}}]', 1, 'sk_val', seed => $r);
SQL
  elif ((r % 10 == 0)); then
    cat <<SQL
SET statement_timeout = '3s';
SELECT count(*) FROM automl_fit_multiple('sk_train', '$CONFIGS', 100, seed => $r);
RESET statement_timeout;
SQL
  fi
  # The backend's private resident memory (kB) and open descriptors, as it
  # reads them.
  cat <<SQL
INSERT INTO sk_usage SELECT $r, (regexp_match(pg_read_file('/proc/self/status'), 'RssAnon:\\s+(\\d+)'))[1]::bigint,
                            (SELECT count(*) FROM pg_ls_dir('/proc/self/fd'))
                     WHERE NOT EXISTS (SELECT 1 FROM sk_usage WHERE round = $r);
SQL
}

sql "CREATE TABLE sk_usage (round int PRIMARY KEY, rss_kb bigint, fds bigint)"
script="$(mktemp)"
{
  echo "SELECT pg_backend_pid();"
  for ((r = 1; r <= ROUNDS; r++)); do round_sql "$r"; done
} >"$script"
automl_log "soak: $ROUNDS rounds in one session"
start=$SECONDS
automl_psql -d "$DB" -qAt -v ON_ERROR_STOP=0 -f "$script" >"$log" 2>&1 || true
rm -f "$script"
# (kept for a look when a check below fails)
cp "$log" "$AUTOML_BUILD_DIR/soak.log"
echo "soak: $ROUNDS rounds in $((SECONDS - start)) s"

# Every round ran, and its errors were the expected ones.
[[ "$(sql "SELECT count(*) FROM sk_usage")" == "$ROUNDS" ]] ||
  fail "only $(sql "SELECT count(*) FROM sk_usage") of $ROUNDS rounds recorded their usage: $(tail -n 20 "$log")"
unexpected="$(grep -E '^(psql:.*)?(ERROR|FATAL|PANIC)' "$log" |
  grep -vE 'training parameter "lr" must be in|not a pg_automl training state|canceling statement due to statement timeout' | head -n 5 || true)"
[[ -z "$unexpected" ]] || fail "unexpected errors: $unexpected"
grep -q 'server closed the connection' "$log" && fail "the session's backend died: $(grep -m1 -B2 'server closed' "$log")"
fits="$(sql "SELECT count(*) FROM automl_fits WHERE epochs_done = 1 AND epochs = 1")"
failed="$(sql "SELECT count(*) FROM automl_trials WHERE status = 'failed' AND reason LIKE 'training loss became%'")"
cancelled="$(sql "SELECT count(*) FROM automl_runs WHERE status = 'running'")"
((fits >= ROUNDS)) || fail "$fits fits completed, fewer than the $ROUNDS rounds"
((failed >= ROUNDS / 10)) || fail "$failed NaN trials failed, expected one per 10 rounds"
((cancelled >= ROUNDS / 10)) || fail "$cancelled runs were cancelled, expected one per 10 rounds"
echo "ok: $fits fits, $failed NaN trials failed alone, $cancelled runs cancelled (resumable)"

# Memory levels off once the buffer cache is full; descriptors stay put.
read -r q1_rss last_rss max_rss q1_fds last_fds < <(sql "
  SELECT (SELECT rss_kb FROM sk_usage WHERE round = $((ROUNDS / 4))), (SELECT rss_kb FROM sk_usage WHERE round = $ROUNDS),
         (SELECT max(rss_kb) FROM sk_usage WHERE round > $((ROUNDS / 4))),
         (SELECT max(fds) FROM sk_usage WHERE round <= $((ROUNDS / 2))),
         (SELECT max(fds) FROM sk_usage WHERE round > $((3 * ROUNDS / 4)))" |
  tr '|' ' ')
echo "soak: backend private memory $((q1_rss / 1024)) MB after round $((ROUNDS / 4)), $((last_rss / 1024)) MB at the end" \
  "(max $((max_rss / 1024)) MB); open descriptors at most $q1_fds in the first half, $last_fds in the last quarter"
echo "soak: private memory (MB) and descriptors by round: $(sql "SELECT string_agg(round || ':' || rss_kb / 1024 || '/' || fds, ' '
  ORDER BY round) FROM sk_usage WHERE round % greatest($ROUNDS / 8, 1) = 0")"
((max_rss - q1_rss < SLACK_MB * 1024)) ||
  fail "backend memory grew from $((q1_rss / 1024)) MB to $((max_rss / 1024)) MB after round $((ROUNDS / 4))"
((last_fds - q1_fds <= 2)) || fail "the backend's open descriptors grew from $q1_fds to $last_fds"
echo "ok: backend memory levelled off and no descriptor leaked"

# Nothing outlives the rounds: segments, their shared memory, temp files.
for ((i = 0; i < 100; i++)); do
  segs="$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_automl segment'")"
  ((segs == 0)) && (($(children) <= children_before)) && (($(dsm_files) <= dsm_before)) && break
  sleep 0.1
done
((segs == 0)) || fail "$segs segment processes outlived their runs"
(($(children) <= children_before)) || fail "the server has $(children) processes, $children_before before the soak"
(($(dsm_files) <= dsm_before)) || fail "$(dsm_files) dynamic shared memory segments, $dsm_before before the soak"
(($(temp_files) == 0)) || fail "$(temp_files) temporary files left behind"
echo "ok: no segment process, shared memory segment, temporary file or server process left behind"
echo "ok: soak passed"
