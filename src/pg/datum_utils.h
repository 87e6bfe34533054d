// Small lower_case helpers that convert between Datums and plain C data.
// They may ereport: call them outside AUTOML_TRY blocks.
#pragma once

#include <cstdint>

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"
}

namespace pg_automl::pg {

// The aggregate's memory context; errors when not called as an aggregate.
MemoryContext aggregate_context(FunctionCallInfo fcinfo);
// Sets up a set-returning function that materializes its rows into
// rsinfo->setResult (InitMaterializedSRF on PostgreSQL 15 and later).
void init_materialized_srf(FunctionCallInfo fcinfo);
// The text of a jsonb argument, palloc'd.
char* jsonb_arg_cstring(FunctionCallInfo fcinfo, int argno);
// A palloc'd jsonb parsed from `text` (which must be valid JSON).
Datum jsonb_from_cstring(const char* text);
// int4[] from `n` values.
Datum int4_array(const int64_t* values, int n);
// Checks an argument for NULL and reports "argument \"name\" must not be null".
void require_arg(FunctionCallInfo fcinfo, int argno, const char* name);
// Elements of a float8[] without NULLs (ereports otherwise), any number of
// dimensions, in row-major order; *n receives the count.  Returns a pointer
// into the (detoasted) array.  float4_array_values wants one dimension.
const double* float8_array_values(ArrayType* arr, int* n, const char* what);
const float* float4_array_values(ArrayType* arr, int* n, const char* what);

}  // namespace pg_automl::pg
