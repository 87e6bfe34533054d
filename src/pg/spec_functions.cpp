// SQL functions that validate model specs and training parameters.
#include <string>

#include "boundary.h"
#include "datum_utils.h"
#include "pg_automl/model_spec.h"
#include "pg_automl/train_params.h"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
}

using namespace pg_automl;
using namespace pg_automl::pg;

namespace {

// The parts of a parsed spec that the SQL side needs, as plain data.
struct SpecInfo {
  std::string canonical;
  int64_t input_shape[3];
  int input_rank;
  int64_t outputs;
  int64_t parameters;
};

void ParseSpecInfo(const char* json, SpecInfo* out) {
  ModelSpec spec = ParseModelSpec(json);
  out->canonical = spec.canonical_json;
  out->input_rank = int(spec.input_shape.size());
  for (int i = 0; i < out->input_rank; ++i) out->input_shape[i] = spec.input_shape[i];
  out->outputs = spec.output_shape.at(0);
  out->parameters = spec.parameter_count;
}

}  // namespace

// automl_spec_info(spec jsonb) -> (spec jsonb, input_shape int[], outputs int, parameters bigint)
// Validates a spec and returns its canonical form.
AUTOML_FUNCTION(automl_spec_info);
Datum automl_spec_info(PG_FUNCTION_ARGS) {
  require_arg(fcinfo, 0, "model spec");
  char* json = jsonb_arg_cstring(fcinfo, 0);
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("function returning record called in context that cannot accept type record")));
  SpecInfo* info = static_cast<SpecInfo*>(palloc0(sizeof(SpecInfo)));
  char* canonical = nullptr;
  AUTOML_TRY {
    SpecInfo parsed;
    ParseSpecInfo(json, &parsed);
    PgCall([&] { canonical = pstrdup(parsed.canonical.c_str()); });
    info->input_rank = parsed.input_rank;
    for (int i = 0; i < parsed.input_rank; ++i) info->input_shape[i] = parsed.input_shape[i];
    info->outputs = parsed.outputs;
    info->parameters = parsed.parameters;
  }
  AUTOML_CATCH;
  Datum values[4];
  bool nulls[4] = {false, false, false, false};
  values[0] = jsonb_from_cstring(canonical);
  values[1] = int4_array(info->input_shape, info->input_rank);
  values[2] = Int32GetDatum(int32(info->outputs));
  values[3] = Int64GetDatum(info->parameters);
  tupdesc = BlessTupleDesc(tupdesc);
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

// automl_params_canonical(params jsonb) -> jsonb: validated training
// parameters with every default filled in.
AUTOML_FUNCTION(automl_params_canonical);
Datum automl_params_canonical(PG_FUNCTION_ARGS) {
  char* json = PG_ARGISNULL(0) ? pstrdup("{}") : jsonb_arg_cstring(fcinfo, 0);
  char* canonical = nullptr;
  AUTOML_TRY {
    TrainParams p = ParseTrainParams(json);
    PgCall([&] { canonical = pstrdup(p.canonical_json.c_str()); });
  }
  AUTOML_CATCH;
  PG_RETURN_DATUM(jsonb_from_cstring(canonical));
}
