// Packed buffers are bytea values any role can write into a table it owns
// and hand to the training functions: a buffer that parses must be safe to
// read in full.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_util.h"
#include "pg_automl/packed_buffer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A heap copy of exactly `size` bytes (aligned as a detoasted bytea is),
  // so that ASan sees every read past the end.
  std::vector<uint8_t> exact(data, data + size);
  pg_automl::fuzz::ExpectOnlyOurErrors([&] {
    pg_automl::BufferView b = pg_automl::ParseBuffer(exact.data(), exact.size());
    volatile double sum = 0;
    for (size_t i = 0; i < size_t(b.rows) * b.features; ++i) sum = sum + b.x[i];
    for (uint32_t r = 0; r < b.rows; ++r) {
      if (b.label_kind == pg_automl::LabelKind::ClassIndex) sum = sum + b.classes[r];
      else sum = sum + b.targets[r];
      if (b.ids) sum = sum + double(b.Id(r));
    }
  });
  return 0;
}
