// Module entry: PG_MODULE_MAGIC, settings, and the rule that the postmaster
// does no tensor work (see DESIGN.md: a parent that ran an OpenMP region
// makes forked children hang).
#include <string>

#include "boundary.h"
#include "gucs.h"
#include "pg_automl/runtime.h"

extern "C" {
#include "utils/guc.h"
}

extern "C" AUTOML_VISIBLE const Pg_magic_struct* Pg_magic_func(void);
PG_MODULE_MAGIC;

extern "C" {
int automl_segments = 2;
int automl_threads = 1;
char* automl_device = nullptr;
AUTOML_VISIBLE void _PG_init(void);
}
int automl_segment = 0;

namespace {

// Syntax only: resolving "cuda" would initialise CUDA, which must not
// happen in the postmaster or before a fork.
bool check_device(char** newval, void** extra, GucSource source) {
  if (*newval && pg_automl::IsValidDeviceSetting(*newval)) return true;
  GUC_check_errdetail("Valid values are \"cpu\", \"cuda\" and \"cuda:N\".");
  return false;
}

}  // namespace

void _PG_init(void) {
  if (process_shared_preload_libraries_in_progress)
    ereport(WARNING,
            (errmsg("pg_automl does not need to be in shared_preload_libraries"),
             errdetail("It is loaded by each backend that uses it; the postmaster never runs tensor code.")));
  DefineCustomIntVariable("pg_automl.segments", "Number of shards that automl_prepare() writes by default.",
                          nullptr, &automl_segments, 2, 1, 1024, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("pg_automl.threads", "Intra-op threads of libtorch (and OpenBLAS) per process.",
                          "Parallelism comes from segments; more threads per process oversubscribe the cores.",
                          &automl_threads, 1, 1, 256, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("pg_automl.device", "Device that trains models: cpu, cuda or cuda:N.",
                             "With cuda, segment k uses GPU k modulo the number of visible GPUs.",
                             &automl_device, "cpu", PGC_USERSET, 0, check_device, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("pg_automl");
#else
  EmitWarningsOnPlaceholders("pg_automl");
#endif
}
