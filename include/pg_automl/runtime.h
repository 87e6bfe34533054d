// Process-wide settings of the tensor runtime: thread counts and devices.
// Nothing here may run in the postmaster (see DESIGN.md: fork safety).
#pragma once

#include <string>

namespace pg_automl {

// Sets torch's intra-op threads and, where the BLAS is OpenBLAS, its pool
// (looked up at run time: other BLAS libraries lack the symbol).  Cheap to
// call repeatedly; it only acts when the count changes.
void ConfigureThreads(int threads);

// Runs one matrix product big enough to use every BLAS thread.  OpenBLAS
// maps its work buffers on first use and retries a failed mapping forever,
// so a process about to cap its memory maps them first.
void WarmUpBlas();

// Checks a device setting's syntax without touching CUDA: "cpu", "cuda" or
// "cuda:N".  Returns false for anything else.
bool IsValidDeviceSetting(const std::string& setting);

// The torch device a segment trains on: "cpu", or "cuda:K" where K is the
// given N, or the segment number modulo the visible GPUs for plain "cuda".
// Throws Error(FeatureNotSupported) when CUDA is asked for but absent.
std::string ResolveDevice(const std::string& setting, int segment);

// Version string of the libtorch this was built with, and whether it has CUDA.
std::string TorchVersion();

}  // namespace pg_automl
