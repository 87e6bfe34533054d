// Model specs: every layer type parses with the right shapes and parameter
// counts (checked against the torch module BuildModule makes), canonical
// JSON is a fixed point, and every malformed spec is rejected with a message
// that names the layer and the field.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "pg_automl/errors.h"
#include "pg_automl/model_builder.h"
#include "pg_automl/model_spec.h"
#include "test_util.h"

namespace pg_automl {
namespace {

using testing_util::ThrowsError;

int64_t TorchParameterCount(torch::nn::Sequential& m) {
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

// Parses `json`, checks the declared output shape and parameter count, then
// builds the module and checks that torch agrees on both.
ModelSpec CheckSpec(const std::string& json, const Shape& want_out, int64_t want_params) {
  ModelSpec spec = ParseModelSpec(json);
  EXPECT_EQ(spec.output_shape, want_out) << json;
  EXPECT_EQ(spec.parameter_count, want_params) << json;
  int64_t sum = 0;
  for (const auto& L : spec.layers) sum += L.parameters;
  EXPECT_EQ(sum, spec.parameter_count) << "per-layer parameters do not add up: " << json;
  for (size_t i = 1; i < spec.layers.size(); ++i)
    EXPECT_EQ(spec.layers[i].in_shape, spec.layers[i - 1].out_shape) << "layer " << i << " of " << json;
  if (!spec.layers.empty()) {
    EXPECT_EQ(spec.layers.front().in_shape, spec.input_shape);
    EXPECT_EQ(spec.layers.back().out_shape, spec.output_shape);
  }

  torch::manual_seed(0);
  torch::nn::Sequential m = BuildModule(spec);
  EXPECT_EQ(m->size(), spec.layers.size());
  EXPECT_EQ(TorchParameterCount(m), spec.parameter_count) << "torch disagrees on parameters: " << json;
  std::vector<int64_t> in{4};
  in.insert(in.end(), spec.input_shape.begin(), spec.input_shape.end());
  torch::NoGradGuard ng;
  m->train();  // BatchNorm in training mode needs a batch > 1: 4 rows
  torch::Tensor y = m->forward(torch::randn(in));
  std::vector<int64_t> out{4};
  out.insert(out.end(), want_out.begin(), want_out.end());
  EXPECT_EQ(y.sizes().vec(), out) << "forward output shape differs from the spec's: " << json;
  return spec;
}

// Forward through the Sequential one module at a time, checking each
// layer's computed out_shape against the real tensor.
void CheckIntermediateShapes(const ModelSpec& spec) {
  torch::manual_seed(1);
  torch::nn::Sequential m = BuildModule(spec);
  m->train();
  torch::NoGradGuard ng;
  std::vector<int64_t> in{3};
  in.insert(in.end(), spec.input_shape.begin(), spec.input_shape.end());
  torch::Tensor x = torch::randn(in);
  size_t i = 0;
  for (auto& layer : *m) {
    ASSERT_LT(i, spec.layers.size());
    x = layer.forward(x);
    std::vector<int64_t> want{3};
    want.insert(want.end(), spec.layers[i].out_shape.begin(), spec.layers[i].out_shape.end());
    ASSERT_EQ(x.sizes().vec(), want) << "layer " << i << " (" << LayerTypeName(spec.layers[i].type) << ")";
    ++i;
  }
  EXPECT_EQ(i, spec.layers.size());
}

TEST(ModelSpecLayers, Linear) {
  ModelSpec s = CheckSpec(R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":7}]})", {7}, 20 * 7 + 7);
  EXPECT_EQ(s.layers[0].type, LayerType::Linear);
  EXPECT_TRUE(s.layers[0].bias);
  CheckSpec(R"({"input_shape":[20],"layers":[{"type":"Linear","in_features":20,"out_features":7,"bias":false}]})",
            {7}, 20 * 7);
}

TEST(ModelSpecLayers, LinearOnRank2InputActsOnLastDimension) {
  ModelSpec s = CheckSpec(
      R"({"input_shape":[3,5],"layers":[{"type":"Linear","out_features":4},{"type":"Flatten"}]})", {12},
      5 * 4 + 4);
  EXPECT_EQ(s.layers[0].out_shape, (Shape{3, 4}));
  CheckIntermediateShapes(s);
}

TEST(ModelSpecLayers, Conv2d) {
  // H = (10 + 2*1 - 3)/2 + 1 = 5, W = (12 + 0 - 5)/2 + 1 = 4
  ModelSpec s = CheckSpec(
      R"({"input_shape":[3,10,12],"layers":[
          {"type":"Conv2d","out_channels":4,"kernel_size":[3,5],"stride":2,"padding":[1,0]},
          {"type":"Flatten"}]})",
      {4 * 5 * 4}, 4 * 3 * 3 * 5 + 4);
  const LayerSpec& c = s.layers[0];
  EXPECT_EQ(c.out_shape, (Shape{4, 5, 4}));
  EXPECT_EQ(c.kernel[0], 3);
  EXPECT_EQ(c.kernel[1], 5);
  EXPECT_EQ(c.stride[0], 2);
  EXPECT_EQ(c.stride[1], 2);
  EXPECT_EQ(c.padding[0], 1);
  EXPECT_EQ(c.padding[1], 0);
  CheckIntermediateShapes(s);
  CheckSpec(R"({"input_shape":[2,5,5],"layers":[
          {"type":"Conv2d","in_channels":2,"out_channels":3,"kernel_size":5,"bias":false},{"type":"Flatten"}]})",
            {3}, 3 * 2 * 25);
}

TEST(ModelSpecLayers, MaxPool2dStrideDefaultsToKernel) {
  ModelSpec s = CheckSpec(
      R"({"input_shape":[2,9,9],"layers":[{"type":"MaxPool2d","kernel_size":2},{"type":"Flatten"}]})",
      {2 * 4 * 4}, 0);
  EXPECT_EQ(s.layers[0].stride[0], 2);
  EXPECT_EQ(s.layers[0].stride[1], 2);
  EXPECT_EQ(s.layers[0].out_shape, (Shape{2, 4, 4}));
  CheckIntermediateShapes(s);
}

TEST(ModelSpecLayers, AvgPool2d) {
  ModelSpec s = CheckSpec(
      R"({"input_shape":[2,8,7],"layers":[
          {"type":"AvgPool2d","kernel_size":3,"stride":1,"padding":1},{"type":"Flatten"}]})",
      {2 * 8 * 7}, 0);
  EXPECT_EQ(s.layers[0].out_shape, (Shape{2, 8, 7}));
  CheckIntermediateShapes(s);
  ModelSpec t = CheckSpec(
      R"({"input_shape":[1,7,7],"layers":[{"type":"AvgPool2d","kernel_size":[3,2],"stride":[2,3]},{"type":"Flatten"}]})",
      {3 * 2}, 0);
  CheckIntermediateShapes(t);
}

TEST(ModelSpecLayers, BatchNorm1d) {
  ModelSpec s = CheckSpec(
      R"({"input_shape":[6],"layers":[{"type":"BatchNorm1d","eps":0.001,"momentum":0.2}]})", {6}, 12);
  EXPECT_DOUBLE_EQ(s.layers[0].eps, 0.001);
  EXPECT_DOUBLE_EQ(s.layers[0].momentum, 0.2);
  torch::nn::Sequential m = BuildModule(s);
  auto bn = m->ptr(0)->as<torch::nn::BatchNorm1d>();
  ASSERT_NE(bn, nullptr) << "layer 0 did not build as BatchNorm1d";
  EXPECT_DOUBLE_EQ(bn->options.eps(), 0.001);
  EXPECT_DOUBLE_EQ(bn->options.momentum().value(), 0.2);
  // running_mean, running_var, num_batches_tracked
  EXPECT_EQ(m->buffers().size(), 3u);
  // [channels, length] input
  ModelSpec t = CheckSpec(
      R"({"input_shape":[3,5],"layers":[{"type":"BatchNorm1d","num_features":3},{"type":"Flatten"}]})", {15}, 6);
  CheckIntermediateShapes(t);
}

TEST(ModelSpecLayers, BatchNorm2d) {
  ModelSpec s = CheckSpec(
      R"({"input_shape":[3,4,4],"layers":[{"type":"BatchNorm2d"},{"type":"Flatten"}]})", {48}, 6);
  EXPECT_DOUBLE_EQ(s.layers[0].eps, 1e-5);
  EXPECT_DOUBLE_EQ(s.layers[0].momentum, 0.1);
  CheckIntermediateShapes(s);
}

TEST(ModelSpecLayers, Dropout) {
  ModelSpec s = CheckSpec(R"({"input_shape":[5],"layers":[{"type":"Dropout","p":0.3}]})", {5}, 0);
  EXPECT_DOUBLE_EQ(s.layers[0].p, 0.3);
  torch::nn::Sequential m = BuildModule(s);
  auto d = m->ptr(0)->as<torch::nn::Dropout>();
  ASSERT_NE(d, nullptr);
  EXPECT_DOUBLE_EQ(d->options.p(), 0.3);
  EXPECT_DOUBLE_EQ(ParseModelSpec(R"({"input_shape":[5],"layers":[{"type":"Dropout"}]})").layers[0].p, 0.5);
  EXPECT_DOUBLE_EQ(ParseModelSpec(R"({"input_shape":[5],"layers":[{"type":"Dropout","p":0}]})").layers[0].p, 0.0);
}

TEST(ModelSpecLayers, Flatten) {
  ModelSpec s = CheckSpec(R"({"input_shape":[2,3,4],"layers":[{"type":"Flatten"}]})", {24}, 0);
  CheckIntermediateShapes(s);
}

TEST(ModelSpecLayers, Reshape) {
  ModelSpec s = CheckSpec(
      R"({"input_shape":[12],"layers":[{"type":"Reshape","shape":[3,2,2]},
          {"type":"Conv2d","out_channels":2,"kernel_size":2},{"type":"Flatten"}]})",
      {2}, 2 * 3 * 4 + 2);
  EXPECT_EQ(s.layers[0].target, (Shape{3, 2, 2}));
  EXPECT_EQ(s.layers[0].out_shape, (Shape{3, 2, 2}));
  CheckIntermediateShapes(s);
  // Reshape keeps rows apart: row r of the output is row r of the input.
  torch::nn::Sequential m = BuildModule(ParseModelSpec(
      R"({"input_shape":[6],"layers":[{"type":"Reshape","shape":[2,3]},{"type":"Flatten"}]})"));
  torch::Tensor x = torch::arange(12, torch::kFloat).view({2, 6});
  EXPECT_TRUE(torch::equal(m->forward(x), x));
}

TEST(ModelSpecLayers, Activations) {
  for (const char* t : {"ReLU", "GELU", "Tanh", "Sigmoid", "LeakyReLU"}) {
    SCOPED_TRACE(t);
    ModelSpec s = CheckSpec(std::string(R"({"input_shape":[5],"layers":[{"type":")") + t + R"("}]})", {5}, 0);
    EXPECT_STREQ(LayerTypeName(s.layers[0].type), t);
  }
  // Each activation computes its own function.
  torch::Tensor x = torch::linspace(-3, 3, 10).view({2, 5});
  auto run = [&](const std::string& layer) {
    auto m = BuildModule(ParseModelSpec(R"({"input_shape":[5],"layers":[)" + layer + "]}"));
    return m->forward(x);
  };
  EXPECT_TRUE(torch::allclose(run(R"({"type":"ReLU"})"), torch::relu(x)));
  EXPECT_TRUE(torch::allclose(run(R"({"type":"GELU"})"), torch::gelu(x)));
  EXPECT_TRUE(torch::allclose(run(R"({"type":"Tanh"})"), torch::tanh(x)));
  EXPECT_TRUE(torch::allclose(run(R"({"type":"Sigmoid"})"), torch::sigmoid(x)));
  EXPECT_TRUE(torch::allclose(run(R"({"type":"LeakyReLU","negative_slope":0.2})"), torch::leaky_relu(x, 0.2)));
  EXPECT_TRUE(torch::allclose(run(R"({"type":"LeakyReLU"})"), torch::leaky_relu(x, 0.01)));
}

TEST(ModelSpecLayers, TypicalCnn) {
  ModelSpec s = CheckSpec(
      R"({"input_shape":[1,28,28],"layers":[
          {"type":"Conv2d","out_channels":8,"kernel_size":3,"padding":1},{"type":"BatchNorm2d"},{"type":"ReLU"},
          {"type":"MaxPool2d","kernel_size":2},
          {"type":"Conv2d","out_channels":16,"kernel_size":3},{"type":"ReLU"},{"type":"AvgPool2d","kernel_size":2},
          {"type":"Flatten"},{"type":"Dropout","p":0.25},{"type":"Linear","out_features":32},
          {"type":"LeakyReLU"},{"type":"BatchNorm1d"},{"type":"Linear","out_features":10}]})",
      {10}, (8 * 9 + 8) + 16 + (16 * 8 * 9 + 16) + (16 * 6 * 6 * 32 + 32) + 64 + (32 * 10 + 10));
  EXPECT_EQ(s.layers[3].out_shape, (Shape{8, 14, 14}));
  EXPECT_EQ(s.layers[4].out_shape, (Shape{16, 12, 12}));
  EXPECT_EQ(s.layers[6].out_shape, (Shape{16, 6, 6}));
  CheckIntermediateShapes(s);
}

TEST(ModelSpec, TypeNamesAreCaseInsensitive) {
  ModelSpec s = ParseModelSpec(
      R"({"input_shape":[1,6,6],"layers":[{"type":"conv2d","out_channels":2,"kernel_size":3},
          {"type":"BATCHNORM2D"},{"type":"relu"},{"type":"avgPOOL2d","kernel_size":1},
          {"type":"maxpool2D","kernel_size":2},{"type":"flatten"},
          {"type":"dropout"},{"type":"LINEAR","out_features":4},{"type":"leakyrelu"},{"type":"gelu"},
          {"type":"TANH"},{"type":"sigmoid"},{"type":"batchNorm1D"},{"type":"reshape","shape":[2,2]},
          {"type":"Flatten"}]})");
  const LayerType want[] = {LayerType::Conv2d, LayerType::BatchNorm2d, LayerType::ReLU, LayerType::AvgPool2d,
                            LayerType::MaxPool2d, LayerType::Flatten, LayerType::Dropout, LayerType::Linear,
                            LayerType::LeakyReLU, LayerType::GELU, LayerType::Tanh, LayerType::Sigmoid,
                            LayerType::BatchNorm1d, LayerType::Reshape, LayerType::Flatten};
  ASSERT_EQ(s.layers.size(), std::size(want));
  for (size_t i = 0; i < s.layers.size(); ++i) EXPECT_EQ(s.layers[i].type, want[i]) << "layer " << i;
  // The canonical form spells the types as PyTorch does.
  for (const char* name : {"\"Conv2d\"", "\"BatchNorm2d\"", "\"ReLU\"", "\"AvgPool2d\"", "\"MaxPool2d\"",
                           "\"Flatten\"", "\"Dropout\"", "\"Linear\"", "\"LeakyReLU\"", "\"GELU\"", "\"Tanh\"",
                           "\"Sigmoid\"", "\"BatchNorm1d\"", "\"Reshape\""})
    EXPECT_NE(s.canonical_json.find(name), std::string::npos) << name << " missing from " << s.canonical_json;
  EXPECT_EQ(s.canonical_json.find("\"relu\""), std::string::npos);
  EXPECT_EQ(s.output_shape, (Shape{4}));
  CheckIntermediateShapes(s);
}

TEST(ModelSpec, CanonicalJsonIsAFixedPoint) {
  const char* specs[] = {
      R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":16},{"type":"ReLU"},
          {"type":"Dropout","p":0.1},{"type":"Linear","out_features":3,"bias":false}]})",
      R"({"name":"cnn","description":"small","input_shape":[1,8,8],"layers":[
          {"type":"conv2d","out_channels":4,"kernel_size":[3,3],"padding":1},{"type":"batchnorm2d","eps":0.01},
          {"type":"LeakyReLU","negative_slope":0.1},{"type":"MaxPool2d","kernel_size":2,"stride":2},
          {"type":"AvgPool2d","kernel_size":2,"padding":1},{"type":"Flatten"},{"type":"Reshape","shape":[4,9]},
          {"type":"BatchNorm1d","momentum":0.3},{"type":"Flatten"},{"type":"GELU"},{"type":"Tanh"},
          {"type":"Sigmoid"},{"type":"Linear","out_features":2}]})",
  };
  for (const char* text : specs) {
    SCOPED_TRACE(text);
    ModelSpec a = ParseModelSpec(text);
    ModelSpec b = ParseModelSpec(a.canonical_json);
    EXPECT_EQ(b.canonical_json, a.canonical_json);
    EXPECT_EQ(b.parameter_count, a.parameter_count);
    EXPECT_EQ(b.output_shape, a.output_shape);
    EXPECT_EQ(b.input_shape, a.input_shape);
    ASSERT_EQ(b.layers.size(), a.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
      EXPECT_EQ(b.layers[i].type, a.layers[i].type);
      EXPECT_EQ(b.layers[i].out_shape, a.layers[i].out_shape);
      EXPECT_EQ(b.layers[i].p, a.layers[i].p);
      EXPECT_EQ(b.layers[i].eps, a.layers[i].eps);
      EXPECT_EQ(b.layers[i].momentum, a.layers[i].momentum);
      EXPECT_EQ(b.layers[i].negative_slope, a.layers[i].negative_slope);
    }
    // Defaults are filled in: the canonical form is valid JSON with every field.
    nlohmann::json j = nlohmann::json::parse(a.canonical_json);
    EXPECT_FALSE(j.contains("name")) << "canonical form keeps only what defines the model";
    for (const auto& layer : j.at("layers")) EXPECT_TRUE(layer.contains("output_shape")) << layer.dump();
  }
  // Equivalent spellings give one canonical form.
  EXPECT_EQ(ParseModelSpec(R"({"input_shape":[4],"layers":[{"type":"linear","out_features":2}]})").canonical_json,
            ParseModelSpec(R"({"layers":[{"bias":true,"out_features":2,"type":"Linear","in_features":4}],
                               "input_shape":[4]})")
                .canonical_json);
  EXPECT_EQ(ParseModelSpec(R"({"input_shape":[1,4,4],"layers":[{"type":"Conv2d","out_channels":1,"kernel_size":2},
                               {"type":"Flatten"}]})")
                .canonical_json,
            ParseModelSpec(R"({"input_shape":[1,4,4],"layers":[{"type":"Conv2d","out_channels":1,
                               "kernel_size":[2,2],"stride":[1,1],"padding":0},{"type":"Flatten"}]})")
                .canonical_json);
  // A different model gives a different canonical form.
  EXPECT_NE(ParseModelSpec(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":2}]})").canonical_json,
            ParseModelSpec(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":3}]})").canonical_json);
}

TEST(ModelSpec, OutputShapeAssertion) {
  EXPECT_NO_THROW(ParseModelSpec(
      R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":2,"output_shape":[2]}]})"));
  EXPECT_TRUE(ThrowsError(
      [] { ParseModelSpec(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":2,"output_shape":[3]}]})"); },
      ErrorKind::InvalidParameter, {"layer 0", "\"output_shape\""}));
}

// ---- errors ---------------------------------------------------------------

void ExpectSpecError(const std::string& json, std::initializer_list<std::string> parts) {
  EXPECT_TRUE(ThrowsError([&] { ParseModelSpec(json); }, ErrorKind::InvalidParameter, parts)) << "spec: " << json;
}

TEST(ModelSpecErrors, UnknownLayerType) {
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"ReLU"},{"type":"Softmax"}]})", {"layer 1", "Softmax"});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Linear2","out_features":2}]})", {"layer 0", "Linear2"});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"out_features":2}]})", {"layer 0", "\"type\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":7}]})", {"layer 0", "\"type\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":["ReLU"]})", {"layer 0"});
}

TEST(ModelSpecErrors, MissingField) {
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Linear"}]})", {"layer 0", "\"out_features\"", "required"});
  ExpectSpecError(R"({"input_shape":[1,4,4],"layers":[{"type":"Conv2d","kernel_size":2}]})",
                  {"layer 0", "\"out_channels\""});
  ExpectSpecError(R"({"input_shape":[1,4,4],"layers":[{"type":"Conv2d","out_channels":2}]})",
                  {"layer 0", "\"kernel_size\""});
  ExpectSpecError(R"({"input_shape":[1,4,4],"layers":[{"type":"ReLU"},{"type":"MaxPool2d"}]})",
                  {"layer 1", "\"kernel_size\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Reshape"}]})", {"layer 0", "\"shape\""});
}

TEST(ModelSpecErrors, MistypedField) {
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":"10"}]})",
                  {"layer 0", "\"out_features\"", "integer"});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":10.5}]})",
                  {"layer 0", "\"out_features\"", "integer"});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":2,"bias":"yes"}]})",
                  {"layer 0", "\"bias\""});
  ExpectSpecError(R"({"input_shape":[1,6,6],"layers":[{"type":"ReLU"},{"type":"ReLU"},
                      {"type":"Conv2d","out_channels":2,"kernel_size":"3"}]})",
                  {"layer 2", "\"kernel_size\""});
  ExpectSpecError(R"({"input_shape":[1,6,6],"layers":[{"type":"Conv2d","out_channels":2,"kernel_size":[3,3,3]}]})",
                  {"layer 0", "\"kernel_size\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Dropout","p":"0.5"}]})", {"layer 0", "\"p\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"LeakyReLU","negative_slope":null}]})",
                  {"layer 0", "\"negative_slope\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Reshape","shape":"2x2"}]})", {"layer 0", "\"shape\""});
}

TEST(ModelSpecErrors, OutOfRangeValues) {
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Dropout","p":1}]})", {"layer 0", "\"p\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Dropout","p":-0.1}]})", {"layer 0", "\"p\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":0}]})",
                  {"layer 0", "\"out_features\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"BatchNorm1d","eps":0}]})", {"layer 0", "\"eps\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"BatchNorm1d","momentum":1.5}]})",
                  {"layer 0", "\"momentum\""});
  ExpectSpecError(R"({"input_shape":[1,6,6],"layers":[{"type":"Conv2d","out_channels":2,"kernel_size":3,"stride":0}]})",
                  {"layer 0", "\"stride\""});
  ExpectSpecError(R"({"input_shape":[1,6,6],"layers":[{"type":"MaxPool2d","kernel_size":2,"padding":2}]})",
                  {"layer 0", "\"padding\""});
}

TEST(ModelSpecErrors, UnrecognizedField) {
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"ReLU","inplace":true}]})",
                  {"layer 0", "\"inplace\"", "not recognized"});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"ReLU"},{"type":"Linear","out_feature":3}]})",
                  {"layer 1", "\"out_feature\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Dropout","rate":0.5}]})", {"layer 0", "\"rate\""});
  // Top level: only input_shape, layers, name, description.
  ExpectSpecError(R"({"input_shape":[4],"layer":[{"type":"ReLU"}],"layers":[{"type":"Linear","out_features":2}]})",
                  {"\"layer\""});
}

TEST(ModelSpecErrors, ShapesThatDoNotChain) {
  ExpectSpecError(R"({"input_shape":[20],"layers":[{"type":"Linear","in_features":21,"out_features":4}]})",
                  {"layer 0", "\"in_features\"", "[20]"});
  ExpectSpecError(R"({"input_shape":[20],"layers":[{"type":"Linear","out_features":8},{"type":"ReLU"},
                      {"type":"Linear","in_features":20,"out_features":4}]})",
                  {"layer 2", "\"in_features\""});
  // Conv2d on a 1-D input.
  ExpectSpecError(R"({"input_shape":[784],"layers":[{"type":"Conv2d","out_channels":4,"kernel_size":3}]})",
                  {"layer 0", "Conv2d", "[784]"});
  ExpectSpecError(R"({"input_shape":[1,6,6],"layers":[{"type":"Conv2d","in_channels":3,"out_channels":4,"kernel_size":3}]})",
                  {"layer 0", "\"in_channels\""});
  ExpectSpecError(R"({"input_shape":[784],"layers":[{"type":"MaxPool2d","kernel_size":2}]})", {"layer 0"});
  ExpectSpecError(R"({"input_shape":[3,4,4],"layers":[{"type":"BatchNorm1d"}]})", {"layer 0", "BatchNorm1d"});
  ExpectSpecError(R"({"input_shape":[12],"layers":[{"type":"BatchNorm2d"}]})", {"layer 0", "BatchNorm2d"});
  ExpectSpecError(R"({"input_shape":[6],"layers":[{"type":"BatchNorm1d","num_features":5}]})",
                  {"layer 0", "\"num_features\""});
  // Kernel bigger than the input, directly and after a layer shrank it.
  ExpectSpecError(R"({"input_shape":[1,4,4],"layers":[{"type":"Conv2d","out_channels":2,"kernel_size":5}]})",
                  {"layer 0", "\"kernel_size\""});
  ExpectSpecError(R"({"input_shape":[1,8,8],"layers":[{"type":"Conv2d","out_channels":2,"kernel_size":3},
                      {"type":"ReLU"},{"type":"MaxPool2d","kernel_size":7}]})",
                  {"layer 2", "\"kernel_size\""});
  ExpectSpecError(R"({"input_shape":[1,8,8],"layers":[{"type":"Conv2d","out_channels":2,"kernel_size":[1,9]}]})",
                  {"layer 0", "\"kernel_size\""});
  // Reshape that does not hold the elements.
  ExpectSpecError(R"({"input_shape":[12],"layers":[{"type":"Reshape","shape":[5,2]}]})", {"layer 0", "\"shape\""});
}

TEST(ModelSpecErrors, AbsurdSizes) {
  ExpectSpecError(R"({"input_shape":[4],"layers":[{"type":"Linear","out_features":1000000000}]})",
                  {"layer 0", "\"out_features\""});
  ExpectSpecError(R"({"input_shape":[1,4,4],"layers":[{"type":"Conv2d","out_channels":1000000000,"kernel_size":1}]})",
                  {"layer 0", "\"out_channels\""});
  // Each layer below the limit, the sum above it: the error names the layer that crosses it.
  ExpectSpecError(R"({"input_shape":[5000],"layers":[{"type":"Linear","out_features":5000},{"type":"ReLU"},
                      {"type":"Linear","out_features":5000}]})",
                  {"layer 2", "parameters"});
  ExpectSpecError(R"({"input_shape":[8192],"layers":[{"type":"Linear","out_features":8192}]})",
                  {"layer 0", std::to_string(kMaxParameters)});
  // Activations too large per sample.
  ExpectSpecError(R"({"input_shape":[1,1024,1024],"layers":[{"type":"Conv2d","out_channels":128,"kernel_size":1}]})",
                  {"layer 0", "elements"});
  ExpectSpecError(R"({"input_shape":[100000000],"layers":[{"type":"Linear","out_features":2}]})", {"\"input_shape\""});
  ExpectSpecError(R"({"input_shape":[65536,65536],"layers":[{"type":"Flatten"}]})", {"\"input_shape\""});
  // Just below the parameter limit is accepted.
  ModelSpec ok = ParseModelSpec(R"({"input_shape":[4999],"layers":[{"type":"Linear","out_features":10000}]})");
  EXPECT_EQ(ok.parameter_count, 4999 * 10000 + 10000);
  EXPECT_LE(ok.parameter_count, kMaxParameters);
}

TEST(ModelSpecErrors, EmptyOrMissingLayers) {
  ExpectSpecError(R"({"input_shape":[4],"layers":[]})", {"\"layers\""});
  ExpectSpecError(R"({"input_shape":[4]})", {"\"layers\""});
  ExpectSpecError(R"({"input_shape":[4],"layers":{"type":"ReLU"}})", {"\"layers\""});
}

TEST(ModelSpecErrors, BadInputShape) {
  for (const char* shape : {"[]", "[0]", "[-1]", "[1.5]", "\"784\"", "[1,2,3,4]", "[[4]]", "null", "784"}) {
    ExpectSpecError(std::string(R"({"input_shape":)") + shape + R"(,"layers":[{"type":"Linear","out_features":2}]})",
                    {"\"input_shape\""});
  }
  ExpectSpecError(R"({"layers":[{"type":"Linear","out_features":2}]})", {"\"input_shape\"", "required"});
}

TEST(ModelSpecErrors, InvalidJson) {
  for (const char* text : {"", "{", "[", "{\"input_shape\":[4],}", "not json", "{'input_shape':[4]}"})
    ExpectSpecError(text, {"JSON"});
  for (const char* text : {"[]", "42", "\"spec\"", "null"}) ExpectSpecError(text, {"JSON object"});
}

TEST(ModelSpecErrors, LastLayerNotOneDimensional) {
  ExpectSpecError(R"({"input_shape":[1,4,4],"layers":[{"type":"Conv2d","out_channels":2,"kernel_size":1}]})",
                  {"last layer", "[2, 4, 4]"});
  ExpectSpecError(R"({"input_shape":[3,5],"layers":[{"type":"Linear","out_features":2}]})", {"last layer"});
  ExpectSpecError(R"({"input_shape":[12],"layers":[{"type":"Reshape","shape":[3,4]}]})", {"last layer"});
}

TEST(ModelSpec, Helpers) {
  EXPECT_EQ(ShapeElements({}), 1);
  EXPECT_EQ(ShapeElements({7}), 7);
  EXPECT_EQ(ShapeElements({2, 3, 4}), 24);
  EXPECT_STREQ(LayerTypeName(LayerType::BatchNorm2d), "BatchNorm2d");
  EXPECT_STREQ(LayerTypeName(LayerType::LeakyReLU), "LeakyReLU");
}

}  // namespace
}  // namespace pg_automl
