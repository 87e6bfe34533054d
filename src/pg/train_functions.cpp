// Training, evaluation and prediction inside the database.
//
// The training aggregate keeps a Trainer (model + optimizer) in an internal
// state owned by the aggregate's memory context: the state bytes are
// deserialised once, every row (one packed buffer) is one or more optimizer
// steps, and the final function serialises the state once.
#include <chrono>
#include <cmath>
#include <string>

#include "boundary.h"
#include "buffer_cache.h"
#include "datum_utils.h"
#include "owned.h"
#include "pg_automl/model_spec.h"
#include "pg_automl/train_params.h"
#include "pg_automl/trainer.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

using namespace pg_automl;
using namespace pg_automl::pg;

namespace {

// The inputs a Trainer is built from, read from SQL arguments as plain C data.
struct TrainerArgs {
  const char* spec;
  const char* params;
  const void* state;
  size_t state_size;
};

TrainerArgs trainer_args(FunctionCallInfo fcinfo, int state_arg, int spec_arg, int params_arg) {
  require_arg(fcinfo, state_arg, "training state");
  require_arg(fcinfo, spec_arg, "model spec");
  TrainerArgs a;
  bytea* state = PG_GETARG_BYTEA_P(state_arg);
  a.state = VARDATA(state);
  a.state_size = VARSIZE(state) - VARHDRSZ;
  a.spec = jsonb_arg_cstring(fcinfo, spec_arg);
  a.params = PG_ARGISNULL(params_arg) ? "{}" : jsonb_arg_cstring(fcinfo, params_arg);
  return a;
}

std::unique_ptr<Trainer> RestoreTrainer(const TrainerArgs& a) {
  std::string device = PrepareRuntime();
  return Trainer::Restore(ParseModelSpec(a.spec), ParseTrainParams(a.params), a.state, a.state_size, device);
}

// The bytes of one row's packed buffer (from the backend's buffer cache
// when it was read before).
struct RawBuffer {
  const char* data;
  size_t size;
};

RawBuffer buffer_arg(FunctionCallInfo fcinfo, int argno) {
  if (PG_ARGISNULL(argno))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("packed buffer is NULL")));
  RawBuffer b;
  b.data = cached_buffer_arg(fcinfo, argno, &b.size);
  return b;
}

struct TrainState {
  std::unique_ptr<Trainer> trainer;
  PassStats stats;
  double step_seconds = 0;  // inside Trainer::Train: what the hopper's overhead is measured against
};

// The result row of types `types` (n of them).  The declared result type is
// checked against them: heap_form_tuple reads as many values as the type has
// attributes, and the extension's types can be altered.
Datum result_tuple(FunctionCallInfo fcinfo, Datum* values, bool* nulls, const Oid* types, int n) {
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("function must return a composite type")));
  bool same = tupdesc->natts == n;
  for (int i = 0; same && i < n; ++i)
    same = !TupleDescAttr(tupdesc, i)->attisdropped && TupleDescAttr(tupdesc, i)->atttypid == types[i];
  if (!same)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("type %s was altered", format_type_be(tupdesc->tdtypeid)),
                    errdetail("The function returns the %d attributes the extension created the type with.", n),
                    errhint("Reinstall the extension (DROP EXTENSION pg_automl; CREATE EXTENSION pg_automl).")));
  tupdesc = BlessTupleDesc(tupdesc);
  return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

Datum float_or_null(double v, bool* isnull) {
  *isnull = std::isnan(v);
  return Float8GetDatum(v);
}

}  // namespace

// automl_init_state(spec jsonb, params jsonb, task text, seed bigint) -> bytea
// A fresh model: weights initialised from `seed`, empty optimizer state.
AUTOML_FUNCTION(automl_init_state);
Datum automl_init_state(PG_FUNCTION_ARGS) {
  require_arg(fcinfo, 0, "model spec");
  require_arg(fcinfo, 2, "task");
  const char* spec = jsonb_arg_cstring(fcinfo, 0);
  const char* params = PG_ARGISNULL(1) ? "{}" : jsonb_arg_cstring(fcinfo, 1);
  char* task = text_to_cstring(PG_GETARG_TEXT_PP(2));
  int64 seed = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);
  Task t;
  if (strcmp(task, "classification") == 0) t = Task::Classification;
  else if (strcmp(task, "regression") == 0) t = Task::Regression;
  else
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unrecognized task \"%s\"", task),
                    errhint("Use classification or regression.")));
  bytea* out = nullptr;
  AUTOML_TRY {
    std::string device = PrepareRuntime();
    auto trainer = Trainer::Create(ParseModelSpec(spec), ParseTrainParams(params), t, uint64_t(seed), device);
    out = MakeBytea(trainer->SaveState());
  }
  AUTOML_CATCH;
  PG_RETURN_BYTEA_P(out);
}

namespace {

// What the training and evaluation transition functions start from: the
// aggregate's Trainer holder (empty on the first row), this row's buffer,
// and on the first row the arguments to restore the Trainer from.
struct StepInputs {
  Owned<TrainState>* holder;
  RawBuffer buf;
  TrainerArgs args;
};

StepInputs step_inputs(FunctionCallInfo fcinfo) {
  MemoryContext agg = aggregate_context(fcinfo);
  // Cancel and statement_timeout act here, between buffers, where no C++
  // object is alive in any calling frame.
  CHECK_FOR_INTERRUPTS();
  StepInputs in{};
  in.holder = PG_ARGISNULL(0) ? owned_in<TrainState>(agg) : reinterpret_cast<Owned<TrainState>*>(PG_GETARG_POINTER(0));
  in.buf = buffer_arg(fcinfo, 1);
  if (!in.holder->object) in.args = trainer_args(fcinfo, 2, 3, 4);
  return in;
}

// The aggregate's Trainer, restored from the state on the first row.
TrainState& RestoredState(const StepInputs& in) {
  if (!in.holder->object) {
    auto s = std::make_unique<TrainState>();
    s->trainer = RestoreTrainer(in.args);
    in.holder->object = s.release();
  }
  return *in.holder->object;
}

// Trains the aggregate's (or the pass's) Trainer on one packed buffer
// (top_k is for eval_buffer's signature).
void train_buffer(const StepInputs& in, int32 /*top_k*/) {
  AUTOML_TRY {
    TrainState& s = RestoredState(in);
    BufferView view = ParseBuffer(in.buf.data, in.buf.size);
    auto start = std::chrono::steady_clock::now();
    s.stats.Merge(s.trainer->Train(view, MakeInterruptCheck()));
    s.step_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  AUTOML_CATCH;
}

// Evaluates the aggregate's (or the pass's) model on one packed buffer.
void eval_buffer(const StepInputs& in, int32 top_k) {
  AUTOML_TRY {
    TrainState& s = RestoredState(in);
    s.stats.Merge(s.trainer->Evaluate(ParseBuffer(in.buf.data, in.buf.size), top_k));
  }
  AUTOML_CATCH;
}

}  // namespace

// automl_train_step(internal, buffer bytea, state bytea, spec jsonb, params jsonb)
AUTOML_FUNCTION(automl_train_step);
Datum automl_train_step(PG_FUNCTION_ARGS) {
  StepInputs in = step_inputs(fcinfo);
  train_buffer(in, 0);
  PG_RETURN_POINTER(in.holder);
}

namespace {

// The result of a training pass: (state bytea, loss float8, accuracy
// float8, rows bigint, steps bigint, step_seconds float8), or NULL when no
// buffer was trained on (the Trainer was never restored).
Datum train_result(FunctionCallInfo fcinfo, Owned<TrainState>* holder) {
  if (!holder->object) PG_RETURN_NULL();
  bytea* state = nullptr;
  PassStats stats;
  int64_t steps = 0;
  double step_seconds = 0;
  AUTOML_TRY {
    state = MakeBytea(holder->object->trainer->SaveState());
    stats = holder->object->stats;
    steps = holder->object->trainer->counters().steps;
    step_seconds = holder->object->step_seconds;
  }
  AUTOML_CATCH;
  Datum values[6];
  bool nulls[6] = {false, false, false, false, false, false};
  values[0] = PointerGetDatum(state);
  values[1] = float_or_null(stats.Loss(), &nulls[1]);
  values[2] = float_or_null(stats.Accuracy(), &nulls[2]);
  values[3] = Int64GetDatum(stats.rows);
  values[4] = Int64GetDatum(steps);
  values[5] = Float8GetDatum(step_seconds);
  const Oid types[6] = {BYTEAOID, FLOAT8OID, FLOAT8OID, INT8OID, INT8OID, FLOAT8OID};
  PG_RETURN_DATUM(result_tuple(fcinfo, values, nulls, types, 6));
}

// The result of an evaluation pass: (loss float8, accuracy float8,
// top_k_accuracy float8, rows bigint), or NULL when no buffer was read.
Datum eval_result(FunctionCallInfo fcinfo, Owned<TrainState>* holder) {
  if (!holder->object) PG_RETURN_NULL();
  PassStats s = holder->object->stats;
  Datum values[4];
  bool nulls[4] = {false, false, false, false};
  values[0] = float_or_null(s.Loss(), &nulls[0]);
  values[1] = float_or_null(s.Accuracy(), &nulls[1]);
  values[2] = float_or_null(s.TopKAccuracy(), &nulls[2]);
  values[3] = Int64GetDatum(s.rows);
  const Oid types[4] = {FLOAT8OID, FLOAT8OID, FLOAT8OID, INT8OID};
  PG_RETURN_DATUM(result_tuple(fcinfo, values, nulls, types, 4));
}

// The query that reads the buffers of prepared table `rel` (whose name it
// returns in *name_out) in training order: those of the segments in
// parameter $1 (int[]), or with `all` of every segment.  The relation is locked first, so that the name names it
// until the end of the transaction; columns are qualified (a table named
// "buffer" has no column of that name: a bare "buffer" would be its row).
char* pass_query(Oid rel, bool all, const char** name_out) {
  LockRelationOid(rel, AccessShareLock);
  char* name = get_rel_name(rel);
  if (!name)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", rel)));
  *name_out = name;
  const char* qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)), name);
  return psprintf("SELECT d.buffer, d.segment_id, d.buffer_id FROM %s d%s ORDER BY d.segment_id, d.buffer_id",
                  qualified, all ? "" : " WHERE d.segment_id OPERATOR(pg_catalog.=) ANY ($1)");
}

// Names the buffer a pass was reading when an error interrupts it.
struct PassPosition {
  const char* relation;
  HeapTuple row;
  TupleDesc desc;
};

void pass_error_context(void* arg) {
  auto* at = static_cast<PassPosition*>(arg);
  if (!at->row) return;
  char* segment = SPI_getvalue(at->row, at->desc, 2);
  char* buffer = SPI_getvalue(at->row, at->desc, 3);
  errcontext("buffer %s of segment %s of relation \"%s\"", buffer ? buffer : "NULL",
             segment ? segment : "NULL", at->relation);
}

// Ends a pass: the Trainer is no longer needed once the result row holds
// its state (a query may call passes many times before its memory context
// is reset).
Datum finish_pass(FunctionCallInfo fcinfo, Owned<TrainState>* holder,
                  Datum (*result_of)(FunctionCallInfo, Owned<TrainState>*)) {
  Datum result = result_of(fcinfo, holder);
  delete holder->object;
  holder->object = nullptr;
  return result;
}

}  // namespace

// Final: see train_result.
AUTOML_FUNCTION(automl_train_final);
Datum automl_train_final(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  return train_result(fcinfo, reinterpret_cast<Owned<TrainState>*>(PG_GETARG_POINTER(0)));
}

namespace {

// What a pass does with each buffer: train on it, or evaluate on it.
using BufferStep = void (*)(const StepInputs& in, int32 top_k);

// One pass of `step` over the buffers of `rel` (of the segments in the
// int[] `segments`, or all when it is 0) for the Trainer restored from
// `in.args`, whose holder lives in the caller's context: an error or a
// cancel anywhere below frees the Trainer.
void run_pass(Oid rel, Datum segments, StepInputs& in, BufferStep step, int32 top_k) {
  // Buffers read for one row live in `rows`, reset after each.
  MemoryContext rows = AllocSetContextCreate(CurrentMemoryContext, "pg_automl pass rows", ALLOCSET_DEFAULT_SIZES);
  const char* name;
  char* sql = pass_query(rel, segments == 0, &name);
  Oid types[1] = {INT4ARRAYOID};
  SPI_connect();
  Portal portal = SPI_cursor_open_with_args(nullptr, sql, segments ? 1 : 0, types, &segments, nullptr, true,
                                            CURSOR_OPT_NO_SCROLL);
  // Any other type would be read as a pointer to a varlena.
  if (getBaseType(TupleDescAttr(portal->tupDesc, 0)->atttypid) != BYTEAOID)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("column \"buffer\" of relation \"%s\" is not of type bytea", name),
                    errhint("Pass a table written by automl_prepare().")));
  PassPosition at{name, nullptr, nullptr};
  ErrorContextCallback callback{error_context_stack, pass_error_context, &at};
  error_context_stack = &callback;
  for (;;) {
    SPI_cursor_fetch(portal, true, 32);
    if (SPI_processed == 0) break;
    for (uint64 i = 0; i < SPI_processed; ++i) {
      // Cancel and statement_timeout act here, where no C++ object is alive.
      CHECK_FOR_INTERRUPTS();
      at.row = SPI_tuptable->vals[i];
      at.desc = SPI_tuptable->tupdesc;
      bool isnull;
      Datum buffer = SPI_getbinval(at.row, at.desc, 1, &isnull);
      if (isnull) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("packed buffer is NULL")));
      MemoryContext old = MemoryContextSwitchTo(rows);
      in.buf.data = cached_buffer(buffer, &in.buf.size);
      step(in, top_k);
      MemoryContextSwitchTo(old);
      MemoryContextReset(rows);
    }
    at.row = nullptr;
    SPI_freetuptable(SPI_tuptable);
  }
  error_context_stack = callback.previous;
  SPI_cursor_close(portal);
  SPI_finish();
}

// The segments a pass reads as an int[] (0 for all), from argument 1: a
// `segment` (int) or `segments` (int[]), NULL for all.
Datum pass_segments(FunctionCallInfo fcinfo, bool array) {
  if (PG_ARGISNULL(1)) return 0;
  if (array) return PG_GETARG_DATUM(1);
  int32 segment = PG_GETARG_INT32(1);
  if (segment < 0) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("segment must not be negative")));
  int64_t one = segment;
  return int4_array(&one, 1);
}

}  // namespace

// automl_train_pass(data regclass, segment int, state bytea, spec jsonb, params jsonb)
//   -> automl_train_result
// One pass over the buffers of a prepared table (or of one segment's shard
// of it) in the order automl_train is fed them.  It trains as that
// aggregate does, but the state never rides in a query: a model hopper unit
// calls it as a plain PL/pgSQL expression, where the aggregate's query had to
// be planned for every unit with the state (MBs) copied in as a constant and
// its result copied through SPI's result row.
AUTOML_FUNCTION(automl_train_pass);
Datum automl_train_pass(PG_FUNCTION_ARGS) {
  require_arg(fcinfo, 0, "data");
  Datum segments = pass_segments(fcinfo, false);
  StepInputs in{};
  in.args = trainer_args(fcinfo, 2, 3, 4);
  in.holder = owned_in<TrainState>(CurrentMemoryContext);
  run_pass(PG_GETARG_OID(0), segments, in, train_buffer, 0);
  return finish_pass(fcinfo, in.holder, train_result);
}

// automl_eval_pass(data regclass, segments int[], state bytea, spec jsonb, params jsonb, top_k int)
//   -> automl_eval_result
// automl_eval over the buffers of the given segments (all for NULL) of a
// prepared table, without a query that carries the state (see
// automl_train_pass).
AUTOML_FUNCTION(automl_eval_pass);
Datum automl_eval_pass(PG_FUNCTION_ARGS) {
  require_arg(fcinfo, 0, "data");
  int32 top_k = PG_ARGISNULL(5) ? 5 : PG_GETARG_INT32(5);
  if (top_k < 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("top_k must be at least 1")));
  Datum segments = pass_segments(fcinfo, true);
  StepInputs in{};
  in.args = trainer_args(fcinfo, 2, 3, 4);
  in.holder = owned_in<TrainState>(CurrentMemoryContext);
  run_pass(PG_GETARG_OID(0), segments, in, eval_buffer, top_k);
  return finish_pass(fcinfo, in.holder, eval_result);
}

// automl_eval_step(internal, buffer bytea, state bytea, spec jsonb, params jsonb, top_k int)
AUTOML_FUNCTION(automl_eval_step);
Datum automl_eval_step(PG_FUNCTION_ARGS) {
  int top_k = PG_ARGISNULL(5) ? 5 : PG_GETARG_INT32(5);
  if (top_k < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("top_k must be at least 1")));
  StepInputs in = step_inputs(fcinfo);
  eval_buffer(in, top_k);
  PG_RETURN_POINTER(in.holder);
}

// Final: see eval_result.
AUTOML_FUNCTION(automl_eval_final);
Datum automl_eval_final(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  return eval_result(fcinfo, reinterpret_cast<Owned<TrainState>*>(PG_GETARG_POINTER(0)));
}

namespace {

// A restored model cached for the life of one query (fn_mcxt): prediction is
// called once per buffer and must not deserialise the state each time.  The
// key is the state's header (size and checksum) with the spec and params the
// model was built from.
struct PredictCache {
  std::unique_ptr<Trainer> trainer;
  std::string key;
};

std::string PredictKey(const TrainerArgs& a) {
  size_t n = std::min<size_t>(a.state_size, 24);
  return std::string(static_cast<const char*>(a.state), n) + '\0' + std::to_string(a.state_size) + '\0' +
         a.spec + '\0' + a.params;
}

}  // namespace

// automl_predict_buffer(state bytea, spec jsonb, params jsonb, buffer bytea)
//   -> setof (row_index int, id bigint, class_index int, probability real,
//             value real, label real)
// One batched forward pass per buffer, never one per row.
AUTOML_FUNCTION(automl_predict_buffer);
Datum automl_predict_buffer(PG_FUNCTION_ARGS) {
  CHECK_FOR_INTERRUPTS();
  TrainerArgs args = trainer_args(fcinfo, 0, 1, 2);
  RawBuffer buf = buffer_arg(fcinfo, 3);
  init_materialized_srf(fcinfo);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  auto* holder = static_cast<Owned<PredictCache>*>(fcinfo->flinfo->fn_extra);
  if (!holder) {
    holder = owned_in<PredictCache>(fcinfo->flinfo->fn_mcxt);
    fcinfo->flinfo->fn_extra = holder;
  }
  BufferView view;
  Prediction* plain = nullptr;
  bool classification = true;
  AUTOML_TRY {
    if (!holder->object) holder->object = new PredictCache();
    PredictCache& c = *holder->object;
    std::string key = PredictKey(args);
    if (!c.trainer || c.key != key) {
      c.trainer.reset();
      c.trainer = RestoreTrainer(args);
      c.key = key;
    }
    view = ParseBuffer(buf.data, buf.size);
    std::vector<Prediction> preds = c.trainer->Predict(view);
    classification = c.trainer->task() == Task::Classification;
    // Plain palloc'd copies: no C++ object may be live while tuplestore
    // calls can ereport.
    PgCall([&] { plain = static_cast<Prediction*>(palloc(sizeof(Prediction) * preds.size())); });
    std::copy(preds.begin(), preds.end(), plain);
  }
  AUTOML_CATCH;
  uint32_t rows = view.rows;
  for (uint32_t i = 0; i < rows; ++i) {
    if ((i & 4095) == 4095) CHECK_FOR_INTERRUPTS();
    Datum values[6];
    bool nulls[6] = {false, view.ids == nullptr, !classification, !classification, classification, false};
    values[0] = Int32GetDatum(int32(i));
    values[1] = view.ids ? Int64GetDatum(view.Id(i)) : 0;
    values[2] = Int32GetDatum(plain[i].class_index);
    values[3] = Float4GetDatum(plain[i].probability);
    values[4] = Float4GetDatum(plain[i].value);
    values[5] = Float4GetDatum(view.classes ? float(view.classes[i]) : view.targets[i]);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}

// automl_state_info(state bytea) -> jsonb: what a saved state holds.
AUTOML_FUNCTION(automl_state_info);
Datum automl_state_info(PG_FUNCTION_ARGS) {
  require_arg(fcinfo, 0, "training state");
  bytea* state = PG_GETARG_BYTEA_P(0);
  char* text = nullptr;
  AUTOML_TRY {
    StateSummary s = SummarizeState(VARDATA(state), VARSIZE(state) - VARHDRSZ);
    std::string j = std::string("{\"task\": \"") +
                    (s.task == Task::Classification ? "classification" : "regression") +
                    "\", \"outputs\": " + std::to_string(s.outputs) + ", \"optimizer\": \"" +
                    OptimizerName(s.optimizer) + "\", \"steps\": " + std::to_string(s.counters.steps) +
                    ", \"samples\": " + std::to_string(s.counters.samples) +
                    ", \"buffers\": " + std::to_string(s.counters.buffers) + ", \"bytes\": " + std::to_string(s.size) + "}";
    PgCall([&] { text = pstrdup(j.c_str()); });
  }
  AUTOML_CATCH;
  PG_RETURN_DATUM(jsonb_from_cstring(text));
}
