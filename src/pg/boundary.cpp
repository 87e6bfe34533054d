#include "boundary.h"

#include <cstring>

#include "gucs.h"
#include "pg_automl/runtime.h"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace pg_automl::pg {
namespace {

// Copies without allocating; a message longer than the slot is cut at a
// character boundary (messages may echo user text in any encoding).
void copy_text(char* dst, size_t size, const char* src, size_t len) {
  size_t n = len < size ? len : size - 1;
  if (n < len) n = size_t(pg_mbcliplen(src, int(len), int(n)));
  std::memcpy(dst, src, n);
  dst[n] = '\0';
}

void copy_text(char* dst, size_t size, const std::string& src) { copy_text(dst, size, src.data(), src.size()); }

int sqlstate_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidParameter: return ERRCODE_INVALID_PARAMETER_VALUE;
    case ErrorKind::DataException: return ERRCODE_DATA_EXCEPTION;
    // Bytes that are not ours came from a user, not from a damaged disk.
    case ErrorKind::DataCorrupted: return ERRCODE_INVALID_BINARY_REPRESENTATION;
    case ErrorKind::FeatureNotSupported: return ERRCODE_FEATURE_NOT_SUPPORTED;
    case ErrorKind::OutOfMemory: return ERRCODE_OUT_OF_MEMORY;
    case ErrorKind::ProgramLimit: return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
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
    static const char msg[] = "could not describe a C++ exception";
    copy_text(err->message, sizeof err->message, msg, sizeof msg - 1);
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
