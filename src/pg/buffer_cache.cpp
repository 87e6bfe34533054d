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

#if PG_VERSION_NUM >= 140000
#define AUTOML_EXTINFO(ptr) ((ptr).va_extinfo)
#else
#define AUTOML_EXTINFO(ptr) ((ptr).va_extsize)
#endif

namespace pg_automl::pg {
namespace {

struct Entry {
  int32 rawsize;   // checked on a hit: a reused value id (after OID
  uint32 extinfo;  // wraparound) is very unlikely to match these too
  std::string bytes;
};

struct Cache {
  std::unordered_map<uint64_t, Entry> entries;
  size_t bytes = 0;
};

// Owned by the backend: freed at process exit.  Only the main thread of a
// backend touches it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

const char* cached_buffer(Datum value, size_t* size) {
  Cache& c = cache();
  size_t limit = size_t(automl_buffer_cache_mb) << 20;
  // A lowered limit (or 0) gives the memory back at once.
  if (c.bytes > limit) {
    c.entries.clear();
    c.bytes = 0;
  }
  struct varlena* raw = reinterpret_cast<struct varlena*>(DatumGetPointer(value));
  uint64_t key = 0;
  struct varatt_external ptr;
  if (limit > 0 && VARATT_IS_EXTERNAL_ONDISK(raw)) {
    VARATT_EXTERNAL_GET_POINTER(ptr, raw);
    key = (uint64_t(ptr.va_toastrelid) << 32) | ptr.va_valueid;
    auto it = c.entries.find(key);
    if (it != c.entries.end() && it->second.rawsize == ptr.va_rawsize && it->second.extinfo == AUTOML_EXTINFO(ptr)) {
      *size = it->second.bytes.size();
      return it->second.bytes.data();
    }
  }
  bytea* b = reinterpret_cast<bytea*>(PG_DETOAST_DATUM(PointerGetDatum(raw)));
  *size = VARSIZE(b) - VARHDRSZ;
  if (key && c.bytes + *size <= limit) {
    // std::string may throw bad_alloc: that is an ordinary miss.
    try {
      Entry& e = c.entries[key];
      c.bytes -= e.bytes.size();
      e.rawsize = ptr.va_rawsize;
      e.extinfo = AUTOML_EXTINFO(ptr);
      e.bytes.assign(VARDATA(b), *size);
      c.bytes += *size;
    } catch (...) {
      c.entries.erase(key);
    }
  }
  return VARDATA(b);
}

}  // namespace pg_automl::pg
