#include "pg_automl/runtime.h"

#include <dlfcn.h>

#include <regex>

#include <torch/torch.h>
#include <torch/version.h>

#include "pg_automl/errors.h"

namespace pg_automl {

void ConfigureThreads(int threads) {
  static int applied = -1;
  if (threads < 1 || threads == applied) return;
  at::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    fn(threads);
  applied = threads;
}

void WarmUpBlas() {
  at::Tensor a = at::ones({512, 512});
  (void)at::mm(a, a);
}

bool IsValidDeviceSetting(const std::string& setting) {
  static const std::regex pattern("cpu|cuda|cuda:[0-9]{1,3}");
  return std::regex_match(setting, pattern);
}

std::string ResolveDevice(const std::string& setting, int segment) {
  if (!IsValidDeviceSetting(setting))
    throw Error(ErrorKind::InvalidParameter, "invalid device \"" + setting + "\"", {},
                "Use 'cpu', 'cuda' or 'cuda:N'.");
  if (setting == "cpu") return "cpu";
  int count = torch::cuda::is_available() ? int(torch::cuda::device_count()) : 0;
  if (count == 0)
    throw Error(ErrorKind::FeatureNotSupported, "CUDA is not available to this server", {},
                "Set pg_automl.device to 'cpu', or install pg_automl built against a CUDA-enabled libtorch "
                "on a machine with a GPU.");
  if (setting == "cuda") return "cuda:" + std::to_string(segment % count);
  int n = std::stoi(setting.substr(5));
  if (n >= count)
    throw Error(ErrorKind::InvalidParameter, "device \"" + setting + "\" does not exist",
                "This server sees " + std::to_string(count) + " GPU(s).");
  return setting;
}

std::string TorchVersion() {
  return std::string(TORCH_VERSION) + (torch::cuda::is_available() ? " (CUDA)" : " (CPU)");
}

}  // namespace pg_automl
