// Bounds-checked reading and plain appending of binary data, for the
// training-state format.  Every read past the end throws
// Error(DataCorrupted) instead of touching memory it does not own.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "pg_automl/errors.h"

namespace pg_automl {

class ByteWriter {
 public:
  template <typename T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void PutBytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  void PutString(const std::string& s) {
    Put<uint32_t>(uint32_t(s.size()));
    out_.append(s);
  }
  // Room for n bytes in all, so that appending copies nothing twice.
  void Reserve(size_t n) { out_.reserve(n); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  ByteReader(const char* data, size_t size) : p_(data), end_(data + size) {}
  template <typename T>
  T Get() {
    T v;
    std::memcpy(&v, Take(sizeof v), sizeof v);
    return v;
  }
  const char* Take(size_t n) {
    if (size_t(end_ - p_) < n) Truncated();
    const char* at = p_;
    p_ += n;
    return at;
  }
  std::string GetString(size_t max_len = 1 << 16) {
    uint32_t n = Get<uint32_t>();
    if (n > max_len) Truncated();
    return std::string(Take(n), n);
  }
  size_t remaining() const { return size_t(end_ - p_); }

 private:
  [[noreturn]] static void Truncated() {
    throw Error(ErrorKind::DataCorrupted, "training state is truncated or malformed");
  }
  const char* p_;
  const char* end_;
};

// CRC-32 (zlib's) of a byte range.
uint32_t Crc32(const void* data, size_t size);

}  // namespace pg_automl
