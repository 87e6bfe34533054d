#include "datum_utils.h"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
}

namespace pg_automl::pg {

MemoryContext aggregate_context(FunctionCallInfo fcinfo) {
  MemoryContext agg;
  if (!AggCheckCallContext(fcinfo, &agg))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("function can only be called as an aggregate")));
  return agg;
}

void init_materialized_srf(FunctionCallInfo fcinfo) {
#if PG_VERSION_NUM >= 150000
  InitMaterializedSRF(fcinfo, 0);
#else
  // The same steps for PostgreSQL 12-14 (Greenplum 7, Cloudberry).
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!rsinfo || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("set-valued function called in context that cannot accept a set")));
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
  MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
  rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
  rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
  rsinfo->returnMode = SFRM_Materialize;
  MemoryContextSwitchTo(old);
#endif
}

char* jsonb_arg_cstring(FunctionCallInfo fcinfo, int argno) {
  Jsonb* jb = PG_GETARG_JSONB_P(argno);
  return JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
}

Datum jsonb_from_cstring(const char* text) {
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}

Datum int4_array(const int64_t* values, int n) {
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; ++i) elems[i] = Int32GetDatum(int32(values[i]));
  return PointerGetDatum(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
}

void require_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
  if (PG_ARGISNULL(argno))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", name)));
}

namespace {
// Elements of an array without NULLs; a multi-dimensional array is read in
// row-major order when `flatten` is set (images stored as real[][]).
template <typename T>
const T* array_values(ArrayType* arr, Oid type, int* n, const char* what, bool flatten) {
  if (ARR_ELEMTYPE(arr) != type)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("%s has the wrong element type", what)));
  if (ARR_NDIM(arr) > 1 && !flatten)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("%s must be a one-dimensional array", what)));
  if (array_contains_nulls(arr))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s contains NULL elements", what)));
  *n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
  return reinterpret_cast<const T*>(ARR_DATA_PTR(arr));
}
}  // namespace

const double* float8_array_values(ArrayType* arr, int* n, const char* what) {
  return array_values<double>(arr, FLOAT8OID, n, what, true);
}

const float* float4_array_values(ArrayType* arr, int* n, const char* what) {
  return array_values<float>(arr, FLOAT4OID, n, what, false);
}

}  // namespace pg_automl::pg
