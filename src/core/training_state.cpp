#include "pg_automl/training_state.h"

#include <sstream>
#include <type_traits>

#include <torch/torch.h>

namespace pg_automl {
namespace {

constexpr char kMagic[8] = {'P', 'G', 'A', 'M', 'L', 'S', 'T', '1'};
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8;

[[noreturn]] void Corrupt(const std::string& what, const std::string& detail = {}) {
  throw Error(ErrorKind::DataCorrupted, what, detail,
              "Training states are written by pg_automl; restore the model from a saved row.");
}

struct DtypeCode {
  uint8_t code;
  at::ScalarType type;
};
const DtypeCode kDtypes[] = {{1, at::kFloat}, {2, at::kDouble}, {3, at::kLong},
                             {4, at::kByte},  {5, at::kHalf},   {6, at::kBFloat16},
                             {7, at::kInt}};

uint8_t CodeOf(at::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.code;
  throw Error(ErrorKind::FeatureNotSupported, std::string("cannot save tensors of type ") + c10::toString(t));
}

at::ScalarType TypeOf(uint8_t code) {
  for (const auto& d : kDtypes)
    if (d.code == code) return d.type;
  Corrupt("training state is malformed", "Unknown tensor type code " + std::to_string(code) + ".");
}

// libtorch keys optimizer state by the address of the parameter's impl:
// as a string in 1.x, as the pointer itself in 2.x.
template <typename Map>
typename Map::key_type ParamKey(const Map&, const at::Tensor& p) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

void WriteOptional(ByteWriter& w, const at::Tensor& t) {
  w.Put<uint8_t>(t.defined() ? 1 : 0);
  if (t.defined()) WriteTensor(w, t);
}

// An optimizer tensor of parameter `param`: it must have the parameter's
// shape and type, or the first optimizer step would fail far from here.
at::Tensor ReadOptional(ByteReader& r, const c10::Device& device, const at::Tensor& param) {
  uint8_t defined = r.Get<uint8_t>();
  if (defined > 1) Corrupt("training state is malformed");
  if (!defined) return at::Tensor();
  at::Tensor t = ReadTensor(r);
  if (t.sizes() != param.sizes() || t.scalar_type() != param.scalar_type())
    Corrupt("training state does not match the model's parameters",
            "An optimizer tensor has another shape or type than its parameter.");
  return t.to(device);
}

// Adam and AdamW keep the same fields in distinct classes.
template <typename AdamState>
void WriteAdamState(ByteWriter& w, AdamState& a) {
  w.Put<int64_t>(a.step());
  WriteOptional(w, a.exp_avg());
  WriteOptional(w, a.exp_avg_sq());
  WriteOptional(w, a.max_exp_avg_sq());
}

template <typename AdamState>
std::unique_ptr<torch::optim::OptimizerParamState> ReadAdamState(ByteReader& r, const c10::Device& device,
                                                                 const at::Tensor& p) {
  auto s = std::make_unique<AdamState>();
  s->step(r.Get<int64_t>());
  s->exp_avg(ReadOptional(r, device, p));
  s->exp_avg_sq(ReadOptional(r, device, p));
  s->max_exp_avg_sq(ReadOptional(r, device, p));
  return s;
}

}  // namespace

void StartState(ByteWriter& w) {
  if (!w.str().empty()) throw Error(ErrorKind::Internal, "a training state must start an empty writer");
  w.str().append(kHeaderSize, '\0');
}

std::string FinishState(ByteWriter& w) {
  std::string& out = w.str();
  if (out.size() < kHeaderSize) throw Error(ErrorKind::Internal, "training state was not started");
  const char* payload = out.data() + kHeaderSize;
  uint64_t size = out.size() - kHeaderSize;
  ByteWriter h;
  h.PutBytes(kMagic, 8);
  h.Put<uint32_t>(kStateVersion);
  h.Put<uint32_t>(Crc32(payload, size));
  h.Put<uint64_t>(size);
  out.replace(0, kHeaderSize, h.str());
  return std::move(out);
}

std::string SealState(const std::string& payload) {
  ByteWriter w;
  w.Reserve(kHeaderSize + payload.size());
  StartState(w);
  w.PutBytes(payload.data(), payload.size());
  return FinishState(w);
}

ByteReader OpenState(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  if (size < kHeaderSize || std::memcmp(p, kMagic, 8) != 0)
    Corrupt("value is not a pg_automl training state");
  ByteReader h(p + 8, kHeaderSize - 8);
  uint32_t version = h.Get<uint32_t>();
  uint32_t crc = h.Get<uint32_t>();
  uint64_t len = h.Get<uint64_t>();
  if (version != kStateVersion)
    Corrupt("training state has format version " + std::to_string(version) + ", expected " +
            std::to_string(kStateVersion));
  if (len != size - kHeaderSize)
    Corrupt("training state is truncated",
            "It holds " + std::to_string(size - kHeaderSize) + " payload bytes; its header says " +
                std::to_string(len) + ".");
  if (Crc32(p + kHeaderSize, len) != crc) Corrupt("training state fails its checksum");
  return ByteReader(p + kHeaderSize, len);
}

void WriteMeta(ByteWriter& w, const StateMeta& m) {
  w.Put<uint8_t>(uint8_t(m.task));
  w.Put<uint8_t>(uint8_t(m.optimizer));
  w.Put<int64_t>(m.outputs);
  w.Put<uint32_t>(m.spec_crc);
  w.Put<int64_t>(m.counters.steps);
  w.Put<int64_t>(m.counters.samples);
  w.Put<int64_t>(m.counters.buffers);
}

StateMeta ReadMeta(ByteReader& r) {
  StateMeta m;
  uint8_t task = r.Get<uint8_t>(), opt = r.Get<uint8_t>();
  if (task < 1 || task > 2 || opt < 1 || opt > 5) Corrupt("training state is malformed");
  m.task = Task(task);
  m.optimizer = OptimizerKind(opt);
  m.outputs = r.Get<int64_t>();
  m.spec_crc = r.Get<uint32_t>();
  m.counters.steps = r.Get<int64_t>();
  m.counters.samples = r.Get<int64_t>();
  m.counters.buffers = r.Get<int64_t>();
  if (m.outputs < 1 || m.counters.steps < 0 || m.counters.samples < 0 || m.counters.buffers < 0)
    Corrupt("training state is malformed");
  return m;
}

void WriteTensor(ByteWriter& w, const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  w.Put<uint8_t>(CodeOf(c.scalar_type()));
  w.Put<uint8_t>(uint8_t(c.dim()));
  for (int64_t d : c.sizes()) w.Put<int64_t>(d);
  w.PutBytes(c.data_ptr(), c.nbytes());
}

at::Tensor ReadTensor(ByteReader& r) {
  at::ScalarType type = TypeOf(r.Get<uint8_t>());
  uint8_t rank = r.Get<uint8_t>();
  if (rank > 8) Corrupt("training state is malformed", "A tensor claims rank " + std::to_string(rank) + ".");
  std::vector<int64_t> dims(rank);
  size_t elem = c10::elementSize(type), bytes = elem;
  for (auto& d : dims) {
    d = r.Get<int64_t>();
    // Check against what is left before multiplying, so no size overflows.
    if (d < 0 || (d > 0 && bytes > r.remaining() / size_t(d))) Corrupt("training state is truncated or malformed");
    bytes *= size_t(d);
  }
  const char* data = r.Take(bytes);
  at::Tensor t = at::empty(dims, at::TensorOptions().dtype(type));
  // (an empty tensor has no data pointer, and memcpy wants one even for 0 bytes)
  if (bytes > 0) std::memcpy(t.data_ptr(), data, bytes);
  return t;
}

void WriteOptimizerState(ByteWriter& w, torch::optim::Optimizer& opt, OptimizerKind kind,
                         const std::vector<at::Tensor>& params) {
  namespace o = torch::optim;
  auto& states = opt.state();
  w.Put<uint32_t>(uint32_t(params.size()));
  for (const auto& p : params) {
    auto it = states.find(ParamKey(states, p));
    w.Put<uint8_t>(it != states.end() ? 1 : 0);
    if (it == states.end()) continue;
    o::OptimizerParamState& s = *it->second;
    switch (kind) {
      case OptimizerKind::SGD:
        WriteOptional(w, static_cast<o::SGDParamState&>(s).momentum_buffer());
        break;
      case OptimizerKind::Adam:
        WriteAdamState(w, static_cast<o::AdamParamState&>(s));
        break;
      case OptimizerKind::AdamW:
        WriteAdamState(w, static_cast<o::AdamWParamState&>(s));
        break;
      case OptimizerKind::RMSprop: {
        auto& a = static_cast<o::RMSpropParamState&>(s);
        w.Put<int64_t>(a.step());
        WriteOptional(w, a.square_avg());
        WriteOptional(w, a.momentum_buffer());
        WriteOptional(w, a.grad_avg());
        break;
      }
      case OptimizerKind::Adagrad: {
        auto& a = static_cast<o::AdagradParamState&>(s);
        w.Put<int64_t>(a.step());
        WriteOptional(w, a.sum());
        break;
      }
    }
  }
}

void ReadOptimizerState(ByteReader& r, torch::optim::Optimizer& opt, OptimizerKind kind,
                        const std::vector<at::Tensor>& params, const c10::Device& device) {
  namespace o = torch::optim;
  if (r.Get<uint32_t>() != params.size()) Corrupt("training state does not match the model's parameters");
  auto& states = opt.state();
  states.clear();
  for (const auto& p : params) {
    uint8_t present = r.Get<uint8_t>();
    if (present > 1) Corrupt("training state is malformed");
    if (!present) continue;
    std::unique_ptr<o::OptimizerParamState> st;
    switch (kind) {
      case OptimizerKind::SGD: {
        auto s = std::make_unique<o::SGDParamState>();
        s->momentum_buffer(ReadOptional(r, device, p));
        st = std::move(s);
        break;
      }
      case OptimizerKind::Adam:
        st = ReadAdamState<o::AdamParamState>(r, device, p);
        break;
      case OptimizerKind::AdamW:
        st = ReadAdamState<o::AdamWParamState>(r, device, p);
        break;
      case OptimizerKind::RMSprop: {
        auto s = std::make_unique<o::RMSpropParamState>();
        s->step(r.Get<int64_t>());
        s->square_avg(ReadOptional(r, device, p));
        s->momentum_buffer(ReadOptional(r, device, p));
        s->grad_avg(ReadOptional(r, device, p));
        st = std::move(s);
        break;
      }
      case OptimizerKind::Adagrad: {
        auto s = std::make_unique<o::AdagradParamState>();
        s->step(r.Get<int64_t>());
        s->sum(ReadOptional(r, device, p));
        st = std::move(s);
        break;
      }
    }
    states[ParamKey(states, p)] = std::move(st);
  }
}

}  // namespace pg_automl
