// A per-backend cache of packed buffers, keyed by their TOAST pointer.
//
// A buffer (~800 kB) lives out of line in TOAST chunks of ~2 kB; fetching it
// again every epoch costs an index lookup per chunk and a fresh allocation.
// A TOAST value is immutable and its (toast relation, value id) pair names it
// until it is deleted, so a backend that trains for many epochs (or a
// segment process that serves one shard for a whole run) keeps the bytes it
// has read, up to pg_automl.buffer_cache_mb.  A full cache keeps what it has
// and admits nothing new (epochs scan the same buffers in a cycle, where
// keeping the first N gives N hits per epoch and LRU would give none), but
// it forgets the buffers of tables dropped since.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

namespace pg_automl::pg {

// The bytes of a bytea (not NULL): from the cache when the same TOAST value
// was read before, else detoasted into the current memory context (and kept
// if room).  Returns a pointer and size valid while that context lives.
const char* cached_buffer(Datum value, size_t* size);

// What the cache holds per TOAST relation: returns their number and fills
// palloc'd arrays of relation OIDs, buffer counts and bytes.
int cached_relations(Oid** relations, int64** buffers, int64** bytes);

// cached_buffer() of argument `argno`: valid until the end of the call.
inline const char* cached_buffer_arg(FunctionCallInfo fcinfo, int argno, size_t* size) {
  return cached_buffer(PG_GETARG_DATUM(argno), size);
}

}  // namespace pg_automl::pg
