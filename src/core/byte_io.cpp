#include "pg_automl/byte_io.h"

#include <isa-l/crc.h>

namespace pg_automl {

// The CRC-32 of gzip and zlib, from ISA-L: several times faster than zlib's
// (it checks every training state, 1.2 MB for a small MLP, at each hop).
uint32_t Crc32(const void* data, size_t size) {
  return crc32_gzip_refl(0, static_cast<const unsigned char*>(data), uint64_t(size));
}

}  // namespace pg_automl
