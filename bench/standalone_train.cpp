// Standalone twin of the in-database training aggregate: the same core code
// (Trainer, ParseBuffer) trains the same model on the same packed buffers, in
// the same order, outside PostgreSQL.  bench/run.sh compares the two.
//
// Usage: bench_standalone SPEC_JSON_FILE PARAMS_JSON BUFFERS_COPY_FILE EPOCHS SEED [THREADS] [DEVICE]
//   BUFFERS_COPY_FILE: COPY (SELECT buffer ...) TO ... WITH (FORMAT binary)
// Prints: seconds, rows, final loss of the last epoch.
#include <arpa/inet.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "pg_automl/errors.h"
#include "pg_automl/runtime.h"
#include "pg_automl/trainer.h"

using namespace pg_automl;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename T>
T BigEndian(const std::string& data, size_t& pos) {
  if (pos + sizeof(T) > data.size()) throw std::runtime_error("COPY file is truncated");
  T v;
  std::memcpy(&v, data.data() + pos, sizeof v);
  pos += sizeof v;
  if (sizeof(T) == 2) return T(ntohs(uint16_t(v)));
  return T(ntohl(uint32_t(v)));
}

// The bytea fields of a one-column binary COPY file.
std::vector<std::string> ReadCopyBinary(const std::string& data) {
  static const char kSignature[] = "PGCOPY\n\377\r\n";
  if (data.size() < 19 || std::memcmp(data.data(), kSignature, 11) != 0)
    throw std::runtime_error("not a binary COPY file");
  size_t pos = 11;
  BigEndian<int32_t>(data, pos);                 // flags
  pos += size_t(BigEndian<int32_t>(data, pos));  // header extension
  std::vector<std::string> fields;
  for (;;) {
    int16_t n = BigEndian<int16_t>(data, pos);
    if (n == -1) break;
    if (n != 1) throw std::runtime_error("expected one column per row");
    int32_t len = BigEndian<int32_t>(data, pos);
    if (len < 0 || pos + size_t(len) > data.size()) throw std::runtime_error("bad field length");
    fields.emplace_back(data.data() + pos, size_t(len));
    pos += size_t(len);
  }
  return fields;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: " << argv[0] << " SPEC_FILE PARAMS_JSON BUFFERS_COPY_FILE EPOCHS SEED [THREADS] [DEVICE]\n";
    return 2;
  }
  try {
    ModelSpec spec = ParseModelSpec(ReadFile(argv[1]));
    TrainParams params = ParseTrainParams(argv[2]);
    std::vector<std::string> buffers = ReadCopyBinary(ReadFile(argv[3]));
    int epochs = std::stoi(argv[4]);
    uint64_t seed = std::stoull(argv[5]);
    ConfigureThreads(argc > 6 ? std::stoi(argv[6]) : 1);
    std::string device = ResolveDevice(argc > 7 ? argv[7] : "cpu", 0);
    std::vector<BufferView> views;
    for (const auto& b : buffers) views.push_back(ParseBuffer(b.data(), b.size()));
    auto trainer = Trainer::Create(spec, params, Task::Classification, seed, device);
    PassStats last;
    auto t0 = std::chrono::steady_clock::now();
    // A plain loop, the strictest baseline: the database side also restores
    // and saves the state once per epoch, which counts against it.
    for (int e = 0; e < epochs; ++e) {
      last = PassStats{};
      for (const auto& v : views) last.Merge(trainer->Train(v, nullptr));
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout.precision(17);
    std::cout << "seconds " << seconds << "\nrows " << last.rows * epochs << "\nloss " << last.Loss() << "\n";
    return 0;
  } catch (...) {
    ErrorReport r = DescribeCurrentException();
    std::cerr << "error: " << r.message << (r.detail.empty() ? "" : " (" + r.detail + ")") << "\n";
    return 1;
  }
}
