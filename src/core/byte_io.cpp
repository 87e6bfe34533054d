#include "pg_automl/byte_io.h"

#include <zlib.h>

namespace pg_automl {

uint32_t Crc32(const void* data, size_t size) {
  // zlib's crc32 takes a uInt length: feed large ranges in pieces.
  uLong crc = crc32(0L, Z_NULL, 0);
  auto p = static_cast<const Bytef*>(data);
  while (size > 0) {
    uInt n = size > (1u << 30) ? (1u << 30) : uInt(size);
    crc = crc32(crc, p, n);
    p += n;
    size -= n;
  }
  return uint32_t(crc);
}

}  // namespace pg_automl
