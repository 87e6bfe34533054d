#include "pg_automl/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "pg_automl/errors.h"

namespace pg_automl {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer<gzFile>::type, GzCloser>;

void ReadExact(gzFile f, void* dst, size_t n, const std::string& path) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    unsigned chunk = n > (1u << 30) ? (1u << 30) : unsigned(n);
    int got = gzread(f, p, chunk);
    if (got <= 0)
      throw Error(ErrorKind::DataCorrupted, "file \"" + path + "\" is truncated or not an IDX file");
    p += got;
    n -= size_t(got);
  }
}

}  // namespace

int64_t IdxArray::ItemSize() const {
  int64_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

IdxArray ReadIdx(const std::string& path, int64_t offset, int64_t limit) {
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f)
    throw Error(errno == ENOENT ? ErrorKind::FileNotFound : ErrorKind::Io,
                "could not open file \"" + path + "\": " + std::strerror(errno));
  unsigned char magic[4];
  ReadExact(f.get(), magic, 4, path);
  if (magic[0] != 0 || magic[1] != 0)
    throw Error(ErrorKind::DataCorrupted, "file \"" + path + "\" is not an IDX file");
  if (magic[2] != 0x08)
    throw Error(ErrorKind::FeatureNotSupported, "IDX file \"" + path + "\" does not hold unsigned bytes");
  int rank = magic[3];
  if (rank < 1 || rank > 4) throw Error(ErrorKind::DataCorrupted, "IDX file \"" + path + "\" has rank " + std::to_string(rank));
  IdxArray a;
  for (int i = 0; i < rank; ++i) {
    unsigned char b[4];
    ReadExact(f.get(), b, 4, path);
    int64_t d = (int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    if (d <= 0 || d > (1 << 28)) throw Error(ErrorKind::DataCorrupted, "IDX file \"" + path + "\" has an invalid dimension");
    a.dims.push_back(d);
  }
  if (offset < 0 || offset > a.dims[0])
    throw Error(ErrorKind::InvalidParameter, "offset " + std::to_string(offset) + " is outside the file's " +
                                                 std::to_string(a.dims[0]) + " items");
  int64_t count = a.dims[0] - offset;
  if (limit >= 0 && limit < count) count = limit;
  // Multiply step by step: each dimension may be up to 2^28, so the product
  // of three could overflow int64.
  int64_t item = 1;
  for (size_t i = 1; i < a.dims.size(); ++i) {
    item *= a.dims[i];
    if (item > (1 << 24))
      throw Error(ErrorKind::DataCorrupted, "IDX file \"" + path + "\" has items that are too large");
  }
  if (offset > 0 && gzseek(f.get(), z_off_t(offset * item), SEEK_CUR) < 0)
    throw Error(ErrorKind::DataCorrupted, "file \"" + path + "\" is truncated");
  // Grow the array as the data arrives, so that a header claiming more than
  // the file holds fails at the end of the file, not in a huge allocation.
  const size_t total = size_t(count) * size_t(item);
  constexpr size_t kChunk = size_t(1) << 24;
  while (a.data.size() < total) {
    size_t at = a.data.size(), n = std::min(kChunk, total - at);
    a.data.resize(at + n);
    ReadExact(f.get(), a.data.data() + at, n, path);
  }
  a.dims[0] = count;
  return a;
}

}  // namespace pg_automl
