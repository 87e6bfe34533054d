#include "pg_automl/trainer.h"

#include <torch/torch.h>

#include "pg_automl/activation_limit.h"
#include "pg_automl/errors.h"
#include "pg_automl/metric_ops.h"
#include "pg_automl/model_builder.h"
#include "pg_automl/training_state.h"

namespace pg_automl {

namespace {

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const TrainParams& p,
                                                       const std::vector<at::Tensor>& params) {
  namespace o = torch::optim;
  switch (p.optimizer) {
    case OptimizerKind::SGD:
      return std::make_unique<o::SGD>(params, o::SGDOptions(p.lr)
                                                  .momentum(p.momentum)
                                                  .dampening(p.dampening)
                                                  .nesterov(p.nesterov)
                                                  .weight_decay(p.weight_decay));
    case OptimizerKind::Adam:
      return std::make_unique<o::Adam>(params, o::AdamOptions(p.lr)
                                                   .betas({p.beta1, p.beta2})
                                                   .eps(p.eps)
                                                   .weight_decay(p.weight_decay)
                                                   .amsgrad(p.amsgrad));
    case OptimizerKind::AdamW:
      return std::make_unique<o::AdamW>(params, o::AdamWOptions(p.lr)
                                                    .betas({p.beta1, p.beta2})
                                                    .eps(p.eps)
                                                    .weight_decay(p.weight_decay)
                                                    .amsgrad(p.amsgrad));
    case OptimizerKind::RMSprop:
      return std::make_unique<o::RMSprop>(params, o::RMSpropOptions(p.lr)
                                                      .alpha(p.alpha)
                                                      .eps(p.eps)
                                                      .weight_decay(p.weight_decay)
                                                      .momentum(p.momentum)
                                                      .centered(p.centered));
    case OptimizerKind::Adagrad:
      return std::make_unique<o::Adagrad>(params, o::AdagradOptions(p.lr)
                                                      .lr_decay(p.lr_decay)
                                                      .weight_decay(p.weight_decay)
                                                      .eps(p.eps));
  }
  throw Error(ErrorKind::Internal, "unhandled optimizer kind");
}

c10::Device ParseDevice(const std::string& device) {
  try {
    return c10::Device(device);
  } catch (const c10::Error&) {
    throw Error(ErrorKind::InvalidParameter, "invalid device \"" + device + "\"");
  }
}

}  // namespace

struct Trainer::Impl {
  ModelSpec spec;
  TrainParams params;
  c10::Device device{c10::kCPU};
  StateMeta meta;
  torch::nn::Sequential model{nullptr};
  std::vector<at::Tensor> parameters;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  at::Tensor rng_state;  // of the training device's default generator
  size_t restored_size = 0;  // of the state restored from: a saved state is about as large

  at::Generator Generator() const { return at::globalContext().defaultGenerator(device); }

  void Build(const ModelSpec& s, const TrainParams& p, const std::string& dev) {
    spec = s;
    params = p;
    device = ParseDevice(dev);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw Error(ErrorKind::FeatureNotSupported, "CUDA is not available to this process", {},
                  "Set pg_automl.device to 'cpu', or build pg_automl against a CUDA-enabled libtorch.");
    model = BuildModule(spec);
    model->to(device);
    parameters = model->parameters();
    optimizer = MakeOptimizer(params, parameters);
    meta.optimizer = params.optimizer;
    meta.spec_crc = Crc32(spec.canonical_json.data(), spec.canonical_json.size());
  }

  // Views the buffer's features as a batch of the model's input shape.
  at::Tensor Inputs(const BufferView& b) const {
    int64_t want = ShapeElements(spec.input_shape);
    if (int64_t(b.features) != want)
      throw Error(ErrorKind::InvalidParameter,
                  "model expects " + std::to_string(want) + " features per row, the data holds " +
                      std::to_string(b.features),
                  {}, "Make the model's \"input_shape\" match the prepared table's feature shape.");
    std::vector<int64_t> shape{int64_t(b.rows)};
    shape.insert(shape.end(), spec.input_shape.begin(), spec.input_shape.end());
    // from_blob does not copy; the buffer outlives this call and is never written.
    return torch::from_blob(const_cast<float*>(b.x), shape, torch::kFloat).to(device);
  }

  at::Tensor Labels(const BufferView& b) const {
    if (meta.task == Task::Classification) {
      if (b.label_kind != LabelKind::ClassIndex)
        throw Error(ErrorKind::InvalidParameter, "data holds regression targets but the model is a classifier");
      for (uint32_t i = 0; i < b.rows; ++i)
        if (b.classes[i] < 0 || b.classes[i] >= meta.outputs)
          throw Error(ErrorKind::DataException,
                      "class index " + std::to_string(b.classes[i]) + " is out of range for a model with " +
                          std::to_string(meta.outputs) + " outputs");
      return torch::from_blob(const_cast<int32_t*>(b.classes), {int64_t(b.rows)}, torch::kInt)
          .to(device, torch::kLong);
    }
    if (b.label_kind != LabelKind::Target)
      throw Error(ErrorKind::InvalidParameter, "data holds class labels but the model is a regression model");
    return torch::from_blob(const_cast<float*>(b.targets), {int64_t(b.rows)}, torch::kFloat).to(device);
  }

  // Cross-entropy for classification, MSE for regression; `red` is
  // at::Reduction::Mean or at::Reduction::Sum.
  at::Tensor Loss(const at::Tensor& out, const at::Tensor& y, int64_t red) const {
    if (meta.task == Task::Classification) return at::cross_entropy_loss(out, y, {}, red);
    return at::mse_loss(out.squeeze(1), y, red);
  }

  // Optimizer steps for a buffer of `rows` rows: one, or one per batch_size.
  int64_t Steps(int64_t rows) const {
    int64_t b = params.batch_size > 0 ? std::min<int64_t>(params.batch_size, rows) : rows;
    return (rows + b - 1) / b;
  }
};

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;

std::unique_ptr<Trainer> Trainer::Create(const ModelSpec& spec, const TrainParams& params, Task task,
                                         uint64_t seed, const std::string& device) {
  auto impl = std::make_unique<Impl>();
  int64_t outputs = spec.output_shape.at(0);
  if (task == Task::Classification && outputs < 2)
    throw Error(ErrorKind::InvalidParameter, "a classifier needs at least 2 outputs, the model has " +
                                                 std::to_string(outputs));
  if (task == Task::Regression && outputs != 1)
    throw Error(ErrorKind::InvalidParameter,
                "a regression model needs 1 output, the model has " + std::to_string(outputs));
  impl->meta.task = task;
  impl->meta.outputs = outputs;
  // Initial weights come from the CPU generator so that a seed gives the same
  // model on every device; the training device's generator is seeded too.
  at::Generator cpu_gen = at::globalContext().defaultGenerator(c10::kCPU);
  cpu_gen.set_current_seed(seed);
  impl->Build(spec, params, device);
  at::Generator gen = impl->Generator();
  if (impl->device.is_cuda()) gen.set_current_seed(seed);
  impl->rng_state = gen.get_state();
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

std::unique_ptr<Trainer> Trainer::Restore(const ModelSpec& spec, const TrainParams& params, const void* state,
                                          size_t size, const std::string& device) {
  ByteReader r = OpenState(state, size);
  auto impl = std::make_unique<Impl>();
  StateMeta meta = ReadMeta(r);
  uint32_t spec_crc = Crc32(spec.canonical_json.data(), spec.canonical_json.size());
  if (meta.spec_crc != spec_crc)
    throw Error(ErrorKind::InvalidParameter, "training state belongs to a different model architecture");
  if (meta.optimizer != params.optimizer)
    throw Error(ErrorKind::InvalidParameter, std::string("training state holds ") + OptimizerName(meta.optimizer) +
                                                 " state but the parameters ask for " +
                                                 OptimizerName(params.optimizer));
  if (meta.outputs != spec.output_shape.at(0)) throw Error(ErrorKind::DataCorrupted, "training state is malformed");
  impl->meta = meta;
  impl->restored_size = size;
  impl->Build(spec, params, device);
  impl->rng_state = ReadTensor(r);
  torch::NoGradGuard no_grad;
  auto restore = [&](const auto& named) {
    if (r.Get<uint32_t>() != named.size())
      throw Error(ErrorKind::InvalidParameter, "training state does not match the model's tensors");
    for (const auto& item : named) {
      std::string name = r.GetString();
      at::Tensor t = ReadTensor(r);
      if (name != item.key() || t.sizes() != item.value().sizes() || t.scalar_type() != item.value().scalar_type())
        throw Error(ErrorKind::InvalidParameter, "training state does not match the model's tensors",
                    "Tensor \"" + item.key() + "\" differs.");
      item.value().copy_(t);
    }
  };
  restore(impl->model->named_parameters());
  restore(impl->model->named_buffers());
  ReadOptimizerState(r, *impl->optimizer, meta.optimizer, impl->parameters, impl->device);
  if (r.remaining() != 0) throw Error(ErrorKind::DataCorrupted, "training state has trailing bytes");
  // CPU and CUDA generators keep states of different sizes.  A state saved
  // on another kind of device (trained on a GPU, evaluated on the CPU, say)
  // continues with this device's generator seeded from the saved state, so
  // the run stays deterministic.  Otherwise set_state throws c10::Error
  // (before changing the generator) for a state it rejects, which for bytes
  // that passed the checksum still means a malformed state.
  at::Generator gen = impl->Generator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    if (impl->rng_state.numel() != gen.get_state().numel()) {
      at::Tensor saved = impl->rng_state.contiguous();
      gen.set_current_seed((uint64_t(Crc32(saved.data_ptr(), saved.nbytes())) << 32) ^
                           uint64_t(impl->meta.counters.steps));
      impl->rng_state = gen.get_state();
    } else {
      try {
        gen.set_state(impl->rng_state);
      } catch (const c10::Error& e) {
        throw Error(ErrorKind::DataCorrupted, "training state is malformed",
                    std::string("Its random generator state is invalid: ") + e.what_without_backtrace());
      }
    }
  }
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

PassStats Trainer::Train(const BufferView& b, const InterruptCheck& interrupt) {
  Impl& m = *impl_;
  at::Tensor x = m.Inputs(b), y = m.Labels(b);
  at::Generator gen = m.Generator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(m.rng_state);
  }
  m.model->train();
  // Minibatches of balanced sizes: a remainder of one row would break batch
  // norm and give one noisy step.
  int64_t rows = b.rows, steps = m.Steps(rows);
  CheckTrainingBatch(m.spec, (rows + steps - 1) / steps);
  at::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(m.device));
  at::Tensor correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(m.device));
  for (int64_t i = 0; i < steps; ++i) {
    if (i > 0 && interrupt) interrupt();
    int64_t start = i * rows / steps, n = (i + 1) * rows / steps - start;
    at::Tensor xb = x.narrow(0, start, n), yb = y.narrow(0, start, n);
    m.optimizer->zero_grad();
    at::Tensor out = m.model->forward(xb);
    at::Tensor loss = m.Loss(out, yb, at::Reduction::Mean);
    loss.backward();
    m.optimizer->step();
    loss_sum += loss.detach().to(torch::kDouble) * double(n);
    if (m.meta.task == Task::Classification) correct += out.detach().argmax(1).eq(yb).sum();
    ++m.meta.counters.steps;
  }
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    m.rng_state = gen.get_state();
  }
  m.meta.counters.samples += b.rows;
  ++m.meta.counters.buffers;
  PassStats s;
  s.rows = b.rows;
  s.loss_sum = loss_sum.item<double>();
  s.classification = m.meta.task == Task::Classification;
  s.correct = s.topk_correct = s.classification ? correct.item<int64_t>() : 0;
  return s;
}

PassStats Trainer::Evaluate(const BufferView& b, int64_t top_k) {
  Impl& m = *impl_;
  torch::NoGradGuard no_grad;
  at::Tensor x = m.Inputs(b), y = m.Labels(b);
  m.model->eval();
  PassStats s;
  s.rows = b.rows;
  s.classification = m.meta.task == Task::Classification;
  s.top_k = std::max<int64_t>(1, std::min<int64_t>(top_k, m.meta.outputs));
  // Passes of at most `chunk` rows (one, unless the activation limit says
  // otherwise), their sums added up.
  const int64_t rows = b.rows, chunk = RowsWithinActivationLimit(m.spec, rows, false);
  for (int64_t start = 0; start < rows; start += chunk) {
    const int64_t n = std::min(chunk, rows - start);
    at::Tensor xc = x.narrow(0, start, n), yc = y.narrow(0, start, n);
    at::Tensor out = m.model->forward(xc);
    s.loss_sum += m.Loss(out, yc, at::Reduction::Sum).item<double>();
    if (s.classification) {
      s.correct += CountTopK(out, yc, 1).item<int64_t>();
      s.topk_correct += CountTopK(out, yc, s.top_k).item<int64_t>();
    }
  }
  return s;
}

std::vector<Prediction> Trainer::Predict(const BufferView& b) {
  Impl& m = *impl_;
  torch::NoGradGuard no_grad;
  m.model->eval();
  at::Tensor x = m.Inputs(b);
  // As in Evaluate: passes within the activation limit, each reduced to
  // its predictions before the next.
  const int64_t rows = b.rows, chunk = RowsWithinActivationLimit(m.spec, rows, false);
  std::vector<Prediction> preds(b.rows);
  for (int64_t start = 0; start < rows; start += chunk) {
    const int64_t n = std::min(chunk, rows - start);
    at::Tensor out = m.model->forward(x.narrow(0, start, n)).to(torch::kCPU);
    if (m.meta.task == Task::Classification) {
      auto [prob, idx] = torch::softmax(out, 1).max(1);
      prob = prob.contiguous();
      idx = idx.contiguous();
      auto pa = prob.accessor<float, 1>();
      auto ia = idx.accessor<int64_t, 1>();
      for (int64_t i = 0; i < n; ++i) {
        preds[size_t(start + i)].class_index = int32_t(ia[i]);
        preds[size_t(start + i)].probability = pa[i];
      }
    } else {
      at::Tensor values = out.contiguous().view({-1});
      auto va = values.accessor<float, 1>();
      for (int64_t i = 0; i < n; ++i) preds[size_t(start + i)].value = va[i];
    }
  }
  return preds;
}

std::string Trainer::SaveState() const {
  const Impl& m = *impl_;
  ByteWriter w;
  // Slack for optimizer state that appeared since (the first steps).
  w.Reserve(m.restored_size + m.restored_size / 8 + 4096);
  StartState(w);
  WriteMeta(w, m.meta);
  WriteTensor(w, m.rng_state);
  auto save = [&](const auto& named) {
    w.Put<uint32_t>(uint32_t(named.size()));
    for (const auto& item : named) {
      w.PutString(item.key());
      WriteTensor(w, item.value());
    }
  };
  save(m.model->named_parameters());
  save(m.model->named_buffers());
  WriteOptimizerState(w, *m.optimizer, m.meta.optimizer, m.parameters);
  return FinishState(w);
}

Task Trainer::task() const { return impl_->meta.task; }
int64_t Trainer::outputs() const { return impl_->meta.outputs; }
const TrainingCounters& Trainer::counters() const { return impl_->meta.counters; }

std::vector<float> Trainer::FlatWeights() const {
  std::vector<float> out;
  auto add = [&](const at::Tensor& t) {
    at::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  for (const auto& p : impl_->model->parameters()) add(p);
  for (const auto& p : impl_->model->buffers()) add(p);
  return out;
}

StateSummary SummarizeState(const void* state, size_t size) {
  ByteReader r = OpenState(state, size);
  StateMeta m = ReadMeta(r);
  return {m.task, m.outputs, m.optimizer, m.counters, size};
}

}  // namespace pg_automl
