// Training hyperparameters of one configuration: the optimizer and its
// settings, parsed strictly from JSON so that a typo is an error, not a
// silently ignored key.
//   {"optimizer": "adam", "lr": 0.001, "betas": [0.9, 0.999], "batch_size": 128}
#pragma once

#include <cstdint>
#include <string>

namespace pg_automl {

enum class OptimizerKind : uint8_t { SGD = 1, Adam = 2, AdamW = 3, RMSprop = 4, Adagrad = 5 };

struct TrainParams {
  OptimizerKind optimizer = OptimizerKind::Adam;
  double lr = 1e-3;
  double weight_decay = 0;
  double momentum = 0;        // SGD, RMSprop
  double dampening = 0;       // SGD
  bool nesterov = false;      // SGD
  double beta1 = 0.9;         // Adam, AdamW
  double beta2 = 0.999;
  double eps = 1e-8;          // Adam, AdamW, RMSprop, Adagrad
  bool amsgrad = false;       // Adam, AdamW
  double alpha = 0.99;        // RMSprop
  bool centered = false;      // RMSprop
  double lr_decay = 0;        // Adagrad
  int64_t batch_size = 0;     // rows per step; 0 = one step per packed buffer
  std::string canonical_json; // every setting, defaults filled in
};

// Parses params; throws Error(InvalidParameter) naming the field at fault.
TrainParams ParseTrainParams(const std::string& json_text);

const char* OptimizerName(OptimizerKind kind);

}  // namespace pg_automl
