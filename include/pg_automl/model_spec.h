// Model architecture specs: JSON in, validated layer list out.
//
// A spec declares the input shape (without the batch dimension) and a list of
// layers named after their PyTorch modules:
//   {"input_shape": [784],
//    "layers": [{"type": "Linear", "out_features": 128}, {"type": "ReLU"},
//               {"type": "Linear", "out_features": 10}]}
// Parsing checks every field and chains the shapes, so a spec that parses
// always builds (model_builder.h) and runs on inputs of its declared shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pg_automl {

using Shape = std::vector<int64_t>;

enum class LayerType {
  Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Dropout,
  Flatten, Reshape, ReLU, LeakyReLU, GELU, Tanh, Sigmoid
};

struct LayerSpec {
  LayerType type = LayerType::ReLU;
  int64_t out = 0;                  // out_features / out_channels
  int64_t kernel[2] = {0, 0};       // (h, w)
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  bool bias = true;
  double p = 0.5;                   // Dropout
  double negative_slope = 0.01;     // LeakyReLU
  double eps = 1e-5;                // BatchNorm
  double momentum = 0.1;            // BatchNorm
  Shape target;                     // Reshape
  Shape in_shape, out_shape;        // computed while parsing
  int64_t parameters = 0;           // trainable parameters of this layer
};

struct ModelSpec {
  Shape input_shape;
  std::vector<LayerSpec> layers;
  Shape output_shape;
  int64_t parameter_count = 0;
  // Elements of the input, of every layer's output and of every
  // convolution's unfolded input for one sample (saturating): what one row
  // costs in activations (activation_limit.h).
  int64_t activation_elements = 0;
  std::string canonical_json;       // defaults filled in, names canonical
};

// Limits that reject absurd specs before any memory is allocated.
constexpr int64_t kMaxParameters = 50'000'000;     // state must fit a bytea
constexpr int64_t kMaxActivationElements = 1 << 26; // per sample, per layer
constexpr int64_t kMaxWidth = 1 << 20;             // features or channels

// Parses and validates a spec; throws Error(InvalidParameter) naming the
// layer index and the field at fault.
ModelSpec ParseModelSpec(const std::string& json_text);

const char* LayerTypeName(LayerType type);

// Elements of a shape (product of its dimensions).
int64_t ShapeElements(const Shape& shape);

}  // namespace pg_automl
