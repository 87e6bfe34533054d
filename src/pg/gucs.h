// Settings of pg_automl (defined in module.cpp).
#pragma once

extern "C" {
extern int automl_segments;    // pg_automl.segments: shards written by automl_prepare
extern int automl_threads;     // pg_automl.threads: intra-op threads per process
extern char* automl_device;    // pg_automl.device: cpu, cuda or cuda:N
extern int automl_buffer_cache_mb;  // pg_automl.buffer_cache_mb: per-backend buffer cache
extern int automl_segment_memory_mb;  // pg_automl.segment_memory_mb: data limit of a segment process
extern int automl_max_activation_memory_mb;  // pg_automl.max_activation_memory_mb: per forward pass
}
// The segment this backend serves (0 in an ordinary session); picks its GPU.
extern int automl_segment;
