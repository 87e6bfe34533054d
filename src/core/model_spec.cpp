#include "pg_automl/model_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "pg_automl/errors.h"

namespace pg_automl {
namespace {

using nlohmann::json;

struct TypeInfo {
  LayerType type;
  const char* name;
  std::vector<std::string> fields;  // accepted besides "type"
};

const std::vector<TypeInfo>& Types() {
  static const std::vector<TypeInfo> types = {
      {LayerType::Linear, "Linear", {"out_features", "in_features", "bias"}},
      {LayerType::Conv2d, "Conv2d",
       {"out_channels", "in_channels", "kernel_size", "stride", "padding", "bias"}},
      {LayerType::MaxPool2d, "MaxPool2d", {"kernel_size", "stride", "padding"}},
      {LayerType::AvgPool2d, "AvgPool2d", {"kernel_size", "stride", "padding"}},
      {LayerType::BatchNorm1d, "BatchNorm1d", {"num_features", "eps", "momentum"}},
      {LayerType::BatchNorm2d, "BatchNorm2d", {"num_features", "eps", "momentum"}},
      {LayerType::Dropout, "Dropout", {"p"}},
      {LayerType::Flatten, "Flatten", {}},
      {LayerType::Reshape, "Reshape", {"shape"}},
      {LayerType::ReLU, "ReLU", {}},
      {LayerType::LeakyReLU, "LeakyReLU", {"negative_slope"}},
      {LayerType::GELU, "GELU", {}},
      {LayerType::Tanh, "Tanh", {}},
      {LayerType::Sigmoid, "Sigmoid", {}},
  };
  return types;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string ShapeText(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

// Reads the fields of one layer; every error names the layer and the field.
class LayerReader {
 public:
  LayerReader(const json& obj, size_t index, const char* type_name)
      : obj_(obj), prefix_("layer " + std::to_string(index) + " (" + type_name + ")") {}

  [[noreturn]] void Fail(const std::string& field, const std::string& what,
                         const std::string& hint = {}) const {
    throw Error(ErrorKind::InvalidParameter,
                prefix_ + ": field \"" + field + "\" " + what, {}, hint);
  }
  [[noreturn]] void FailShape(const std::string& what, const std::string& hint = {}) const {
    throw Error(ErrorKind::InvalidParameter, prefix_ + ": " + what, {}, hint);
  }

  bool Has(const char* field) const { return obj_.contains(field); }

  int64_t Int(const char* field, int64_t min, int64_t max, std::optional<int64_t> def) const {
    if (!obj_.contains(field)) {
      if (def) return *def;
      Fail(field, "is required");
    }
    const json& v = obj_.at(field);
    if (!v.is_number_integer()) Fail(field, "must be an integer");
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(max))
      Fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " + v.dump());
    int64_t x = v.get<int64_t>();
    if (x < min || x > max)
      Fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", not " + std::to_string(x));
    return x;
  }

  // An int or a pair of ints (height, width), as PyTorch accepts.
  void Pair(const char* field, int64_t min, int64_t max, const int64_t* def, int64_t out[2]) const {
    if (!obj_.contains(field)) {
      if (!def) Fail(field, "is required");
      out[0] = def[0];
      out[1] = def[1];
      return;
    }
    const json& v = obj_.at(field);
    auto check = [&](const json& e) {
      if (!e.is_number_integer() || (e.is_number_unsigned() && e.get<uint64_t>() > uint64_t(max)))
        Fail(field, "must be an integer or a pair of integers between " + std::to_string(min) + " and " +
                        std::to_string(max));
      int64_t x = e.get<int64_t>();
      if (x < min || x > max)
        Fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", not " + std::to_string(x));
      return x;
    };
    if (v.is_array()) {
      if (v.size() != 2) Fail(field, "must be an integer or a pair of integers");
      out[0] = check(v[0]);
      out[1] = check(v[1]);
    } else {
      out[0] = out[1] = check(v);
    }
  }

  double Real(const char* field, double min, double max, bool max_open, double def) const {
    if (!obj_.contains(field)) return def;
    const json& v = obj_.at(field);
    if (!v.is_number()) Fail(field, "must be a number");
    double x = v.get<double>();
    if (!std::isfinite(x) || x < min || x > max || (max_open && x == max))
      Fail(field, "must be in [" + FormatNumber(min) + ", " + FormatNumber(max) + (max_open ? ")" : "]") + ", not " + v.dump());
    return x;
  }

  bool Bool(const char* field, bool def) const {
    if (!obj_.contains(field)) return def;
    if (!obj_.at(field).is_boolean()) Fail(field, "must be true or false");
    return obj_.at(field).get<bool>();
  }

  const json& Raw(const char* field) const { return obj_.at(field); }

 private:
  const json& obj_;
  std::string prefix_;
};

void CheckElements(const LayerReader& r, const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d <= 0)
      r.FailShape("produces an empty output of shape " + ShapeText(s),
                  "Use a smaller kernel or stride, or a larger input.");
    if (n > kMaxActivationElements / d) n = kMaxActivationElements + 1;
    else n *= d;
  }
  if (n > kMaxActivationElements)
    r.FailShape("output of shape " + ShapeText(s) + " exceeds " +
                    std::to_string(kMaxActivationElements) + " elements per sample");
}

// Output size of a convolution or pooling window along one dimension.
int64_t Window(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

void RequireRank(const LayerReader& r, const Shape& in, size_t rank, const char* what) {
  if (in.size() != rank)
    r.FailShape("expects " + std::string(what) + " input but receives shape " + ShapeText(in),
                "Declare \"input_shape\" accordingly or add a Reshape or Flatten layer before it.");
}

void ParseLayer(const json& obj, size_t index, LayerSpec& L, const Shape& in) {
  if (!obj.is_object())
    throw Error(ErrorKind::InvalidParameter, "layer " + std::to_string(index) + ": must be a JSON object");
  if (!obj.contains("type") || !obj.at("type").is_string())
    throw Error(ErrorKind::InvalidParameter,
                "layer " + std::to_string(index) + ": field \"type\" is required and must be a string");
  std::string given = obj.at("type").get<std::string>();
  const TypeInfo* info = nullptr;
  std::vector<std::string> names;
  for (const auto& t : Types()) {
    names.push_back(t.name);
    if (Lower(t.name) == Lower(given)) info = &t;
  }
  if (!info)
    throw Error(ErrorKind::InvalidParameter,
                "layer " + std::to_string(index) + ": unrecognized layer type \"" + given + "\"", {},
                "Supported types: " + Join(names) + ".");
  L.type = info->type;
  LayerReader r(obj, index, info->name);
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() == "type" || it.key() == "output_shape") continue;
    if (std::find(info->fields.begin(), info->fields.end(), it.key()) == info->fields.end())
      r.Fail(it.key(), "is not recognized",
             info->fields.empty() ? "This layer takes no fields besides \"type\"."
                                  : "Fields of this layer: " + Join(info->fields) + ".");
  }
  L.in_shape = in;
  Shape out = in;
  switch (L.type) {
    case LayerType::Linear: {
      if (in.empty()) r.FailShape("receives an empty shape");
      int64_t fin = in.back();
      if (r.Has("in_features") && r.Int("in_features", 1, kMaxWidth, {}) != fin)
        r.Fail("in_features", "is " + std::to_string(r.Raw("in_features").get<int64_t>()) +
                                  " but the layer receives shape " + ShapeText(in));
      L.out = r.Int("out_features", 1, kMaxWidth, {});
      L.bias = r.Bool("bias", true);
      out.back() = L.out;
      L.parameters = fin * L.out + (L.bias ? L.out : 0);
      break;
    }
    case LayerType::Conv2d: {
      RequireRank(r, in, 3, "a [channels, height, width]");
      if (r.Has("in_channels") && r.Int("in_channels", 1, kMaxWidth, {}) != in[0])
        r.Fail("in_channels", "is " + std::to_string(r.Raw("in_channels").get<int64_t>()) +
                                  " but the layer receives shape " + ShapeText(in));
      L.out = r.Int("out_channels", 1, 65536, {});
      const int64_t one[2] = {1, 1}, zero[2] = {0, 0};
      r.Pair("kernel_size", 1, 1024, nullptr, L.kernel);
      r.Pair("stride", 1, 1024, one, L.stride);
      r.Pair("padding", 0, 1024, zero, L.padding);
      L.bias = r.Bool("bias", true);
      out = {L.out, Window(in[1], L.kernel[0], L.stride[0], L.padding[0]),
             Window(in[2], L.kernel[1], L.stride[1], L.padding[1])};
      if (in[1] + 2 * L.padding[0] < L.kernel[0] || in[2] + 2 * L.padding[1] < L.kernel[1])
        r.Fail("kernel_size", "is larger than the padded input " + ShapeText(in));
      L.parameters = L.out * in[0] * L.kernel[0] * L.kernel[1] + (L.bias ? L.out : 0);
      break;
    }
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d: {
      RequireRank(r, in, 3, "a [channels, height, width]");
      r.Pair("kernel_size", 1, 1024, nullptr, L.kernel);
      r.Pair("stride", 1, 1024, L.kernel, L.stride);
      const int64_t zero[2] = {0, 0};
      r.Pair("padding", 0, 1024, zero, L.padding);
      // PyTorch's own rule: padding at most half the kernel.
      if (2 * L.padding[0] > L.kernel[0] || 2 * L.padding[1] > L.kernel[1])
        r.Fail("padding", "must be at most half of kernel_size");
      if (in[1] + 2 * L.padding[0] < L.kernel[0] || in[2] + 2 * L.padding[1] < L.kernel[1])
        r.Fail("kernel_size", "is larger than the padded input " + ShapeText(in));
      out = {in[0], Window(in[1], L.kernel[0], L.stride[0], L.padding[0]),
             Window(in[2], L.kernel[1], L.stride[1], L.padding[1])};
      break;
    }
    case LayerType::BatchNorm1d:
    case LayerType::BatchNorm2d: {
      bool two_d = L.type == LayerType::BatchNorm2d;
      if (two_d) RequireRank(r, in, 3, "a [channels, height, width]");
      else if (in.size() != 1 && in.size() != 2)
        r.FailShape("expects a [features] or [channels, length] input but receives shape " + ShapeText(in));
      if (r.Has("num_features") && r.Int("num_features", 1, kMaxWidth, {}) != in[0])
        r.Fail("num_features", "is " + std::to_string(r.Raw("num_features").get<int64_t>()) +
                                   " but the layer receives shape " + ShapeText(in));
      L.eps = r.Real("eps", 0.0, 1.0, false, 1e-5);
      if (L.eps <= 0) r.Fail("eps", "must be positive");
      L.momentum = r.Real("momentum", 0.0, 1.0, false, 0.1);
      L.parameters = 2 * in[0];
      break;
    }
    case LayerType::Dropout:
      L.p = r.Real("p", 0.0, 1.0, true, 0.5);
      break;
    case LayerType::Flatten:
      out = {ShapeElements(in)};
      break;
    case LayerType::Reshape: {
      if (!r.Has("shape")) r.Fail("shape", "is required");
      const json& s = r.Raw("shape");
      if (!s.is_array() || s.empty() || s.size() > 4)
        r.Fail("shape", "must be an array of 1 to 4 positive integers");
      for (const auto& d : s) {
        if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > kMaxActivationElements)
          r.Fail("shape", "must be an array of 1 to 4 positive integers");
        L.target.push_back(d.get<int64_t>());
      }
      if (ShapeElements(L.target) != ShapeElements(in))
        r.Fail("shape", ShapeText(L.target) + " does not hold the " + std::to_string(ShapeElements(in)) +
                            " elements of the input " + ShapeText(in));
      out = L.target;
      break;
    }
    case LayerType::LeakyReLU:
      L.negative_slope = r.Real("negative_slope", -1e6, 1e6, false, 0.01);
      break;
    case LayerType::ReLU:
    case LayerType::GELU:
    case LayerType::Tanh:
    case LayerType::Sigmoid:
      break;
  }
  CheckElements(r, out);
  L.out_shape = out;
  // An optional "output_shape" asserts the computed shape (canonical specs
  // carry it, so a reader sees every layer's shape).
  if (r.Has("output_shape")) {
    const json& s = r.Raw("output_shape");
    if (!s.is_array() || s.size() != out.size()) r.Fail("output_shape", "is not " + ShapeText(out));
    for (size_t i = 0; i < out.size(); ++i)
      if (!s[i].is_number_integer() || s[i].get<int64_t>() != out[i])
        r.Fail("output_shape", "is not " + ShapeText(out));
  }
}

json LayerJson(const LayerSpec& L) {
  json j = {{"type", LayerTypeName(L.type)}};
  auto pair = [](const int64_t v[2]) { return json::array({v[0], v[1]}); };
  switch (L.type) {
    case LayerType::Linear:
      j["in_features"] = L.in_shape.back();
      j["out_features"] = L.out;
      j["bias"] = L.bias;
      break;
    case LayerType::Conv2d:
      j["in_channels"] = L.in_shape[0];
      j["out_channels"] = L.out;
      j["bias"] = L.bias;
      [[fallthrough]];
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d:
      j["kernel_size"] = pair(L.kernel);
      j["stride"] = pair(L.stride);
      j["padding"] = pair(L.padding);
      break;
    case LayerType::BatchNorm1d:
    case LayerType::BatchNorm2d:
      j["num_features"] = L.in_shape[0];
      j["eps"] = L.eps;
      j["momentum"] = L.momentum;
      break;
    case LayerType::Dropout: j["p"] = L.p; break;
    case LayerType::Reshape: j["shape"] = L.target; break;
    case LayerType::LeakyReLU: j["negative_slope"] = L.negative_slope; break;
    default: break;
  }
  j["output_shape"] = L.out_shape;
  return j;
}

}  // namespace

const char* LayerTypeName(LayerType type) {
  for (const auto& t : Types())
    if (t.type == type) return t.name;
  return "?";
}

int64_t ShapeElements(const Shape& shape) {
  // Saturates instead of overflowing: callers compare against limits.
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d <= 0) return 0;
    if (n > INT64_MAX / d) return INT64_MAX;
    n *= d;
  }
  return n;
}

namespace {
int64_t SaturatingAdd(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }
}  // namespace

ModelSpec ParseModelSpec(const std::string& json_text) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorKind::InvalidParameter, "model spec is not valid JSON", e.what());
  } catch (const json::out_of_range&) {
    // jsonb takes numbers of any size; a double does not.
    throw Error(ErrorKind::InvalidParameter, "model spec holds a number out of range");
  }
  auto fail = [](const std::string& msg, const std::string& hint = {}) {
    throw Error(ErrorKind::InvalidParameter, "model spec: " + msg, {}, hint);
  };
  if (!doc.is_object()) fail("must be a JSON object with \"input_shape\" and \"layers\"");
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "input_shape" && it.key() != "layers" && it.key() != "name" && it.key() != "description")
      fail("field \"" + it.key() + "\" is not recognized",
           "A spec holds \"input_shape\", \"layers\" and optionally \"name\" and \"description\".");
  ModelSpec spec;
  if (!doc.contains("input_shape")) fail("field \"input_shape\" is required", "For 28x28 grey images use [1, 28, 28] or [784].");
  const json& shape = doc.at("input_shape");
  if (!shape.is_array() || shape.empty() || shape.size() > 3)
    fail("field \"input_shape\" must be an array of 1 to 3 positive integers");
  for (const auto& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > kMaxActivationElements)
      fail("field \"input_shape\" must be an array of 1 to 3 positive integers");
    spec.input_shape.push_back(d.get<int64_t>());
  }
  if (ShapeElements(spec.input_shape) > kMaxActivationElements)
    fail("field \"input_shape\" describes more than " + std::to_string(kMaxActivationElements) + " elements");
  if (!doc.contains("layers") || !doc.at("layers").is_array() || doc.at("layers").empty())
    fail("field \"layers\" must be a non-empty array");
  const json& layers = doc.at("layers");
  if (layers.size() > 1000) fail("field \"layers\" holds more than 1000 layers");
  Shape current = spec.input_shape;
  spec.activation_elements = ShapeElements(current);
  json canon_layers = json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerSpec L;
    ParseLayer(layers[i], i, L, current);
    current = L.out_shape;
    spec.activation_elements = SaturatingAdd(spec.activation_elements, ShapeElements(current));
    // A convolution also unfolds its input (im2col): channels x kernel
    // elements for every output position.
    if (L.type == LayerType::Conv2d)
      spec.activation_elements = SaturatingAdd(
          spec.activation_elements,
          ShapeElements({L.in_shape[0], L.kernel[0], L.kernel[1], L.out_shape[1], L.out_shape[2]}));
    spec.parameter_count += L.parameters;
    if (spec.parameter_count > kMaxParameters)
      throw Error(ErrorKind::InvalidParameter,
                  "layer " + std::to_string(i) + " (" + LayerTypeName(L.type) +
                      "): the model exceeds " + std::to_string(kMaxParameters) + " parameters",
                  {}, "Use fewer or narrower layers.");
    canon_layers.push_back(LayerJson(L));
    spec.layers.push_back(std::move(L));
  }
  if (current.size() != 1)
    fail("the last layer produces shape " + ShapeText(current) + ", not a vector of outputs",
         "End the model with Flatten and Linear layers.");
  spec.output_shape = current;
  json canon = {{"input_shape", spec.input_shape}, {"layers", canon_layers}};
  spec.canonical_json = canon.dump();
  return spec;
}

}  // namespace pg_automl
