// Precompiled header for the core's torch-heavy translation units.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
