// The lock a driver holds on its run (see run_lock.h), and
// automl_run_try_lock() for SQL.
#include "run_lock.h"

#include "boundary.h"
#include "datum_utils.h"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/lsyscache.h"
}

namespace pg_automl::pg {

Oid runs_table(Oid nsp) {
  Oid runs = get_relname_relid("automl_runs", nsp);
  if (!OidIsValid(runs)) elog(ERROR, "table automl_runs of pg_automl is missing");
  return runs;
}

bool try_lock_run(Oid nsp, int64 run_id) {
  LOCKTAG tag;
  // Run ids are positive bigints: the low 32 bits and the next 16 (the
  // widths of objid and objsubid) tell 2^48 runs apart.
  SET_LOCKTAG_OBJECT(tag, MyDatabaseId, runs_table(nsp), static_cast<uint32>(run_id & 0xffffffff),
                     static_cast<uint16>((run_id >> 32) & 0xffff));
  return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

}  // namespace pg_automl::pg

// automl_run_try_lock(run bigint) -> boolean
// The run's lock for the rest of the transaction, if no other session holds
// it.  Not executable by PUBLIC: the trigger that guards the deletion of a
// run calls it (as the extension's owner), and the driver locks in C.
AUTOML_FUNCTION(automl_run_try_lock);
Datum automl_run_try_lock(PG_FUNCTION_ARGS) {
  pg_automl::pg::require_arg(fcinfo, 0, "run");
  PG_RETURN_BOOL(pg_automl::pg::try_lock_run(get_func_namespace(fcinfo->flinfo->fn_oid), PG_GETARG_INT64(0)));
}
