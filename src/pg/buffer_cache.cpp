#include "buffer_cache.h"

#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "boundary.h"
#include "datum_utils.h"
#include "gucs.h"

extern "C" {
#include "access/detoast.h"
#include "access/xact.h"
#include "funcapi.h"
#include "utils/tuplestore.h"
#include "utils/syscache.h"
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
  // TOAST relations found to exist while the cache was full, valid for one
  // command of one transaction (the catalog cannot change within it): a
  // miss from one of them does not look for dropped relations again.
  std::unordered_set<Oid> existing;
  TimestampTz existing_xact = 0;
  CommandId existing_command = InvalidCommandId;
};

Oid toast_relation_of(uint64_t key) { return Oid(key >> 32); }

// A full cache keeps what it holds, except the buffers of TOAST relations
// that no longer exist: a dropped (or prepared again) table would otherwise
// keep a long-lived backend from caching the tables it reads next.  Looks
// once per relation that misses while the cache is full.
// (No C++ object with a destructor lives here while the syscache is asked,
// and a failed allocation just leaves the cache as it is.)
void forget_dropped(Cache& c, Oid missed) {
  try {
    TimestampTz xact = GetCurrentTransactionStartTimestamp();
    CommandId command = GetCurrentCommandId(false);
    if (xact != c.existing_xact || command != c.existing_command) {
      c.existing.clear();
      c.existing_xact = xact;
      c.existing_command = command;
    }
    if (!c.existing.insert(missed).second) return;
    for (auto it = c.entries.begin(); it != c.entries.end();) {
      Oid rel = toast_relation_of(it->first);
      if (c.existing.count(rel) || SearchSysCacheExists1(RELOID, ObjectIdGetDatum(rel))) {
        c.existing.insert(rel);
        ++it;
        continue;
      }
      c.bytes -= it->second.bytes.size();
      it = c.entries.erase(it);
    }
  } catch (...) {
  }
}

// Owned by the backend: freed at process exit.  Only the main thread of a
// backend touches it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

// The cache within pg_automl.buffer_cache_mb: a lowered limit (or 0)
// gives the memory back at once.
Cache& limited_cache(size_t* limit) {
  Cache& c = cache();
  *limit = size_t(automl_buffer_cache_mb) << 20;
  if (c.bytes > *limit) {
    c.entries.clear();
    c.bytes = 0;
  }
  return c;
}

}  // namespace

const char* cached_buffer(Datum value, size_t* size) {
  size_t limit;
  Cache& c = limited_cache(&limit);
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
  if (key && c.bytes + *size > limit) forget_dropped(c, ptr.va_toastrelid);
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

// What the cache holds, per TOAST relation, as plain arrays (palloc'd).
int cached_relations(Oid** relations, int64** buffers, int64** bytes) {
  size_t limit;
  Cache& c = limited_cache(&limit);
  size_t n = c.entries.size();
  *relations = static_cast<Oid*>(palloc(sizeof(Oid) * (n + 1)));
  *buffers = static_cast<int64*>(palloc0(sizeof(int64) * (n + 1)));
  *bytes = static_cast<int64*>(palloc0(sizeof(int64) * (n + 1)));
  int k = 0;
  for (const auto& [key, entry] : c.entries) {
    Oid rel = toast_relation_of(key);
    int i = 0;
    while (i < k && (*relations)[i] != rel) ++i;
    if (i == k) (*relations)[k++] = rel;
    ++(*buffers)[i];
    (*bytes)[i] += int64(entry.bytes.size());
  }
  return k;
}

}  // namespace pg_automl::pg

// automl_buffer_cache_entries() -> setof (toast_relid oid, buffers bigint, bytes bigint)
// The packed buffers this backend keeps (pg_automl.buffer_cache_mb), per
// TOAST relation; automl_buffer_cache() names the tables.
AUTOML_FUNCTION(automl_buffer_cache_entries);
Datum automl_buffer_cache_entries(PG_FUNCTION_ARGS) {
  using namespace pg_automl::pg;
  init_materialized_srf(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Oid* relations;
  int64 *buffers, *bytes;
  int n = cached_relations(&relations, &buffers, &bytes);
  for (int i = 0; i < n; ++i) {
    Datum values[3] = {ObjectIdGetDatum(relations[i]), Int64GetDatum(buffers[i]), Int64GetDatum(bytes[i])};
    bool nulls[3] = {false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}
