// The lock that a session driving a model hopper run holds on the run.
//
// It is a heavyweight lock on an object tag, (database, OID of the table
// automl_runs, run id), held until the end of the driver's transaction.
// Advisory locks would do the same, but any session may take an advisory
// lock with any key, and so make a run look running or keep it from being
// driven; no SQL command takes an object lock whose class is the OID of a
// user table, so only this module's functions can take this one.
// pg_locks shows it (locktype "object"): automl_run_driver() finds the
// driver there.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace pg_automl::pg {

// The OID of automl_runs in the extension's schema `nsp` (the lock's class).
Oid runs_table(Oid nsp);

// Takes the lock of run `run_id` of the extension in schema `nsp` for the
// rest of the transaction without waiting; false when another session
// holds it.
bool try_lock_run(Oid nsp, int64 run_id);

}  // namespace pg_automl::pg
