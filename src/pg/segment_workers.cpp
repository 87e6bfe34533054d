// Segments as dynamic background workers (see segment_executor.h).
//
// Of the three ways to train shards in parallel on one server (DESIGN.md),
// background workers are the only one that (1) needs no special call form
// (a plain SELECT drives the run), (2) lets every unit commit on its own,
// so progress survives the caller, and (3) never silently falls back to
// serial execution.  Each segment is registered from SQL (no
// shared_preload_libraries) and lives for the whole run, so libtorch loads
// once per segment and every segment keeps its own shard in its buffer cache.
// The driver talks to segment k through two shm_mq queues in one DSM
// segment: units go in, replies come out.
//
// This file is in the PostgreSQL regime: no C++ object with a destructor
// lives here outside the one AUTOML_TRY block (warm_up_blas).
#include <malloc.h>
#include <sys/resource.h>

#include <cstring>

#include "boundary.h"
#include "gucs.h"
#include "segment_executor.h"
#include "pg_automl/runtime.h"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/wait_event.h"
}

extern "C" AUTOML_VISIBLE void automl_segment_main(Datum main_arg);

namespace {
// The bgw_type of segment processes (pg_stat_activity.backend_type).
constexpr const char* kSegmentType = "pg_automl segment";
}  // namespace

namespace pg_automl::pg {
namespace {

// Sends a whole message, waiting for room; PostgreSQL 15 added the flush
// flag (earlier versions always tell the receiver at once).
shm_mq_result send_message(shm_mq_handle* mqh, Size len, const void* data) {
#if PG_VERSION_NUM >= 150000
  return shm_mq_send(mqh, len, data, false, true);
#else
  return shm_mq_send(mqh, len, data, false);
#endif
}

constexpr uint64 kTocMagic = 0x70676d6c73656731ULL;
constexpr Size kQueueSize = 64 * 1024;
constexpr int kRegisterRetries = 50;  // x 100 ms: slots of a run that just ended free up quickly

// What every segment needs from the driver's session.
struct SharedSettings {
  Oid database;
  int segments;
  SessionSettings session;
  char schema[NAMEDATALEN];
};

uint64 to_worker_key(int k) { return 1 + 2 * uint64(k); }
uint64 from_worker_key(int k) { return 2 + 2 * uint64(k); }

// Lives in TopMemoryContext: the DSM detach callback runs during abort,
// after which the driver's own memory may be gone.
struct Workers {
  int n;
  BackgroundWorkerHandle** handles;
};

// On any detach of the driver (normal end, error, cancel, termination):
// segments stop at their next interrupt check, rolling back their unit.
void terminate_segments(dsm_segment*, Datum arg) {
  auto* w = reinterpret_cast<Workers*>(DatumGetPointer(arg));
  for (int k = 0; k < w->n; ++k)
    if (w->handles[k]) {
      TerminateBackgroundWorker(w->handles[k]);
      pfree(w->handles[k]);
    }
  pfree(w->handles);
  pfree(w);
}

struct Slot {
  shm_mq_handle* to_worker;
  shm_mq_handle* from_worker;
  int pending;  // units sent and not yet answered
};

class BgworkerExecutor final : public SegmentExecutor {
 public:
  BgworkerExecutor(int n, dsm_segment* seg, Workers* workers, Slot* slots)
      : n_(n), seg_(seg), workers_(workers), slots_(slots) {}

  int segments() const override { return n_; }

  void submit(int segment, const char* unit) override {
    Slot& s = slots_[segment];
    if (send_message(s.to_worker, strlen(unit), unit) != SHM_MQ_SUCCESS) segment_gone(segment);
    ++s.pending;
  }

  int wait_any(UnitReply* reply) override {
    for (;;) {
      for (int k = 0; k < n_; ++k) {
        if (slots_[k].pending == 0) continue;
        Size len;
        void* data;
        shm_mq_result r = shm_mq_receive(slots_[k].from_worker, &len, &data, true);
        if (r == SHM_MQ_SUCCESS) {
          --slots_[k].pending;
          parse_reply(static_cast<const char*>(data), len, reply);
          return k;
        }
        if (r == SHM_MQ_DETACHED) segment_gone(k);
      }
      // shm_mq sets our latch when a segment replies or detaches; the
      // timeout only bounds how long a lost wakeup could cost.
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000L, PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    }
  }

  void shutdown() override {
    // Closing its input queue tells an idle segment to exit.
    for (int k = 0; k < n_; ++k) shm_mq_detach(slots_[k].to_worker);
    for (int k = 0; k < n_; ++k) (void)WaitForBackgroundWorkerShutdown(workers_->handles[k]);
    for (int k = 0; k < n_; ++k) shm_mq_detach(slots_[k].from_worker);
    dsm_detach(seg_);  // runs terminate_segments, which frees workers_
  }

 private:
  [[noreturn]] void segment_gone(int k) {
    ereport(ERROR, (errcode(ERRCODE_OPERATOR_INTERVENTION), errmsg("segment process %d stopped during the run", k),
                    errdetail("It was terminated or failed; the unit it was running was rolled back.")));
    pg_unreachable();
  }

  // 'O' result | 'E' int32 sqlerrcode, message \0 detail \0 hint \0
  static void parse_reply(const char* data, Size len, UnitReply* reply) {
    memset(reply, 0, sizeof(*reply));
    if (len >= 1 && data[0] == 'O') {
      reply->ok = true;
      reply->text = pnstrdup(data + 1, len - 1);
      return;
    }
    if (len < 1 + sizeof(int32) || data[0] != 'E' || data[len - 1] != '\0')
      ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION), errmsg("segment sent a malformed reply")));
    int32 code;
    memcpy(&code, data + 1, sizeof(code));
    reply->sqlerrcode = code;
    const char* p = data + 1 + sizeof(code);
    const char* end = data + len;
    const char* parts[3] = {nullptr, nullptr, nullptr};
    for (int i = 0; i < 3 && p < end; ++i) {
      parts[i] = p;
      p += strlen(p) + 1;
    }
    reply->text = pstrdup(parts[0] ? parts[0] : "unknown error");
    reply->detail = parts[1] && *parts[1] ? pstrdup(parts[1]) : nullptr;
    reply->hint = parts[2] && *parts[2] ? pstrdup(parts[2]) : nullptr;
  }

  int n_;
  dsm_segment* seg_;
  Workers* workers_;
  Slot* slots_;
};

void register_segment(dsm_segment* seg, Workers* workers, int k, const char* library) {
  BackgroundWorker w;
  memset(&w, 0, sizeof(w));
  w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  w.bgw_start_time = BgWorkerStart_RecoveryFinished;
  w.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(w.bgw_library_name, library, BGW_MAXLEN);
  strlcpy(w.bgw_function_name, "automl_segment_main", BGW_MAXLEN);
  snprintf(w.bgw_name, BGW_MAXLEN, "pg_automl segment %d of %d for PID %d", k, workers->n, MyProcPid);
  strlcpy(w.bgw_type, kSegmentType, BGW_MAXLEN);
  w.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
  memcpy(w.bgw_extra, &k, sizeof(k));
  w.bgw_notify_pid = MyProcPid;
  for (int attempt = 0;; ++attempt) {
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    bool ok = RegisterDynamicBackgroundWorker(&w, &workers->handles[k]);
    MemoryContextSwitchTo(old);
    if (ok) return;
    if (attempt == kRegisterRetries)
      ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                      errmsg("could not start segment process %d of %d", k, workers->n),
                      errdetail("All background worker slots are taken (max_worker_processes is %d).",
                                max_worker_processes),
                      errhint("Each running model hopper run needs one slot per segment, next to parallel "
                              "queries and other extensions: wait for other runs, or raise "
                              "max_worker_processes (it takes a server restart).")));
    pg_usleep(100000L);
    CHECK_FOR_INTERRUPTS();
  }
}

}  // namespace

// Segments connect as the current user, which PostgreSQL 15 lets a
// background worker do only for a role that may log in.
void check_user_can_connect() {
  HeapTuple tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for role %u", GetUserId());
  auto* role = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tup));
  bool can_login = role->rolcanlogin;
  char* name = pstrdup(NameStr(role->rolname));
  ReleaseSysCache(tup);
  if (!can_login)
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("segment processes cannot connect as role \"%s\"", name),
                    errdetail("Segments run as the current user, and role \"%s\" may not log in.", name),
                    errhint("Start the run as a role with LOGIN (not after SET ROLE to a NOLOGIN role).")));
}

SessionSettings current_session_settings() {
  SessionSettings s{};  // zeroed, device included
  s.user = GetUserId();
  s.threads = automl_threads;
  s.buffer_cache_mb = automl_buffer_cache_mb;
  s.memory_mb = automl_segment_memory_mb;
  s.max_activation_mb = automl_max_activation_memory_mb;
  strlcpy(s.device, automl_device ? automl_device : "cpu", sizeof(s.device));
  return s;
}

bool operator==(const SessionSettings& a, const SessionSettings& b) {
  return a.user == b.user && a.threads == b.threads && a.buffer_cache_mb == b.buffer_cache_mb &&
         a.memory_mb == b.memory_mb && a.max_activation_mb == b.max_activation_mb && strcmp(a.device, b.device) == 0;
}

SegmentExecutor* start_segment_executor(int segments, const char* library, const char* schema) {
  check_user_can_connect();
  if (segments > max_worker_processes)
    ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                    errmsg("too few background worker processes for %d segments", segments),
                    errdetail("A run needs one background worker per segment; max_worker_processes is %d.",
                              max_worker_processes),
                    errhint("Raise max_worker_processes to at least %d (it takes a server restart), or prepare the "
                            "data with fewer segments.",
                            segments + 2)));
  shm_toc_estimator e;
  shm_toc_initialize_estimator(&e);
  shm_toc_estimate_chunk(&e, sizeof(SharedSettings));
  for (int k = 0; k < 2 * segments; ++k) shm_toc_estimate_chunk(&e, kQueueSize);
  shm_toc_estimate_keys(&e, 1 + 2 * segments);
  Size size = shm_toc_estimate(&e);
  dsm_segment* seg = dsm_create(size, 0);
  shm_toc* toc = shm_toc_create(kTocMagic, dsm_segment_address(seg), size);

  auto* settings = static_cast<SharedSettings*>(shm_toc_allocate(toc, sizeof(SharedSettings)));
  settings->database = MyDatabaseId;
  settings->segments = segments;
  settings->session = current_session_settings();
  strlcpy(settings->schema, schema, sizeof(settings->schema));
  shm_toc_insert(toc, 0, settings);

  auto* workers = static_cast<Workers*>(MemoryContextAllocZero(TopMemoryContext, sizeof(Workers)));
  workers->n = segments;
  workers->handles = static_cast<BackgroundWorkerHandle**>(
      MemoryContextAllocZero(TopMemoryContext, sizeof(BackgroundWorkerHandle*) * size_t(segments)));
  on_dsm_detach(seg, terminate_segments, PointerGetDatum(workers));

  auto* slots = static_cast<Slot*>(palloc0(sizeof(Slot) * size_t(segments)));
  shm_mq** in = static_cast<shm_mq**>(palloc(sizeof(shm_mq*) * size_t(segments)));
  shm_mq** out = static_cast<shm_mq**>(palloc(sizeof(shm_mq*) * size_t(segments)));
  for (int k = 0; k < segments; ++k) {
    in[k] = shm_mq_create(shm_toc_allocate(toc, kQueueSize), kQueueSize);
    shm_mq_set_sender(in[k], MyProc);
    shm_toc_insert(toc, to_worker_key(k), in[k]);
    out[k] = shm_mq_create(shm_toc_allocate(toc, kQueueSize), kQueueSize);
    shm_mq_set_receiver(out[k], MyProc);
    shm_toc_insert(toc, from_worker_key(k), out[k]);
  }
  for (int k = 0; k < segments; ++k) {
    register_segment(seg, workers, k, library);
    slots[k].to_worker = shm_mq_attach(in[k], seg, workers->handles[k]);
    slots[k].from_worker = shm_mq_attach(out[k], seg, workers->handles[k]);
  }
  // A segment says it is ready once connected to the database: a failure
  // before that (no CONNECT privilege, a connection limit) is a start-up
  // failure, not a lost unit.
  for (int k = 0; k < segments; ++k) {
    Size len;
    void* data;
    if (shm_mq_receive(slots[k].from_worker, &len, &data, false) != SHM_MQ_SUCCESS)
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES), errmsg("could not start segment process %d", k),
                      errdetail("It exited while connecting to the database as the current user."),
                      errhint("See the server log.")));
  }
  void* mem = palloc(sizeof(BgworkerExecutor));
  return new (mem) BgworkerExecutor(segments, seg, workers, slots);
}

}  // namespace pg_automl::pg

namespace {

using pg_automl::pg::SharedSettings;

// Maps the BLAS work buffers now, with the segment's thread count.
void warm_up_blas() {
  AUTOML_TRY {
    pg_automl::pg::PrepareRuntime();
    pg_automl::WarmUpBlas();
  }
  AUTOML_CATCH;
}

void set_option(const char* name, const char* value) {
  SetConfigOption(name, value, PGC_USERSET, PGC_S_SESSION);
}

// The driver's settings, so that a segment trains as the caller would.
void apply_settings(const SharedSettings* s, int k) {
  char buf[32];
  automl_segment = k;
  snprintf(buf, sizeof(buf), "%d", s->session.threads);
  set_option("pg_automl.threads", buf);
  snprintf(buf, sizeof(buf), "%d", s->session.buffer_cache_mb);
  set_option("pg_automl.buffer_cache_mb", buf);
  set_option("pg_automl.device", s->session.device);
  // (a superuser-only setting: the driver's session was allowed to set it)
  snprintf(buf, sizeof(buf), "%d", s->session.max_activation_mb);
  SetConfigOption("pg_automl.max_activation_memory_mb", buf, PGC_SUSET, PGC_S_SESSION);
  snprintf(buf, sizeof(buf), "pg_automl segment %d", k);
  set_option("application_name", buf);
  // Every unit allocates and frees several copies of a state (often MBs):
  // by default glibc maps each with mmap and gives it back, and the fresh
  // pages' faults cost ~2 ms per unit of an MLP on Fashion-MNIST.  A segment
  // lives for one run, so it keeps freed memory for the next unit instead.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
  // The driver waits on its segments, not on a lock, so a lock wait of a
  // segment behind DDL that waits for the driver would never be detected as
  // a deadlock: give up instead (the run stops and can be resumed).
  set_option("lock_timeout", "30s");
  // Units see what earlier units committed and write their own, whatever
  // the database's or role's defaults say; the caller's statement_timeout
  // bounds the run, not each unit.
  set_option("default_transaction_isolation", "read committed");
  set_option("default_transaction_read_only", "off");
  set_option("statement_timeout", "0");
  // Units name every object they use; built-ins come from pg_catalog alone,
  // whatever search_path the database or role sets.
  set_option("search_path", "pg_catalog, pg_temp");
  if (s->session.memory_mb > 0) {
    // A BLAS work buffer mapped under the limit could hang the segment
    // (OpenBLAS retries a failed mapping forever, deaf to signals).
    warm_up_blas();
    // Allocation beyond the limit fails (std::bad_alloc, or palloc's
    // "out of memory"): the unit's trial fails, the segment lives on.
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = rlim_t(s->session.memory_mb) * 1024 * 1024;
    if (setrlimit(RLIMIT_DATA, &limit) != 0)
      ereport(WARNING, (errcode_for_file_access(), errmsg("could not limit segment memory: %m")));
  }
}

void append_reply_error(StringInfo reply, const ErrorData* ed) {
  int32 code = ed->sqlerrcode;
  appendStringInfoChar(reply, 'E');
  appendBinaryStringInfo(reply, reinterpret_cast<const char*>(&code), sizeof(code));
  for (const char* part : {ed->message, ed->detail, ed->hint}) {
    appendStringInfoString(reply, part ? part : "");
    appendStringInfoChar(reply, '\0');
  }
}

// Runs one unit in its own transaction and commits it; the reply carries
// the result or the error that rolled it back.  The segment survives any
// ERROR; a termination (FATAL) ends it.
void run_unit(const char* sql, const char* unit, StringInfo reply, int k) {
  MemoryContext unit_cxt = CurrentMemoryContext;
  pgstat_report_activity(STATE_RUNNING, unit);
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PG_TRY();
  {
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    Oid types[1] = {TEXTOID};
    Datum values[1] = {CStringGetTextDatum(unit)};
    int rc = SPI_execute_with_args(sql, 1, types, values, nullptr, false, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1)
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("segment unit returned no result")));
    char* result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    appendStringInfoChar(reply, 'O');
    appendStringInfoString(reply, result ? result : "null");
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    // Let autovacuum see the dead versions of states during a long run.
    pgstat_report_stat(false);
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(unit_cxt);
    ErrorData* ed = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    // An out-of-memory unit leaves large freed blocks that this process
    // keeps (mallopt above); under a memory limit they would starve the
    // next units.
    malloc_trim(0);
    resetStringInfo(reply);
    append_reply_error(reply, ed);
    ereport(LOG, (errmsg("pg_automl segment %d: unit %s failed: %s", k, unit, ed->message)));
  }
  PG_END_TRY();
  pgstat_report_activity(STATE_IDLE, nullptr);
}

}  // namespace

void automl_segment_main(Datum main_arg) {
  // die() only sets flags; the default handler of background workers exits
  // from inside the signal handler, which could be in the middle of libtorch.
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  int k;
  memcpy(&k, MyBgworkerEntry->bgw_extra, sizeof(k));
  // No resource owner: the mapping lasts until the process exits.
  dsm_segment* seg = dsm_attach(DatumGetUInt32(main_arg));
  if (!seg)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("could not map the shared memory of a model hopper run")));
  shm_toc* toc = shm_toc_attach(pg_automl::pg::kTocMagic, dsm_segment_address(seg));
  if (!toc)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("shared memory of a model hopper run has the wrong format")));
  auto* settings = static_cast<SharedSettings*>(shm_toc_lookup(toc, 0, false));
  auto* in = static_cast<shm_mq*>(shm_toc_lookup(toc, pg_automl::pg::to_worker_key(k), false));
  auto* out = static_cast<shm_mq*>(shm_toc_lookup(toc, pg_automl::pg::from_worker_key(k), false));
  shm_mq_set_receiver(in, MyProc);
  shm_mq_set_sender(out, MyProc);
  shm_mq_handle* inh = shm_mq_attach(in, seg, nullptr);
  shm_mq_handle* outh = shm_mq_attach(out, seg, nullptr);

  BackgroundWorkerInitializeConnectionByOid(settings->database, settings->session.user, 0);
  apply_settings(settings, k);
  if (pg_automl::pg::send_message(outh, 1, "R") != SHM_MQ_SUCCESS) proc_exit(0);

  MemoryContext unit_cxt = AllocSetContextCreate(TopMemoryContext, "pg_automl segment unit", ALLOCSET_DEFAULT_SIZES);
  MemoryContextSwitchTo(unit_cxt);
  StringInfoData sql;
  initStringInfo(&sql);
  appendStringInfo(&sql, "SELECT %s.automl_run_unit($1::jsonb)::text", quote_identifier(settings->schema));
  char* sql_text = MemoryContextStrdup(TopMemoryContext, sql.data);
  for (;;) {
    Size len;
    void* data;
    // Blocks until the driver sends a unit; the driver closing the queue
    // (end of run, error, exit) ends the segment.
    if (shm_mq_receive(inh, &len, &data, false) != SHM_MQ_SUCCESS) break;
    MemoryContextReset(unit_cxt);
    MemoryContextSwitchTo(unit_cxt);
    char* unit = pnstrdup(static_cast<const char*>(data), len);
    StringInfoData reply;
    initStringInfo(&reply);
    run_unit(sql_text, unit, &reply, k);
    if (pg_automl::pg::send_message(outh, Size(reply.len), reply.data) != SHM_MQ_SUCCESS) break;
  }
  proc_exit(0);
}

// automl_require_segment(fn text) -> void
// Errors unless this backend is a segment process of a model hopper run.
// The units behind automl_run_unit() write the run's catalog rows as the
// run's role: called from an ordinary session they would let that role
// change a run past the driver (mark trials failed, close epochs).  Only a
// background worker that this module started has this type.
AUTOML_FUNCTION(automl_require_segment);
Datum automl_require_segment(PG_FUNCTION_ARGS) {
  if (MyBgworkerEntry && strcmp(MyBgworkerEntry->bgw_type, kSegmentType) == 0) PG_RETURN_VOID();
  const char* fn = PG_ARGISNULL(0) ? "this function" : text_to_cstring(PG_GETARG_TEXT_PP(0));
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("%s() is run by the segment processes of model hopper runs only", fn),
                  errhint("Start or continue runs with automl_fit_multiple() and automl_resume().")));
  PG_RETURN_VOID();
}
