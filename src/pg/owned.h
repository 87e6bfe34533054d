// C++ objects owned by a PostgreSQL memory context: the holder is palloc'd in
// the context and a reset callback deletes the object, so an error, a cancel
// or the end of the query frees it (no leak, no destructor skipped).
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/memutils.h"
}

namespace pg_automl::pg {

template <typename T>
struct Owned {
  T* object;
  MemoryContextCallback callback;
};

template <typename T>
void delete_owned(void* arg) {
  auto* holder = static_cast<Owned<T>*>(arg);
  delete holder->object;
  holder->object = nullptr;
}

// Allocates an empty holder in `cxt`; set holder->object afterwards (with new).
template <typename T>
Owned<T>* owned_in(MemoryContext cxt) {
  auto* holder = static_cast<Owned<T>*>(MemoryContextAllocZero(cxt, sizeof(Owned<T>)));
  holder->callback.func = delete_owned<T>;
  holder->callback.arg = holder;
  MemoryContextRegisterResetCallback(cxt, &holder->callback);
  return holder;
}

}  // namespace pg_automl::pg
