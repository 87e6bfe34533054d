// Model specs come from users (automl_add_model): any text must parse into
// a spec whose shapes chain, or throw Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "pg_automl/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pg_automl::fuzz::ExpectOnlyOurErrors([&] {
    pg_automl::ModelSpec spec = pg_automl::ParseModelSpec(std::string(reinterpret_cast<const char*>(data), size));
    // The canonical form is a fixed point.
    pg_automl::ModelSpec again = pg_automl::ParseModelSpec(spec.canonical_json);
    if (again.canonical_json != spec.canonical_json || again.parameter_count != spec.parameter_count) std::abort();
  });
  return 0;
}
