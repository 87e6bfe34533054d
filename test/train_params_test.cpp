// Training parameters: defaults per optimizer, canonical JSON, and strict
// rejection of anything misspelt, mistyped, out of range or inapplicable.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pg_automl/errors.h"
#include "pg_automl/train_params.h"
#include "test_util.h"

namespace pg_automl {
namespace {

using nlohmann::json;
using testing_util::ThrowsError;

TEST(TrainParams, EmptyMeansAdamDefaults) {
  for (const char* text : {"", "{}", "  { }  "}) {
    SCOPED_TRACE(text);
    TrainParams p = ParseTrainParams(text);
    EXPECT_EQ(p.optimizer, OptimizerKind::Adam);
    EXPECT_DOUBLE_EQ(p.lr, 1e-3);
    EXPECT_DOUBLE_EQ(p.beta1, 0.9);
    EXPECT_DOUBLE_EQ(p.beta2, 0.999);
    EXPECT_DOUBLE_EQ(p.eps, 1e-8);
    EXPECT_DOUBLE_EQ(p.weight_decay, 0);
    EXPECT_FALSE(p.amsgrad);
    EXPECT_EQ(p.batch_size, 0);
  }
}

TEST(TrainParams, DefaultsPerOptimizer) {
  TrainParams sgd = ParseTrainParams(R"({"optimizer":"sgd"})");
  EXPECT_EQ(sgd.optimizer, OptimizerKind::SGD);
  EXPECT_DOUBLE_EQ(sgd.lr, 0.01);
  EXPECT_DOUBLE_EQ(sgd.momentum, 0);
  EXPECT_DOUBLE_EQ(sgd.dampening, 0);
  EXPECT_FALSE(sgd.nesterov);
  EXPECT_DOUBLE_EQ(sgd.weight_decay, 0);

  TrainParams adam = ParseTrainParams(R"({"optimizer":"adam"})");
  EXPECT_EQ(adam.optimizer, OptimizerKind::Adam);
  EXPECT_DOUBLE_EQ(adam.lr, 1e-3);
  EXPECT_DOUBLE_EQ(adam.weight_decay, 0);
  EXPECT_DOUBLE_EQ(adam.eps, 1e-8);

  TrainParams adamw = ParseTrainParams(R"({"optimizer":"adamw"})");
  EXPECT_EQ(adamw.optimizer, OptimizerKind::AdamW);
  EXPECT_DOUBLE_EQ(adamw.lr, 1e-3);
  EXPECT_DOUBLE_EQ(adamw.weight_decay, 1e-2);  // PyTorch's AdamW default
  EXPECT_DOUBLE_EQ(adamw.beta1, 0.9);
  EXPECT_DOUBLE_EQ(adamw.beta2, 0.999);
  EXPECT_DOUBLE_EQ(adamw.eps, 1e-8);
  EXPECT_FALSE(adamw.amsgrad);

  TrainParams rms = ParseTrainParams(R"({"optimizer":"rmsprop"})");
  EXPECT_EQ(rms.optimizer, OptimizerKind::RMSprop);
  EXPECT_DOUBLE_EQ(rms.lr, 1e-2);
  EXPECT_DOUBLE_EQ(rms.alpha, 0.99);
  EXPECT_DOUBLE_EQ(rms.eps, 1e-8);
  EXPECT_DOUBLE_EQ(rms.momentum, 0);
  EXPECT_FALSE(rms.centered);

  TrainParams ada = ParseTrainParams(R"({"optimizer":"adagrad"})");
  EXPECT_EQ(ada.optimizer, OptimizerKind::Adagrad);
  EXPECT_DOUBLE_EQ(ada.lr, 1e-2);
  EXPECT_DOUBLE_EQ(ada.eps, 1e-10);
  EXPECT_DOUBLE_EQ(ada.lr_decay, 0);
}

TEST(TrainParams, EveryOptimizerNameAnyCase) {
  struct Case {
    const char* name;
    OptimizerKind kind;
  } cases[] = {{"sgd", OptimizerKind::SGD},         {"SGD", OptimizerKind::SGD},
               {"adam", OptimizerKind::Adam},       {"Adam", OptimizerKind::Adam},
               {"adamw", OptimizerKind::AdamW},     {"AdamW", OptimizerKind::AdamW},
               {"rmsprop", OptimizerKind::RMSprop}, {"RMSprop", OptimizerKind::RMSprop},
               {"adagrad", OptimizerKind::Adagrad}, {"ADAGRAD", OptimizerKind::Adagrad}};
  for (const auto& c : cases) {
    TrainParams p = ParseTrainParams(std::string(R"({"optimizer":")") + c.name + "\"}");
    EXPECT_EQ(p.optimizer, c.kind) << c.name;
    // The canonical name is the lower-case one.
    EXPECT_EQ(json::parse(p.canonical_json).at("optimizer"), OptimizerName(c.kind)) << c.name;
  }
  EXPECT_STREQ(OptimizerName(OptimizerKind::SGD), "sgd");
  EXPECT_STREQ(OptimizerName(OptimizerKind::Adam), "adam");
  EXPECT_STREQ(OptimizerName(OptimizerKind::AdamW), "adamw");
  EXPECT_STREQ(OptimizerName(OptimizerKind::RMSprop), "rmsprop");
  EXPECT_STREQ(OptimizerName(OptimizerKind::Adagrad), "adagrad");
}

TEST(TrainParams, ExplicitValuesAreKept) {
  TrainParams sgd = ParseTrainParams(
      R"({"optimizer":"sgd","lr":0.1,"momentum":0.9,"nesterov":true,"weight_decay":0.0005,"batch_size":64})");
  EXPECT_DOUBLE_EQ(sgd.lr, 0.1);
  EXPECT_DOUBLE_EQ(sgd.momentum, 0.9);
  EXPECT_TRUE(sgd.nesterov);
  EXPECT_DOUBLE_EQ(sgd.weight_decay, 0.0005);
  EXPECT_EQ(sgd.batch_size, 64);
  TrainParams adam = ParseTrainParams(R"({"optimizer":"adam","betas":[0.5,0.9],"eps":1e-6,"amsgrad":true})");
  EXPECT_DOUBLE_EQ(adam.beta1, 0.5);
  EXPECT_DOUBLE_EQ(adam.beta2, 0.9);
  EXPECT_DOUBLE_EQ(adam.eps, 1e-6);
  EXPECT_TRUE(adam.amsgrad);
  TrainParams rms = ParseTrainParams(R"({"optimizer":"rmsprop","alpha":0.9,"momentum":0.5,"centered":true})");
  EXPECT_DOUBLE_EQ(rms.alpha, 0.9);
  EXPECT_DOUBLE_EQ(rms.momentum, 0.5);
  EXPECT_TRUE(rms.centered);
  TrainParams ada = ParseTrainParams(R"({"optimizer":"adagrad","lr_decay":0.01,"lr":1})");
  EXPECT_DOUBLE_EQ(ada.lr_decay, 0.01);
  EXPECT_DOUBLE_EQ(ada.lr, 1);
  // Integers are numbers too.
  EXPECT_DOUBLE_EQ(ParseTrainParams(R"({"optimizer":"sgd","lr":1})").lr, 1.0);
}

TEST(TrainParams, CanonicalJson) {
  json sgd = json::parse(ParseTrainParams(R"({"optimizer":"SGD","momentum":0.9})").canonical_json);
  EXPECT_EQ(sgd, json::parse(R"({"optimizer":"sgd","lr":0.01,"weight_decay":0,"momentum":0.9,"dampening":0,
                                 "nesterov":false})"))
      << sgd.dump();
  json adam = json::parse(ParseTrainParams(R"({"batch_size":32})").canonical_json);
  EXPECT_EQ(adam, json::parse(R"({"optimizer":"adam","lr":0.001,"weight_decay":0,"batch_size":32,
                                  "betas":[0.9,0.999],"eps":1e-8,"amsgrad":false})"))
      << adam.dump();
  json rms = json::parse(ParseTrainParams(R"({"optimizer":"rmsprop"})").canonical_json);
  EXPECT_EQ(rms, json::parse(R"({"optimizer":"rmsprop","lr":0.01,"weight_decay":0,"alpha":0.99,"eps":1e-8,
                                 "momentum":0,"centered":false})"))
      << rms.dump();
  json ada = json::parse(ParseTrainParams(R"({"optimizer":"adagrad"})").canonical_json);
  EXPECT_EQ(ada, json::parse(R"({"optimizer":"adagrad","lr":0.01,"weight_decay":0,"lr_decay":0,"eps":1e-10})"))
      << ada.dump();

  // The canonical form is a fixed point and carries every setting.
  for (const char* text :
       {"", R"({"optimizer":"sgd","lr":0.2,"momentum":0.8,"dampening":0.1,"batch_size":7})",
        R"({"optimizer":"sgd","momentum":0.9,"nesterov":true})",
        R"({"optimizer":"adamw","betas":[0.8,0.95],"amsgrad":true,"weight_decay":0.1})",
        R"({"optimizer":"rmsprop","centered":true,"momentum":0.3,"alpha":0.5,"eps":0.001})",
        R"({"optimizer":"adagrad","lr_decay":0.5,"eps":1e-6})"}) {
    SCOPED_TRACE(text);
    TrainParams a = ParseTrainParams(text);
    TrainParams b = ParseTrainParams(a.canonical_json);
    EXPECT_EQ(b.canonical_json, a.canonical_json);
    EXPECT_EQ(b.optimizer, a.optimizer);
    EXPECT_EQ(b.lr, a.lr);
    EXPECT_EQ(b.weight_decay, a.weight_decay);
    EXPECT_EQ(b.momentum, a.momentum);
    EXPECT_EQ(b.dampening, a.dampening);
    EXPECT_EQ(b.nesterov, a.nesterov);
    EXPECT_EQ(b.beta1, a.beta1);
    EXPECT_EQ(b.beta2, a.beta2);
    EXPECT_EQ(b.eps, a.eps);
    EXPECT_EQ(b.amsgrad, a.amsgrad);
    EXPECT_EQ(b.alpha, a.alpha);
    EXPECT_EQ(b.centered, a.centered);
    EXPECT_EQ(b.lr_decay, a.lr_decay);
    EXPECT_EQ(b.batch_size, a.batch_size);
  }
  // Key order and spelling do not matter.
  EXPECT_EQ(ParseTrainParams(R"({"lr":0.5,"optimizer":"sgd"})").canonical_json,
            ParseTrainParams(R"({"optimizer":"SGD","momentum":0,"lr":0.5})").canonical_json);
}

void ExpectParamsError(const std::string& text, std::initializer_list<std::string> parts) {
  EXPECT_TRUE(ThrowsError([&] { ParseTrainParams(text); }, ErrorKind::InvalidParameter, parts)) << "params: " << text;
}

TEST(TrainParamsErrors, LearningRate) {
  ExpectParamsError(R"({"lr":-0.1})", {"\"lr\""});
  ExpectParamsError(R"({"lr":0})", {"\"lr\""});
  ExpectParamsError(R"({"lr":100})", {"\"lr\""});
  ExpectParamsError(R"({"lr":"0.1"})", {"\"lr\"", "number"});
  ExpectParamsError(R"({"lr":null})", {"\"lr\""});
  ExpectParamsError(R"({"optimizer":"sgd","lr":-1})", {"\"lr\""});
}

TEST(TrainParamsErrors, UnknownOptimizer) {
  ExpectParamsError(R"({"optimizer":"adamax"})", {"\"optimizer\"", "adamax"});
  ExpectParamsError(R"({"optimizer":""})", {"\"optimizer\""});
  ExpectParamsError(R"({"optimizer":3})", {"\"optimizer\"", "string"});
  ExpectParamsError(R"({"optimizer":["sgd"]})", {"\"optimizer\""});
}

TEST(TrainParamsErrors, UnknownKey) {
  ExpectParamsError(R"({"learning_rate":0.01})", {"\"learning_rate\"", "not recognized"});
  ExpectParamsError(R"({"optimizer":"sgd","lr":0.1,"momentun":0.9})", {"\"momentun\""});
  ExpectParamsError(R"({"epochs":3})", {"\"epochs\""});
}

TEST(TrainParamsErrors, Betas) {
  ExpectParamsError(R"({"betas":[0.9,1.0]})", {"\"betas\""});
  ExpectParamsError(R"({"betas":[1.2,0.9]})", {"\"betas\""});
  ExpectParamsError(R"({"betas":[-0.1,0.9]})", {"\"betas\""});
  ExpectParamsError(R"({"betas":[0.9]})", {"\"betas\""});
  ExpectParamsError(R"({"betas":[0.9,0.99,0.999]})", {"\"betas\""});
  ExpectParamsError(R"({"betas":0.9})", {"\"betas\""});
  ExpectParamsError(R"({"betas":["0.9","0.99"]})", {"\"betas\""});
  ExpectParamsError(R"({"optimizer":"adamw","betas":[0.9,1]})", {"\"betas\""});
}

TEST(TrainParamsErrors, NesterovNeedsMomentumWithoutDampening) {
  ExpectParamsError(R"({"optimizer":"sgd","nesterov":true})", {"\"nesterov\"", "momentum"});
  ExpectParamsError(R"({"optimizer":"sgd","nesterov":true,"momentum":0.9,"dampening":0.1})", {"\"nesterov\""});
  EXPECT_NO_THROW(ParseTrainParams(R"({"optimizer":"sgd","nesterov":true,"momentum":0.9})"));
  EXPECT_NO_THROW(ParseTrainParams(R"({"optimizer":"sgd","nesterov":false})"));
}

TEST(TrainParamsErrors, BatchSize) {
  ExpectParamsError(R"({"batch_size":0})", {"\"batch_size\""});
  ExpectParamsError(R"({"batch_size":-8})", {"\"batch_size\""});
  ExpectParamsError(R"({"batch_size":12.5})", {"\"batch_size\""});
  ExpectParamsError(R"({"batch_size":"32"})", {"\"batch_size\""});
  ExpectParamsError(R"({"batch_size":1000001})", {"\"batch_size\""});
  EXPECT_EQ(ParseTrainParams(R"({"batch_size":1})").batch_size, 1);
  EXPECT_EQ(ParseTrainParams(R"({"batch_size":1000000})").batch_size, 1000000);
}

TEST(TrainParamsErrors, WrongTypes) {
  ExpectParamsError(R"({"optimizer":"adam","amsgrad":"yes"})", {"\"amsgrad\""});
  ExpectParamsError(R"({"optimizer":"adam","amsgrad":1})", {"\"amsgrad\""});
  ExpectParamsError(R"({"optimizer":"sgd","momentum":"0.9"})", {"\"momentum\""});
  ExpectParamsError(R"({"optimizer":"sgd","nesterov":"true"})", {"\"nesterov\""});
  ExpectParamsError(R"({"optimizer":"rmsprop","centered":0})", {"\"centered\""});
  ExpectParamsError(R"({"weight_decay":[0.1]})", {"\"weight_decay\""});
  ExpectParamsError(R"({"eps":false})", {"\"eps\""});
}

TEST(TrainParamsErrors, OutOfRange) {
  ExpectParamsError(R"({"weight_decay":-0.1})", {"\"weight_decay\""});
  ExpectParamsError(R"({"weight_decay":2})", {"\"weight_decay\""});
  ExpectParamsError(R"({"eps":0})", {"\"eps\""});
  ExpectParamsError(R"({"optimizer":"sgd","momentum":1})", {"\"momentum\""});
  ExpectParamsError(R"({"optimizer":"sgd","momentum":-0.5})", {"\"momentum\""});
  ExpectParamsError(R"({"optimizer":"sgd","dampening":1.5})", {"\"dampening\""});
  ExpectParamsError(R"({"optimizer":"rmsprop","alpha":1.5})", {"\"alpha\""});
  ExpectParamsError(R"({"optimizer":"rmsprop","momentum":1})", {"\"momentum\""});
  ExpectParamsError(R"({"optimizer":"adagrad","lr_decay":-1})", {"\"lr_decay\""});
}

TEST(TrainParamsErrors, FieldOfAnotherOptimizer) {
  ExpectParamsError(R"({"optimizer":"sgd","betas":[0.9,0.999]})", {"\"betas\"", "sgd"});
  ExpectParamsError(R"({"optimizer":"sgd","eps":1e-8})", {"\"eps\"", "sgd"});
  ExpectParamsError(R"({"optimizer":"adam","momentum":0.9})", {"\"momentum\"", "adam"});
  ExpectParamsError(R"({"optimizer":"adam","nesterov":false})", {"\"nesterov\""});
  ExpectParamsError(R"({"optimizer":"adamw","centered":true})", {"\"centered\""});
  ExpectParamsError(R"({"optimizer":"rmsprop","betas":[0.9,0.999]})", {"\"betas\""});
  ExpectParamsError(R"({"optimizer":"adagrad","momentum":0.9})", {"\"momentum\"", "adagrad"});
  ExpectParamsError(R"({"optimizer":"adagrad","amsgrad":true})", {"\"amsgrad\""});
  // Without "optimizer" the parameters are adam's.
  ExpectParamsError(R"({"momentum":0.9})", {"\"momentum\"", "adam"});
}

TEST(TrainParamsErrors, NotJsonObject) {
  for (const char* text : {"{", "lr=0.1", "{\"lr\":}"}) ExpectParamsError(text, {"JSON"});
  for (const char* text : {"[]", "0.1", "\"adam\"", "null"}) ExpectParamsError(text, {"JSON object"});
}

}  // namespace
}  // namespace pg_automl
