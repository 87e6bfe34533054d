#include "pg_automl/model_builder.h"

#include <torch/torch.h>

namespace pg_automl {
namespace {

// Reshape keeps the batch dimension and views the rest as `shape`.
class ReshapeImpl : public torch::nn::Cloneable<ReshapeImpl> {
 public:
  explicit ReshapeImpl(std::vector<int64_t> shape) : shape_(std::move(shape)) {}
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<int64_t> full{x.size(0)};
    full.insert(full.end(), shape_.begin(), shape_.end());
    return x.reshape(full);
  }

 private:
  std::vector<int64_t> shape_;
};
TORCH_MODULE(Reshape);

}  // namespace

torch::nn::Sequential BuildModule(const ModelSpec& spec) {
  namespace nn = torch::nn;
  nn::Sequential seq;
  for (const LayerSpec& L : spec.layers) {
    switch (L.type) {
      case LayerType::Linear:
        seq->push_back(nn::Linear(nn::LinearOptions(L.in_shape.back(), L.out).bias(L.bias)));
        break;
      case LayerType::Conv2d:
        seq->push_back(nn::Conv2d(nn::Conv2dOptions(L.in_shape[0], L.out, {L.kernel[0], L.kernel[1]})
                                      .stride({L.stride[0], L.stride[1]})
                                      .padding({L.padding[0], L.padding[1]})
                                      .bias(L.bias)));
        break;
      case LayerType::MaxPool2d:
        seq->push_back(nn::MaxPool2d(nn::MaxPool2dOptions({L.kernel[0], L.kernel[1]})
                                         .stride({L.stride[0], L.stride[1]})
                                         .padding({L.padding[0], L.padding[1]})));
        break;
      case LayerType::AvgPool2d:
        seq->push_back(nn::AvgPool2d(nn::AvgPool2dOptions({L.kernel[0], L.kernel[1]})
                                         .stride({L.stride[0], L.stride[1]})
                                         .padding({L.padding[0], L.padding[1]})));
        break;
      case LayerType::BatchNorm1d:
        seq->push_back(nn::BatchNorm1d(
            nn::BatchNorm1dOptions(L.in_shape[0]).eps(L.eps).momentum(L.momentum)));
        break;
      case LayerType::BatchNorm2d:
        seq->push_back(nn::BatchNorm2d(
            nn::BatchNorm2dOptions(L.in_shape[0]).eps(L.eps).momentum(L.momentum)));
        break;
      case LayerType::Dropout:
        seq->push_back(nn::Dropout(nn::DropoutOptions(L.p)));
        break;
      case LayerType::Flatten:
        seq->push_back(nn::Flatten());
        break;
      case LayerType::Reshape:
        seq->push_back(Reshape(L.target));
        break;
      case LayerType::ReLU:
        seq->push_back(nn::ReLU());
        break;
      case LayerType::LeakyReLU:
        seq->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(L.negative_slope)));
        break;
      case LayerType::GELU:
        seq->push_back(nn::GELU());
        break;
      case LayerType::Tanh:
        seq->push_back(nn::Tanh());
        break;
      case LayerType::Sigmoid:
        seq->push_back(nn::Sigmoid());
        break;
    }
  }
  return seq;
}

}  // namespace pg_automl
