// Training parameters come from users: parse, or throw Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "pg_automl/train_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pg_automl::fuzz::ExpectOnlyOurErrors([&] {
    pg_automl::TrainParams p = pg_automl::ParseTrainParams(std::string(reinterpret_cast<const char*>(data), size));
    pg_automl::TrainParams again = pg_automl::ParseTrainParams(p.canonical_json);
    if (again.canonical_json != p.canonical_json) std::abort();
  });
  return 0;
}
