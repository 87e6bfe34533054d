// Training states are bytea values a role can write (a fit's or a trial's
// state) and pass to automl_train, automl_eval and automl_predict_buffer:
// any bytes must restore into a Trainer of the given model or throw Error.
// The checksum guards the payload, so most inputs are sealed first (their
// payload is fuzzed); inputs that start with an even byte go in raw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "pg_automl/model_spec.h"
#include "pg_automl/runtime.h"
#include "pg_automl/train_params.h"
#include "pg_automl/trainer.h"
#include "pg_automl/training_state.h"

namespace {

const char* kSpec = R"({"input_shape": [4], "layers": [{"type": "Linear", "out_features": 3},
                        {"type": "BatchNorm1d"}, {"type": "ReLU"}, {"type": "Linear", "out_features": 2}]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const pg_automl::ModelSpec spec = pg_automl::ParseModelSpec(kSpec);
  static const pg_automl::TrainParams adam = pg_automl::ParseTrainParams(R"({"optimizer": "adam"})");
  static const pg_automl::TrainParams sgd = pg_automl::ParseTrainParams(R"({"optimizer": "sgd", "momentum": 0.9})");
  static const bool once = (pg_automl::ConfigureThreads(1), true);
  (void)once;
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2) bytes = pg_automl::SealState(bytes);
  pg_automl::fuzz::ExpectOnlyOurErrors([&] { pg_automl::SummarizeState(bytes.data(), bytes.size()); });
  pg_automl::fuzz::ExpectOnlyOurErrors([&] {
    auto t = pg_automl::Trainer::Restore(spec, data[0] % 4 < 2 ? adam : sgd, bytes.data(), bytes.size(), "cpu");
    t->SaveState();
  });
  return 0;
}
