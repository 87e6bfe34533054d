// Module entry: PG_MODULE_MAGIC, settings, and the rule that the postmaster
// does no tensor work (see DESIGN.md: a parent that ran an OpenMP region
// makes forked children hang).
#include <unistd.h>

#include <climits>
#include <string>

#include "boundary.h"
#include "gucs.h"
#include "pg_automl/activation_limit.h"
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
int automl_buffer_cache_mb = 512;
int automl_segment_memory_mb = 0;
int automl_max_activation_memory_mb = 512;
AUTOML_VISIBLE void _PG_init(void);
}
int automl_segment = 0;

namespace {

// Syntax only: resolving "cuda" would initialise CUDA, which must not
// happen in the postmaster or before a fork.
bool check_device(char** newval, void** extra, GucSource source) {
  // A C callback: nothing may throw from here.
  bool valid = false;
  try {
    valid = *newval && pg_automl::IsValidDeviceSetting(*newval);
  } catch (...) {
  }
  if (valid) return true;
  GUC_check_errdetail("Valid values are \"cpu\", \"cuda\" and \"cuda:N\".");
  return false;
}

// More intra-op threads than the machine has cores only oversubscribe it
// (one backend with 256 ran 319 threads): a value no role can use well is
// refused, whoever sets it.
bool check_threads(int* newval, void** extra, GucSource source) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1 || *newval <= cores) return true;
  GUC_check_errdetail("This machine has %ld cores.", cores);
  GUC_check_errhint("Parallelism comes from segments: one thread per segment process is the rule.");
  return false;
}

void assign_max_activation_memory(int newval, void* extra) {
  pg_automl::SetActivationMemoryLimit(int64_t(newval) << 20);
}

}  // namespace

void _PG_init(void) {
  // Preloading would put libtorch (and its OpenMP runtime) into the
  // postmaster, whose children it forks: refuse instead of risking hangs.
  if (process_shared_preload_libraries_in_progress)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("pg_automl must not be loaded by shared_preload_libraries"),
                    errdetail("The postmaster must never load libtorch: forked backends could hang in OpenMP."),
                    errhint("Remove pg_automl from shared_preload_libraries; backends load it on first use.")));
  DefineCustomIntVariable("pg_automl.segments", "Number of shards that automl_prepare() writes by default.",
                          nullptr, &automl_segments, 2, 1, 1024, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("pg_automl.threads", "Intra-op threads of libtorch (and OpenBLAS) per process.",
                          "Parallelism comes from segments; more threads per process oversubscribe the cores.",
                          &automl_threads, 1, 1, 1024, PGC_USERSET, 0, check_threads, nullptr, nullptr);
  DefineCustomStringVariable("pg_automl.device", "Device that trains models: cpu, cuda or cuda:N.",
                             "With cuda, segment k uses GPU k modulo the number of visible GPUs.",
                             &automl_device, "cpu", PGC_USERSET, 0, check_device, nullptr, nullptr);
  DefineCustomIntVariable("pg_automl.buffer_cache_mb",
                          "Memory per backend for packed buffers kept between training passes.",
                          "Buffers read once are served from memory on later epochs; 0 disables the cache.",
                          &automl_buffer_cache_mb, 512, 0, 1024 * 1024, PGC_USERSET, GUC_UNIT_MB, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("pg_automl.segment_memory_mb",
                          "Memory limit of each segment process of a model hopper run; 0 means no limit.",
                          "A trial that needs more fails with \"out of memory\" and the others go on.  Limits the "
                          "process's data (RLIMIT_DATA): meant for CPU training.",
                          &automl_segment_memory_mb, 0, 0, INT_MAX / 2, PGC_SUSET, GUC_UNIT_MB, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("pg_automl.max_activation_memory_mb",
                          "Activation memory one forward pass of a model may take; 0 means no limit.",
                          "Evaluation and prediction split a buffer into passes within it; a training minibatch "
                          "beyond it is an error.  Counted per row as 4 bytes per element of every layer's output "
                          "and of every convolution's unfolded input, twice when training, and 16 more per output "
                          "when evaluating.",
                          &automl_max_activation_memory_mb, 512, 0, INT_MAX / 2, PGC_SUSET, GUC_UNIT_MB, nullptr,
                          assign_max_activation_memory, nullptr);
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("pg_automl");
#else
  EmitWarningsOnPlaceholders("pg_automl");
#endif
}
