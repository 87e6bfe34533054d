// The wall between C++ and PostgreSQL.
//
// Two regimes (as in plv8 and pg_duckdb): functions named lower_case() may
// ereport and longjmp; CamelCase() functions may throw C++ exceptions.  An
// ereport must never jump over a live C++ destructor, and a C++ exception
// must never unwind through PostgreSQL frames.  So every SQL entry point
//   1. reads its arguments with PostgreSQL calls (lower_case regime),
//   2. runs its C++ body inside AUTOML_TRY / AUTOML_CATCH, which records any
//      exception in a plain struct (no destructor, no allocation), and
//   3. raises the recorded error only after the C++ stack has unwound.
// PostgreSQL calls made from inside the C++ body go through PgCall(), which
// turns an ereport into a C++ exception carrying the whole ErrorData, later
// re-thrown with its SQLSTATE, detail and hint intact.
#pragma once

#include <string>

#include "pg_automl/errors.h"
#include "pg_automl/trainer.h"

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/elog.h"
}

// Entry points must stay visible although the module is built with hidden
// visibility (PGDLLEXPORT is empty on Linux).
#define AUTOML_VISIBLE __attribute__((visibility("default")))
#define AUTOML_FUNCTION(name)                                                     \
  extern "C" AUTOML_VISIBLE Datum name(PG_FUNCTION_ARGS);                         \
  extern "C" AUTOML_VISIBLE const Pg_finfo_record* pg_finfo_##name(void);        \
  PG_FUNCTION_INFO_V1(name)

namespace pg_automl::pg {

// A PostgreSQL error caught while C++ frames were live.
struct PostgresError {
  ErrorData* edata;
};

// Plain data only: it lives in the entry point's frame while an ereport
// may jump out of it.
struct PendingError {
  bool set;
  ErrorKind kind;
  ErrorData* edata;  // a PostgreSQL error to re-throw as is
  char message[1024];
  char detail[2048];
  char hint[1024];
};

// Call inside catch (...): records the exception being handled.
void capture_exception(PendingError* err);
// Raises the recorded error (never returns when err->set).
void raise_pending(const PendingError* err);

// Runs PostgreSQL code from C++: an ereport inside `f` becomes a thrown
// PostgresError.  `f` must hold no C++ objects with destructors.
template <typename F>
void PgCall(F&& f) {
  MemoryContext oldcxt = CurrentMemoryContext;
  ErrorData* edata = nullptr;
  PG_TRY();
  {
    f();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(oldcxt);
    edata = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (edata) throw PostgresError{edata};
}

// Between minibatches: a pending cancel or termination stops training by
// throwing Error(Interrupted); raise_pending() then lets
// CHECK_FOR_INTERRUPTS() report it the usual way.
InterruptCheck MakeInterruptCheck();

// Copies bytes into a new bytea (palloc'd in the current context).
bytea* MakeBytea(const std::string& bytes);

// The device this backend trains on (pg_automl.device, resolved for the
// backend's segment) and the thread settings applied before any tensor work.
std::string PrepareRuntime();

}  // namespace pg_automl::pg

#define AUTOML_TRY                         \
  ::pg_automl::pg::PendingError automl_err_; \
  automl_err_.set = false;                 \
  try
#define AUTOML_CATCH                                    \
  catch (...) {                                         \
    ::pg_automl::pg::capture_exception(&automl_err_);   \
  }                                                     \
  ::pg_automl::pg::raise_pending(&automl_err_)
