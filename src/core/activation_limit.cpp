#include "pg_automl/activation_limit.h"

#include <atomic>
#include <string>

#include "pg_automl/errors.h"

namespace pg_automl {

namespace {

std::atomic<int64_t> limit_bytes{0};

std::string Megabytes(int64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MB"; }

const char* kHint =
    "Use a smaller batch_size or a narrower model; a superuser can raise pg_automl.max_activation_memory_mb.";

}  // namespace

void SetActivationMemoryLimit(int64_t bytes) { limit_bytes.store(bytes < 0 ? 0 : bytes); }
int64_t ActivationMemoryLimit() { return limit_bytes.load(); }

int64_t ActivationBytes(const ModelSpec& spec, int64_t rows, bool training) {
  const int64_t outputs = ShapeElements(spec.output_shape);
  if (rows <= 0 || spec.activation_elements <= 0) return 0;
  if (spec.activation_elements > INT64_MAX / 16 || outputs > INT64_MAX / 32) return INT64_MAX;
  const int64_t per_row = training ? spec.activation_elements * 8 : spec.activation_elements * 4 + outputs * 16;
  return per_row > INT64_MAX / rows ? INT64_MAX : per_row * rows;
}

int64_t RowsWithinActivationLimit(const ModelSpec& spec, int64_t rows, bool training) {
  const int64_t limit = ActivationMemoryLimit();
  const int64_t per_row = ActivationBytes(spec, 1, training);
  if (limit == 0 || per_row == 0) return rows;
  if (per_row > limit)
    throw Error(ErrorKind::ProgramLimit,
                "one row of this model needs " + Megabytes(per_row) + " of activations, more than the limit of " +
                    Megabytes(limit),
                {}, kHint);
  return limit / per_row;
}

void CheckTrainingBatch(const ModelSpec& spec, int64_t rows) {
  const int64_t limit = ActivationMemoryLimit();
  const int64_t need = ActivationBytes(spec, rows, true);
  if (limit == 0 || need <= limit) return;
  throw Error(ErrorKind::ProgramLimit,
              "a training step of " + std::to_string(rows) + (rows == 1 ? " row" : " rows") + " needs " + Megabytes(need) +
                  " of activations, more than the limit of " + Megabytes(limit),
              "Without batch_size a packed buffer is one minibatch.", kHint);
}

}  // namespace pg_automl
