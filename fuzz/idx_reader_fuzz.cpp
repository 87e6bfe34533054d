// IDX files are read by the server (automl_load_idx): any file, gzip or
// not, must load or throw Error.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"
#include "pg_automl/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The reader takes a path: the input becomes an anonymous file.
  int fd = memfd_create("idx", 0);
  if (fd < 0) std::abort();
  if (size && write(fd, data, size) != ssize_t(size)) std::abort();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  // The first byte picks the item range, so that offsets and limits are
  // fuzzed too.
  const int64_t offset = size ? data[0] % 4 : 0, limit = size > 1 ? int64_t(data[1] % 5) - 1 : -1;
  pg_automl::fuzz::ExpectOnlyOurErrors([&] {
    pg_automl::IdxArray a = pg_automl::ReadIdx(path, offset, limit);
    if (a.dims.empty() || int64_t(a.data.size()) != a.dims[0] * a.ItemSize()) std::abort();
  });
  close(fd);
  return 0;
}
