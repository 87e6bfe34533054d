#include "buffer_cache.h"

#include <cstring>
#include <string>
#include <unordered_map>

#include "gucs.h"

extern "C" {
#include "access/detoast.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif
}

namespace pg_automl::pg {
namespace {

struct Cache {
  std::unordered_map<uint64_t, std::string> entries;
  size_t bytes = 0;
};

// Owned by the backend: freed at process exit.  Only the main thread of a
// backend touches it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

const char* cached_buffer_arg(FunctionCallInfo fcinfo, int argno, size_t* size) {
  struct varlena* raw = reinterpret_cast<struct varlena*>(PG_GETARG_POINTER(argno));
  uint64_t key = 0;
  if (VARATT_IS_EXTERNAL_ONDISK(raw)) {
    struct varatt_external ptr;
    VARATT_EXTERNAL_GET_POINTER(ptr, raw);
    key = (uint64_t(ptr.va_toastrelid) << 32) | ptr.va_valueid;
    auto it = cache().entries.find(key);
    if (it != cache().entries.end()) {
      *size = it->second.size();
      return it->second.data();
    }
  }
  bytea* b = reinterpret_cast<bytea*>(PG_DETOAST_DATUM(PointerGetDatum(raw)));
  *size = VARSIZE(b) - VARHDRSZ;
  size_t limit = size_t(automl_buffer_cache_mb) << 20;
  if (key && cache().bytes + *size <= limit) {
    // std::string may throw bad_alloc: convert to an ordinary miss.
    try {
      auto& slot = cache().entries[key];
      slot.assign(VARDATA(b), *size);
      cache().bytes += *size;
    } catch (...) {
      cache().entries.erase(key);
    }
  }
  return VARDATA(b);
}

}  // namespace pg_automl::pg
