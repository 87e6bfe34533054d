#include "boundary.h"

#include <cstring>

#include "gucs.h"
#include "pg_automl/runtime.h"

namespace pg_automl::pg {
namespace {

void copy_text(char* dst, size_t size, const std::string& src) {
  size_t n = std::min(size - 1, src.size());
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

int sqlstate_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidParameter: return ERRCODE_INVALID_PARAMETER_VALUE;
    case ErrorKind::DataException: return ERRCODE_DATA_EXCEPTION;
    case ErrorKind::DataCorrupted: return ERRCODE_DATA_CORRUPTED;
    case ErrorKind::FeatureNotSupported: return ERRCODE_FEATURE_NOT_SUPPORTED;
    case ErrorKind::OutOfMemory: return ERRCODE_OUT_OF_MEMORY;
    case ErrorKind::Io: return ERRCODE_IO_ERROR;
    case ErrorKind::FileNotFound: return ERRCODE_UNDEFINED_FILE;
    case ErrorKind::Interrupted: return ERRCODE_QUERY_CANCELED;
    case ErrorKind::Internal: break;
  }
  return ERRCODE_INTERNAL_ERROR;
}

}  // namespace

void capture_exception(PendingError* err) {
  err->set = true;
  err->edata = nullptr;
  err->message[0] = err->detail[0] = err->hint[0] = '\0';
  try {
    throw;
  } catch (const PostgresError& e) {
    err->edata = e.edata;
    return;
  } catch (...) {
  }
  // DescribeCurrentException rethrows the exception we are handling.
  try {
    ErrorReport r = DescribeCurrentException();
    err->kind = r.kind;
    copy_text(err->message, sizeof err->message, r.message);
    copy_text(err->detail, sizeof err->detail, r.detail);
    copy_text(err->hint, sizeof err->hint, r.hint);
  } catch (...) {
    err->kind = ErrorKind::Internal;
    copy_text(err->message, sizeof err->message, "could not describe a C++ exception");
  }
}

void raise_pending(const PendingError* err) {
  if (!err->set) return;
  if (err->edata) ReThrowError(err->edata);
  if (err->kind == ErrorKind::Interrupted) CHECK_FOR_INTERRUPTS();
  ereport(ERROR, (errcode(sqlstate_of(err->kind)), errmsg("%s", err->message),
                  err->detail[0] ? errdetail("%s", err->detail) : 0,
                  err->hint[0] ? errhint("%s", err->hint) : 0));
}

InterruptCheck MakeInterruptCheck() {
  return [] {
    if (QueryCancelPending || ProcDiePending)
      throw Error(ErrorKind::Interrupted, "training was interrupted");
  };
}

bytea* MakeBytea(const std::string& bytes) {
  bytea* out = nullptr;
  PgCall([&] {
    out = static_cast<bytea*>(palloc(VARHDRSZ + bytes.size()));
    SET_VARSIZE(out, VARHDRSZ + bytes.size());
  });
  std::memcpy(VARDATA(out), bytes.data(), bytes.size());
  return out;
}

std::string PrepareRuntime() {
  ConfigureThreads(automl_threads);
  return ResolveDevice(automl_device ? automl_device : "cpu", automl_segment);
}

}  // namespace pg_automl::pg
