// Reads IDX files (the MNIST/Fashion-MNIST format), gzip-compressed or not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pg_automl {

struct IdxArray {
  std::vector<int64_t> dims;     // dims[0] is the item count
  std::vector<uint8_t> data;     // unsigned bytes, row-major
  int64_t ItemSize() const;      // elements per item (product of dims[1..])
};

// Throws Error(Io) when the file cannot be read and Error(DataCorrupted)
// when it is not an unsigned-byte IDX file.  Reads items [offset, offset+limit).
IdxArray ReadIdx(const std::string& path, int64_t offset = 0, int64_t limit = -1);

}  // namespace pg_automl
