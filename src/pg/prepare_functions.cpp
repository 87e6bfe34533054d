// Aggregates behind automl_prepare(): feature statistics for normalisation,
// and packing rows into minibatch buffers.
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "boundary.h"
#include "datum_utils.h"
#include "owned.h"
#include "pg_automl/packed_buffer.h"

extern "C" {
#include "utils/builtins.h"
}

using namespace pg_automl;
using namespace pg_automl::pg;

namespace {

const double* row_features(FunctionCallInfo fcinfo, int argno, int* n) {
  if (PG_ARGISNULL(argno))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("feature array is NULL"),
                    errhint("Remove or fill rows with NULL features before preparing the table.")));
  const double* values = float8_array_values(PG_GETARG_ARRAYTYPE_P(argno), n, "feature array");
  if (*n == 0)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("feature array is empty")));
  return values;
}

struct StatsState {
  FeatureStats stats;
  std::string kind;
};

struct PackState {
  Normalizer norm;
  std::unique_ptr<BufferBuilder> builder;
  bool with_ids = false;
};

}  // namespace

// automl_feature_stats_step(internal, features float8[], normalization text)
AUTOML_FUNCTION(automl_feature_stats_step);
Datum automl_feature_stats_step(PG_FUNCTION_ARGS) {
  MemoryContext agg = aggregate_context(fcinfo);
  auto* holder = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<Owned<StatsState>*>(PG_GETARG_POINTER(0));
  if (!holder) holder = owned_in<StatsState>(agg);
  int n;
  const double* values = row_features(fcinfo, 1, &n);
  char* kind = (!holder->object && !PG_ARGISNULL(2)) ? text_to_cstring(PG_GETARG_TEXT_PP(2)) : nullptr;
  AUTOML_TRY {
    if (!holder->object) {
      auto s = std::make_unique<StatsState>();
      s->kind = kind ? kind : "standard";
      s->stats.MakeNormalizer(s->kind);  // rejects an unknown kind before any work
      holder->object = s.release();
    }
    holder->object->stats.Add(values, size_t(n));
  }
  AUTOML_CATCH;
  PG_RETURN_POINTER(holder);
}

// Final: {"rows": N, "features": F, "shift": [...], "scale": [...]}
AUTOML_FUNCTION(automl_feature_stats_final);
Datum automl_feature_stats_final(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  auto* holder = reinterpret_cast<Owned<StatsState>*>(PG_GETARG_POINTER(0));
  if (!holder->object) PG_RETURN_NULL();
  char* text = nullptr;
  AUTOML_TRY {
    const StatsState& s = *holder->object;
    Normalizer z = s.stats.MakeNormalizer(s.kind);
    nlohmann::json j = {{"rows", s.stats.rows()}, {"features", s.stats.features()},
                        {"normalization", s.kind}, {"shift", z.shift}, {"scale", z.scale}};
    std::string dumped = j.dump();
    PgCall([&] { text = pstrdup(dumped.c_str()); });
  }
  AUTOML_CATCH;
  PG_RETURN_DATUM(jsonb_from_cstring(text));
}

// automl_pack_step(internal, features float8[], label float8, id int8,
//                  shift real[], scale real[], label_kind text)
// Rows arrive in the buffer's (shuffled) order; shift/scale/kind are read once.
AUTOML_FUNCTION(automl_pack_step);
Datum automl_pack_step(PG_FUNCTION_ARGS) {
  MemoryContext agg = aggregate_context(fcinfo);
  auto* holder = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<Owned<PackState>*>(PG_GETARG_POINTER(0));
  if (!holder) holder = owned_in<PackState>(agg);
  int n;
  const double* values = row_features(fcinfo, 1, &n);
  if (PG_ARGISNULL(2))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("label is NULL"),
                    errhint("Remove or fill rows with NULL labels before preparing the table.")));
  double label = PG_GETARG_FLOAT8(2);
  bool has_id = !PG_ARGISNULL(3);
  int64_t id = has_id ? PG_GETARG_INT64(3) : 0;
  const float *shift = nullptr, *scale = nullptr;
  int nshift = 0, nscale = 0;
  bool regression = false;
  if (!holder->object) {
    if (!PG_ARGISNULL(4)) shift = float4_array_values(PG_GETARG_ARRAYTYPE_P(4), &nshift, "shift");
    if (!PG_ARGISNULL(5)) scale = float4_array_values(PG_GETARG_ARRAYTYPE_P(5), &nscale, "scale");
    if (nshift != nscale || (nshift && nshift != n))
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("normalization has %d values for %d features", nshift, n)));
    const char* kind = PG_ARGISNULL(6) ? "class" : text_to_cstring(PG_GETARG_TEXT_PP(6));
    if (strcmp(kind, "class") != 0 && strcmp(kind, "target") != 0)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unrecognized label kind \"%s\"", kind),
                      errhint("Use class or target.")));
    regression = strcmp(kind, "target") == 0;
    for (int i = 0; i < nshift; ++i)
      if (!std::isfinite(shift[i]) || !std::isfinite(scale[i]))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("normalization values must be finite")));
  } else if (has_id != holder->object->with_ids) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("id column contains NULL")));
  }
  AUTOML_TRY {
    if (!holder->object) {
      auto s = std::make_unique<PackState>();
      s->norm.shift.assign(shift, shift + nshift);
      s->norm.scale.assign(scale, scale + nscale);
      s->with_ids = has_id;
      s->builder = std::make_unique<BufferBuilder>(uint32_t(n), regression ? LabelKind::Target : LabelKind::ClassIndex,
                                                   has_id, &s->norm);
      holder->object = s.release();
    }
    holder->object->builder->Add(values, size_t(n), label, id);
  }
  AUTOML_CATCH;
  PG_RETURN_POINTER(holder);
}

AUTOML_FUNCTION(automl_pack_final);
Datum automl_pack_final(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  auto* holder = reinterpret_cast<Owned<PackState>*>(PG_GETARG_POINTER(0));
  if (!holder->object) PG_RETURN_NULL();
  bytea* out = nullptr;
  AUTOML_TRY { out = MakeBytea(holder->object->builder->Finish()); }
  AUTOML_CATCH;
  PG_RETURN_BYTEA_P(out);
}
