// The driver of a model hopper run: automl_mop_run().
//
// It runs in the caller's backend and only decides: which segment runs which
// unit (MopEpochPlan over the epoch's MopSchedule), when an epoch is closed,
// which trial failed.  The segments do the work and commit it, so the
// driver's own transaction writes nothing: cancelling or terminating it
// loses at most the units in flight, and automl_resume() replans from the
// committed hop log.  While it drives a run it holds a transaction-level
// advisory lock on the run, which is how automl_progress tells a running
// run from an interrupted one.
//
// DriveRun is C++ (CamelCase regime); every PostgreSQL call goes through
// PgCall, so an ERROR (a cancel included) unwinds the C++ frames before the
// entry point re-raises it.
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "boundary.h"
#include "datum_utils.h"
#include "pg_automl/mop_plan.h"
#include "run_lock.h"
#include "segment_executor.h"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

using namespace pg_automl;
using namespace pg_automl::pg;

namespace {

// The error context line of everything raised while a run is driven.
struct DriverContext {
  int64 run_id;    // 0 until the run exists and this session drives it
  bool quiet;      // no context line (progress notices)
  bool procedure;  // started by a procedure: resumed by one too
};

void run_error_context(void* arg) {
  auto* ctx = static_cast<DriverContext*>(arg);
  if (ctx->run_id > 0 && !ctx->quiet)
    errcontext("model hopper run %lld (committed hops are kept: continue it with %s(%lld))",
               static_cast<long long>(ctx->run_id), ctx->procedure ? "CALL automl_resume_proc" : "automl_resume",
               static_cast<long long>(ctx->run_id));
}

// The file of the module that defines `fn` ($libdir/pg_automl as a rule).
char* function_library(Oid fn) {
  HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for function %u", fn);
  bool isnull;
  Datum probin = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);
  if (isnull) elog(ERROR, "function %u has no library", fn);
  char* lib = TextDatumGetCString(probin);
  ReleaseSysCache(tup);
  return lib;
}

// Takes the run's lock (run_lock.h) for the rest of the transaction, or
// errors when another driver holds it.  A direct call, not a query: after
// automl_mop_drive's commit a query would leave a snapshot behind for the
// rest of the run (EnsurePortalSnapshotExists).
void lock_run(const char* schema, int64 run_id) {
  if (!try_lock_run(get_namespace_oid(schema, false), run_id))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_IN_USE), errmsg("run %lld is already running", static_cast<long long>(run_id)),
                    errhint("See automl_progress; a run is driven by one session at a time.")));
}

[[noreturn]] void raise_unit_error(const UnitReply& r, int segment) {
  ereport(ERROR, (errcode(r.sqlerrcode), errmsg("%s", r.text), r.detail ? errdetail("%s", r.detail) : 0,
                  r.hint ? errhint("%s", r.hint) : 0, errcontext("segment %d", segment)));
  pg_unreachable();
}

// Errors a trial can cause by itself (its numbers, its limits, its memory):
// they fail that trial and the run goes on.  Anything else (a full disk, a
// lock timeout, a missing table) stops the run, which can then be resumed.
// automl_run_create() catches the same ones.
bool fails_only_the_trial(int sqlerrcode) {
  int cls = ERRCODE_TO_CATEGORY(sqlerrcode);
  return cls == ERRCODE_DATA_EXCEPTION || cls == ERRCODE_PROGRAM_LIMIT_EXCEEDED || sqlerrcode == ERRCODE_OUT_OF_MEMORY;
}

[[noreturn]] void raise_not_running(int64 run_id, const char* status) {
  ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                  errmsg("run %lld is %s, not running", static_cast<long long>(run_id), status)));
  pg_unreachable();
}

// What a segment runs: a unit of an epoch, the closing of an epoch, or
// other bookkeeping.
struct Job {
  enum class What { Unit, Close, Control } what = What::Unit;
  MopUnit unit{};
  int epoch = 0;
};

// Jobs a segment holds: the one it runs and at most one unit queued behind
// it (see Driver::Dispatch), so it goes from unit to unit without waiting
// for the driver; a deeper queue would only bind units to segments earlier.
constexpr size_t kQueueDepth = 2;

class Driver {
 public:
  Driver(DriverContext* ctx, const char* schema) : ctx_(ctx), schema_(schema) {}

  // `checked`: automl_check_run_command() found the run's tables.
  int64_t Run(const std::string& command, int segments, const char* library, bool checked) {
    nlohmann::json cmd;
    try {
      cmd = nlohmann::json::parse(command);
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::InvalidParameter, "run command holds a number out of range");
    }
    const auto kind = cmd.is_object() ? cmd.find("kind") : cmd.end();
    if (kind == cmd.end() || !kind->is_string() || (*kind != "create" && *kind != "resume"))
      throw Error(ErrorKind::InvalidParameter, "a run command is an object whose \"kind\" is create or resume");
    // A resumed run is locked before segments start (it may be running
    // elsewhere); a new one gets its id once they are up.
    int64 run_id = 0;
    if (*kind == "resume") {
      const auto run = cmd.find("run");
      if (run == cmd.end() || !run->is_number_integer())
        throw Error(ErrorKind::InvalidParameter, "a resume command names its run: {\"kind\": \"resume\", \"run\": id}");
      run_id = run->get<int64_t>();
    }
    // A command the checks could not make sense of (say, a run id beyond
    // bigint) is not run unchecked.
    if (!checked)
      throw Error(ErrorKind::InvalidParameter, "run command names no run or tables that could be checked", {},
                  "Start runs with automl_fit_multiple() and continue them with automl_resume().");
    if (*kind == "resume") PgCall([&] { lock_run(schema_, run_id); });
    PgCall([&] { ex_ = start_segment_executor(segments, library, schema_); });
    if (*kind == "create") {
      // The id is taken before the run exists so that the run is locked
      // from the moment it is created.
      run_id = nlohmann::json::parse(Control(0, R"({"kind": "new_run_id"})")).at("run_id").get<int64_t>();
      PgCall([&] { lock_run(schema_, run_id); });
      cmd["run_id"] = run_id;
      cmd["segments"] = segments;
      // (segments name themselves after a command's "run": only the driver's)
      cmd.erase("run");
      Control(0, cmd.dump());
    }
    ctx_->run_id = run_id;
    st_ = ParseMopRunState(Control(0, Command("load")));
    if (st_.status != "running") PgCall([&] { raise_not_running(run_id, st_.status.c_str()); });
    if (st_.segments != segments)
      throw Error(ErrorKind::InvalidParameter, "run has " + std::to_string(st_.segments) + " segments, not " +
                                                   std::to_string(segments));
    RunEpochs();
    PgCall([&] { ex_->shutdown(); });
    return ctx_->run_id;
  }

 private:
  std::string Command(const char* kind, nlohmann::json args = nlohmann::json::object()) const {
    args["kind"] = kind;
    args["run"] = ctx_->run_id;
    return args.dump();
  }

  // Runs a bookkeeping unit on an idle segment and waits for it; its error
  // stops the run.
  std::string Control(int segment, const std::string& unit) {
    UnitReply r;
    int from = -1;
    PgCall([&] {
      ex_->submit(segment, unit.c_str());
      from = ex_->wait_any(&r);
      if (!r.ok) raise_unit_error(r, from);
    });
    return r.text;
  }

  void Notice(const std::string& message) {
    ctx_->quiet = true;
    PgCall([&] { ereport(NOTICE, (errmsg_internal("%s", message.c_str()))); });
    ctx_->quiet = false;
  }

  // A plan of epoch `epoch` for the trials in `live`, with the units of
  // that epoch committed before this driver started.
  std::unique_ptr<MopEpochPlan> Plan(int epoch, const std::vector<bool>& live) const {
    std::vector<DoneUnit> done;
    for (const auto& d : st_.done)
      if (d.epoch == epoch) done.push_back(d);
    MopSchedule schedule(int(live.size()), st_.segments, st_.seed, epoch);
    return std::make_unique<MopEpochPlan>(schedule, live, st_.validation_segments, done);
  }

  // Runs the epochs left.  Two epochs are in flight: a segment with nothing
  // to do in the current one takes a unit of the next for a trial that is
  // done with the current one, so no segment idles until the slowest trial
  // ends the epoch.  Each trial still visits its shards in schedule order.
  void RunEpochs() {
    epoch_ = st_.epochs_done + 1;
    cur_ = Plan(epoch_, st_.live);
    next_ = epoch_ < st_.epochs ? Plan(epoch_ + 1, st_.live) : nullptr;
    jobs_.assign(size_t(ex_->segments()), {});
    for (;;) {
      for (int s = 0; s < ex_->segments() && !finished_; ++s)
        while (jobs_[size_t(s)].size() < kQueueDepth && Dispatch(s)) {
        }
      bool busy = false;
      for (const auto& q : jobs_) busy = busy || !q.empty();
      if (!busy) {
        if (finished_) return;
        throw Error(ErrorKind::Internal, "hop schedule stalled with units left");
      }
      UnitReply r;
      int s = -1;
      PgCall([&] {
        // A catalog snapshot would hold back vacuum while this waits (see
        // automl_mop_drive).
        InvalidateCatalogSnapshot();
        s = ex_->wait_any(&r);
      });
      Job job = jobs_[size_t(s)].front();
      jobs_[size_t(s)].pop_front();
      if (job.what == Job::What::Unit) {
        OnUnitDone(job, r, s);
        continue;
      }
      if (!r.ok) PgCall([&] { raise_unit_error(r, s); });
      if (job.what == Job::What::Close) OnEpochClosed(r.text);
    }
  }

  // Queues segment `s`'s next job, if there is one, and says whether it did.
  // An idle segment takes failures to record first, then closing a finished
  // epoch, then units of the current epoch, then units of the next.  A busy
  // one queues only a unit of the current epoch behind the one it runs: a
  // queued unit is not ready any sooner (its trial's next shard is this
  // segment's, and the plan holds the trial as busy), and the segment that
  // ends an epoch's last unit is then idle to close it at once.
  bool Dispatch(int s) {
    bool idle = jobs_[size_t(s)].empty();
    Job job;
    std::string unit;
    std::optional<MopUnit> u;
    if (idle && !failures_.empty()) {
      unit = failures_.front();
      failures_.pop_front();
      job.what = Job::What::Control;
    } else if (idle && cur_->Finished() && !closing_ && !RecordingFailures()) {
      // (a failure of this epoch is committed before the epoch closes)
      unit = Command("finish_epoch", {{"epoch", epoch_}});
      job.what = Job::What::Close;
      closing_ = true;
    } else if ((u = cur_->Next(s))) {
      job = Job{Job::What::Unit, *u, epoch_};
    } else if (idle && next_ && (u = next_->Next(s, [&](int t) { return cur_->TrialDone(t); }))) {
      job = Job{Job::What::Unit, *u, epoch_ + 1};
    } else {
      return false;
    }
    if (job.what == Job::What::Unit) unit = UnitCommand(ctx_->run_id, job.epoch, job.unit);
    PgCall([&] { ex_->submit(s, unit.c_str()); });
    jobs_[size_t(s)].push_back(job);
    return true;
  }

  bool RecordingFailures() const {
    if (!failures_.empty()) return true;
    for (const auto& q : jobs_)
      for (const Job& j : q)
        if (j.what == Job::What::Control) return true;
    return false;
  }

  // The epoch close committed: print its progress line; the next epoch
  // becomes current and its successor starts from the trials still alive.
  void OnEpochClosed(const char* reply) {
    auto closed = nlohmann::json::parse(reply);
    Notice(closed.at("message").get<std::string>());
    if (closed.at("finished").get<bool>()) {
      finished_ = true;
      return;
    }
    if (!next_) throw Error(ErrorKind::Internal, "epoch closed without a next one");
    ++epoch_;
    cur_ = std::move(next_);
    next_ = epoch_ < st_.epochs ? Plan(epoch_ + 1, cur_->live()) : nullptr;
    closing_ = false;
  }

  // A unit ended on segment `s`: committed, failed its trial (a loss that
  // is not finite, committed by the unit), or rolled back by an error that
  // either fails only the trial (recorded by a fail_trial unit) or the run.
  void OnUnitDone(const Job& job, const UnitReply& r, int s) {
    MopEpochPlan& plan = job.epoch == epoch_ ? *cur_ : *next_;
    plan.Complete(job.unit);
    std::string reason;
    if (r.ok) {
      auto result = nlohmann::json::parse(r.text);
      if (!result.value("failed", false)) return;
      reason = result.at("reason").get<std::string>();
    } else {
      if (!fails_only_the_trial(r.sqlerrcode)) PgCall([&] { raise_unit_error(r, s); });
      reason = std::string(r.text) + (r.detail ? std::string(": ") + r.detail : std::string()) + " (SQLSTATE " +
               unpack_sql_state(r.sqlerrcode) + ") in epoch " + std::to_string(job.epoch) + " on segment " +
               std::to_string(s);
      failures_.push_back(Command("fail_trial", {{"trial", job.unit.trial}, {"epoch", job.epoch}, {"reason", reason}}));
    }
    // A trial failing in the current epoch has no next one either.
    plan.FailTrial(job.unit.trial);
    if (job.epoch == epoch_ && next_) next_->FailTrial(job.unit.trial);
    Notice("run " + std::to_string(ctx_->run_id) + ": trial " + std::to_string(job.unit.trial) + " failed: " + reason);
  }

  DriverContext* ctx_;
  const char* schema_;
  SegmentExecutor* ex_ = nullptr;
  MopRunState st_;
  // The epochs in flight (RunEpochs).
  int epoch_ = 0;
  std::unique_ptr<MopEpochPlan> cur_, next_;
  std::vector<std::deque<Job>> jobs_;  // per segment: the one it runs, then the queued one
  std::deque<std::string> failures_;   // fail_trial units to commit
  bool closing_ = false;               // finish_epoch of epoch_ sent
  bool finished_ = false;              // the run is over: only wait for what runs
};

// What a driver needs from the arguments of its entry point.
struct DriveArgs {
  const char* command;  // a run command (automl_mop_run)
  int segments;
  char* library;  // the module's file
  char* schema;   // the extension's schema
  // The tables the run reads, schema-qualified (validation may be NULL), as
  // automl_check_run_command() found them.
  char* train;
  char* validation;
};

// Checks the command as the calling role with automl_check_run_command()
// and records the tables its run reads.  The driver is callable by any
// role that may start a run, so nothing in a command is taken on trust
// before it is checked: not the tables it names (they are locked for the
// whole run), not the run it resumes (whose own tables count, whatever the
// command says).  Commands it leaves alone (not a create or resume of a
// run id) are refused by Driver::Run.
void check_command(DriveArgs* a) {
  MemoryContext outer = CurrentMemoryContext;
  SPI_connect();
  // (every name qualified: a procedure's caller may have any search_path)
  char* sql = psprintf("SELECT * FROM %s.automl_check_run_command($1::pg_catalog.jsonb)", quote_identifier(a->schema));
  Oid types[1] = {TEXTOID};
  Datum values[1] = {CStringGetTextDatum(a->command)};
  if (SPI_execute_with_args(sql, 1, types, values, nullptr, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
    elog(ERROR, "automl_check_run_command returned no row");
  char* train = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
  char* validation = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
  a->train = train ? MemoryContextStrdup(outer, train) : nullptr;
  a->validation = validation ? MemoryContextStrdup(outer, validation) : nullptr;
  SPI_finish();
}

DriveArgs drive_args(FunctionCallInfo fcinfo) {
  require_arg(fcinfo, 0, "command");
  require_arg(fcinfo, 1, "segments");
  DriveArgs a{jsonb_arg_cstring(fcinfo, 0), PG_GETARG_INT32(1), function_library(fcinfo->flinfo->fn_oid),
              get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)), nullptr, nullptr};
  if (a.segments < 1 || a.segments > 1024)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("segments must be between 1 and 1024")));
  check_command(&a);
  return a;
}

// Drives a run and returns its id.
int64_t drive(const DriveArgs& a, bool procedure) {
  DriverContext ctx{0, false, procedure};
  ErrorContextCallback callback;
  callback.callback = run_error_context;
  callback.arg = &ctx;
  callback.previous = error_context_stack;
  error_context_stack = &callback;
  int64_t run_id = 0;
  AUTOML_TRY {
    Driver driver(&ctx, a.schema);
    run_id = driver.Run(a.command, a.segments, a.library, a.train != nullptr);
  }
  AUTOML_CATCH;
  error_context_stack = callback.previous;
  return run_id;
}

// The OID of a table the checks named, or InvalidOid once it is gone;
// errors unless the role may read it, before it is locked.
Oid checked_table(const char* name) {
  if (!name) return InvalidOid;
  Oid rel = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(name)), NoLock, true);
  if (OidIsValid(rel) && pg_class_aclcheck(rel, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
    aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, name);
  return rel;
}

// Commits the procedure's transaction so far (see automl_mop_drive) and
// locks again what its caller's statement had locked for a run: the run's
// tables, so that automl_prepare(..., overwrite => true) cannot swap them
// under the run, and automl_runs, so that DROP EXTENSION waits for it.  A
// table swapped between the commit and the lock is caught when the run
// loads (automl_run_load compares what automl_prepare() wrote).
// The commit also ends SET LOCAL: a role or a pg_automl setting that the
// checks saw would silently not be the segments', so a change is an error.
void commit_keeping_run_locks(const DriveArgs& a) {
  SessionSettings before = current_session_settings();
  SPI_commit();
  if (!(current_session_settings() == before))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("the role or a pg_automl setting was set for the transaction only, which the procedure's "
                           "commit ended"),
                    errhint("SET it for the session before the CALL, or use automl_fit_multiple().")));
  Oid rels[3] = {runs_table(get_namespace_oid(a.schema, false)), checked_table(a.train), checked_table(a.validation)};
  for (Oid rel : rels)
    if (OidIsValid(rel)) LockRelationOid(rel, AccessShareLock);
}

}  // namespace

// automl_mop_run(command jsonb, segments int) -> run_id bigint
// command: {"kind": "create", ...} (see automl_run_create) or
//          {"kind": "resume", "run": id}.
// The calling statement's snapshot stays registered for the whole run, so
// vacuum keeps every state the run supersedes until it ends.
AUTOML_FUNCTION(automl_mop_run);
Datum automl_mop_run(PG_FUNCTION_ARGS) { PG_RETURN_INT64(drive(drive_args(fcinfo), false)); }

// PROCEDURE automl_mop_drive(command jsonb, segments int, INOUT run_id bigint)
// The same run as automl_mop_run(), for procedures.  Called by CALL outside
// a transaction block, it first commits the transaction so far (the
// checks, and what a calling procedure did before, as a COMMIT there
// would) and drives the run in a new one that holds no snapshot: the commit
// releases the portals' snapshots (the run's locks are taken again), the
// driver runs no query afterwards, and it drops the catalog snapshot before
// every wait (Driver::RunEpochs).  Vacuum then reclaims superseded states
// during the run.  In a transaction block (or a procedure's exception
// block) the procedure is atomic and runs as automl_mop_run().
AUTOML_FUNCTION(automl_mop_drive);
Datum automl_mop_drive(PG_FUNCTION_ARGS) {
  // (a procedure's exception block is a subtransaction: no commit in it)
  bool nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
                   !castNode(CallContext, fcinfo->context)->atomic && !IsSubTransaction();
  // A nonatomic SPI connection's memory outlives its commits: the arguments
  // are copied there first.
  if (nonatomic) SPI_connect_ext(SPI_OPT_NONATOMIC);
  DriveArgs args = drive_args(fcinfo);
  if (nonatomic) {
    commit_keeping_run_locks(args);
  } else {
    ereport(NOTICE, (errmsg("this run keeps its caller's snapshot to the end: vacuum cannot remove the states it "
                            "supersedes before"),
                     errhint("CALL the procedure outside a transaction block, and not from an exception block or a "
                             "procedure with SET or SECURITY DEFINER, for vacuum to work during the run.")));
  }
  int64_t run_id = drive(args, true);
  if (nonatomic) SPI_finish();
  // The INOUT argument is the procedure's result row.
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "automl_mop_drive must return a record");
  desc = BlessTupleDesc(desc);
  Datum value = Int64GetDatum(run_id);
  bool isnull = false;
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, &value, &isnull)));
}
