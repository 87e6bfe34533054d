// Reading IDX files (MNIST / Fashion-MNIST) into rows, server side.
#include <string>

#include "boundary.h"
#include "datum_utils.h"
#include "owned.h"
#include "pg_automl/idx_reader.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

using namespace pg_automl;
using namespace pg_automl::pg;

namespace {

struct IdxPair {
  IdxArray images, labels;
};

}  // namespace

// automl_read_idx(images text, labels text, first int, count int)
//   -> setof (id int, label int, image real[])
// Pixels become real values 0..255; normalisation is automl_prepare's job.
AUTOML_FUNCTION(automl_read_idx);
Datum automl_read_idx(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("file names must not be null")));
  // Reading server files is what pg_read_file() guards the same way.
  if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied to read server files"),
                    errhint("Only roles with the privileges of pg_read_server_files may load IDX files.")));
  char* images = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* labels = text_to_cstring(PG_GETARG_TEXT_PP(1));
  int64 first = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
  int64 count = PG_ARGISNULL(3) ? -1 : PG_GETARG_INT32(3);
  if (first < 0 || (count < 0 && !PG_ARGISNULL(3)))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("offset and limit must not be negative")));
  init_materialized_srf(fcinfo);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  // The arrays belong to the per-query context: freed by its reset callback
  // should a later PostgreSQL call fail, or right after the loop.
  auto* holder = owned_in<IdxPair>(rsinfo->econtext->ecxt_per_query_memory);
  AUTOML_TRY {
    auto p = std::make_unique<IdxPair>();
    p->images = ReadIdx(images, first, count);
    p->labels = ReadIdx(labels, first, count);
    if (p->labels.dims.size() != 1)
      throw Error(ErrorKind::InvalidParameter, "label file \"" + std::string(labels) + "\" is not one-dimensional",
                  "It holds items of " + std::to_string(p->labels.ItemSize()) + " values; labels hold one each.",
                  "Pass the images file first and the labels file second.");
    if (p->images.dims[0] != p->labels.dims[0])
      throw Error(ErrorKind::InvalidParameter, "image and label files do not match",
                  "They hold " + std::to_string(p->images.dims[0]) + " images and " +
                      std::to_string(p->labels.dims[0]) + " labels.");
    holder->object = p.release();
  }
  AUTOML_CATCH;
  IdxPair* pair = holder->object;
  int64 items = pair->images.dims[0], size = pair->images.ItemSize();
  Datum* pixels = static_cast<Datum*>(palloc(sizeof(Datum) * size));
  for (int64 i = 0; i < items; ++i) {
    if ((i & 1023) == 0) CHECK_FOR_INTERRUPTS();
    const uint8_t* img = pair->images.data.data() + i * size;
    for (int64 j = 0; j < size; ++j) pixels[j] = Float4GetDatum(float(img[j]));
    ArrayType* image = construct_array(pixels, int(size), FLOAT4OID, 4, true, TYPALIGN_INT);
    Datum values[3] = {Int32GetDatum(int32(first + i)), Int32GetDatum(pair->labels.data[i]),
                       PointerGetDatum(image)};
    bool nulls[3] = {false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    pfree(image);
  }
  delete holder->object;
  holder->object = nullptr;
  return (Datum)0;
}
