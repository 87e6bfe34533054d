#include "pg_automl/train_params.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "pg_automl/errors.h"

namespace pg_automl {
namespace {

using nlohmann::json;

struct OptimizerInfo {
  OptimizerKind kind;
  const char* name;
  double default_lr;
  double default_weight_decay;
  double default_eps;
  std::set<std::string> fields;  // accepted besides optimizer, lr, weight_decay, batch_size
};

const std::vector<OptimizerInfo>& Optimizers() {
  static const std::vector<OptimizerInfo> v = {
      {OptimizerKind::SGD, "sgd", 0.01, 0, 0, {"momentum", "dampening", "nesterov"}},
      {OptimizerKind::Adam, "adam", 1e-3, 0, 1e-8, {"betas", "eps", "amsgrad"}},
      {OptimizerKind::AdamW, "adamw", 1e-3, 1e-2, 1e-8, {"betas", "eps", "amsgrad"}},
      {OptimizerKind::RMSprop, "rmsprop", 1e-2, 0, 1e-8, {"alpha", "eps", "momentum", "centered"}},
      {OptimizerKind::Adagrad, "adagrad", 1e-2, 0, 1e-10, {"lr_decay", "eps"}},
  };
  return v;
}

[[noreturn]] void Fail(const std::string& field, const std::string& what, const std::string& hint = {}) {
  throw Error(ErrorKind::InvalidParameter, "training parameter \"" + field + "\" " + what, {}, hint);
}

double Number(const json& doc, const char* field, double def, double min, double max, bool min_open,
              bool max_open) {
  if (!doc.contains(field)) return def;
  const json& v = doc.at(field);
  if (!v.is_number()) Fail(field, "must be a number");
  double x = v.get<double>();
  bool ok = std::isfinite(x) && (min_open ? x > min : x >= min) && (max_open ? x < max : x <= max);
  if (!ok)
    Fail(field, std::string("must be in ") + (min_open ? "(" : "[") + FormatNumber(min) + ", " + FormatNumber(max) +
                    (max_open ? ")" : "]") + ", not " + v.dump());
  return x;
}

bool Flag(const json& doc, const char* field, bool def) {
  if (!doc.contains(field)) return def;
  if (!doc.at(field).is_boolean()) Fail(field, "must be true or false");
  return doc.at(field).get<bool>();
}

}  // namespace

const char* OptimizerName(OptimizerKind kind) {
  for (const auto& o : Optimizers())
    if (o.kind == kind) return o.name;
  return "?";
}

TrainParams ParseTrainParams(const std::string& json_text) {
  json doc;
  try {
    doc = json_text.empty() ? json::object() : json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorKind::InvalidParameter, "training parameters are not valid JSON", e.what());
  } catch (const json::out_of_range&) {
    // jsonb takes numbers of any size; a double does not.
    throw Error(ErrorKind::InvalidParameter, "training parameters hold a number out of range");
  }
  if (!doc.is_object()) throw Error(ErrorKind::InvalidParameter, "training parameters must be a JSON object");
  TrainParams p;
  std::string name = "adam";
  if (doc.contains("optimizer")) {
    if (!doc.at("optimizer").is_string()) Fail("optimizer", "must be a string");
    name = doc.at("optimizer").get<std::string>();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  }
  const OptimizerInfo* info = nullptr;
  for (const auto& o : Optimizers())
    if (name == o.name) info = &o;
  if (!info)
    Fail("optimizer", "names an unrecognized optimizer \"" + doc.at("optimizer").get<std::string>() + "\"",
         "Use one of sgd, adam, adamw, rmsprop, adagrad.");
  p.optimizer = info->kind;
  static const std::set<std::string> common = {"optimizer", "lr", "weight_decay", "batch_size"};
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (common.count(it.key()) || info->fields.count(it.key())) continue;
    std::string accepted = "lr, weight_decay, batch_size";
    for (const auto& f : info->fields) accepted += ", " + f;
    Fail(it.key(), "is not recognized for optimizer " + std::string(info->name),
         "Parameters of " + std::string(info->name) + ": " + accepted + ".");
  }
  p.lr = Number(doc, "lr", info->default_lr, 0, 10, true, false);
  p.weight_decay = Number(doc, "weight_decay", info->default_weight_decay, 0, 1, false, false);
  p.eps = Number(doc, "eps", info->default_eps, 0, 1, true, false);
  if (doc.contains("batch_size")) {
    const json& b = doc.at("batch_size");
    if (!b.is_number_integer() || b.get<int64_t>() < 1 || b.get<int64_t>() > 1'000'000)
      Fail("batch_size", "must be an integer between 1 and 1000000");
    p.batch_size = b.get<int64_t>();
  }
  switch (p.optimizer) {
    case OptimizerKind::SGD:
      p.momentum = Number(doc, "momentum", 0, 0, 1, false, true);
      p.dampening = Number(doc, "dampening", 0, 0, 1, false, false);
      p.nesterov = Flag(doc, "nesterov", false);
      if (p.nesterov && (p.momentum == 0 || p.dampening != 0))
        Fail("nesterov", "requires a positive momentum and zero dampening");
      break;
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      if (doc.contains("betas")) {
        const json& b = doc.at("betas");
        if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number())
          Fail("betas", "must be a pair of numbers in [0, 1)");
        p.beta1 = b[0].get<double>();
        p.beta2 = b[1].get<double>();
        if (!(p.beta1 >= 0 && p.beta1 < 1 && p.beta2 >= 0 && p.beta2 < 1))
          Fail("betas", "must be a pair of numbers in [0, 1)");
      }
      p.amsgrad = Flag(doc, "amsgrad", false);
      break;
    case OptimizerKind::RMSprop:
      p.alpha = Number(doc, "alpha", 0.99, 0, 1, false, false);
      p.momentum = Number(doc, "momentum", 0, 0, 1, false, true);
      p.centered = Flag(doc, "centered", false);
      break;
    case OptimizerKind::Adagrad:
      p.lr_decay = Number(doc, "lr_decay", 0, 0, 1e6, false, false);
      break;
  }
  json canon = {{"optimizer", info->name}, {"lr", p.lr}, {"weight_decay", p.weight_decay}};
  if (p.batch_size) canon["batch_size"] = p.batch_size;
  switch (p.optimizer) {
    case OptimizerKind::SGD:
      canon.update({{"momentum", p.momentum}, {"dampening", p.dampening}, {"nesterov", p.nesterov}});
      break;
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      canon.update({{"betas", {p.beta1, p.beta2}}, {"eps", p.eps}, {"amsgrad", p.amsgrad}});
      break;
    case OptimizerKind::RMSprop:
      canon.update({{"alpha", p.alpha}, {"eps", p.eps}, {"momentum", p.momentum}, {"centered", p.centered}});
      break;
    case OptimizerKind::Adagrad:
      canon.update({{"lr_decay", p.lr_decay}, {"eps", p.eps}});
      break;
  }
  p.canonical_json = canon.dump();
  return p;
}

}  // namespace pg_automl
