#include "pg_automl/errors.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <new>

namespace pg_automl {

std::string FormatNumber(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

namespace {

ErrorReport OutOfMemory(std::string detail) {
  ErrorReport r;
  r.kind = ErrorKind::OutOfMemory;
  r.message = "out of memory";
  r.detail = std::move(detail);
  r.hint = "Use a smaller model or batch size, fewer segments per GPU, or a larger pg_automl.segment_memory_mb.";
  return r;
}

}  // namespace

ErrorReport DescribeCurrentException() {
  ErrorReport r;
  try {
    throw;
  } catch (const Error& e) {
    r.kind = e.kind();
    r.message = e.what();
    r.detail = e.detail();
    r.hint = e.hint();
  } catch (const c10::OutOfMemoryError& e) {
    r = OutOfMemory(e.what_without_backtrace());
  } catch (const c10::NotImplementedError& e) {
    r.kind = ErrorKind::FeatureNotSupported;
    r.message = e.what_without_backtrace();
  } catch (const c10::Error& e) {
    // The CPU allocator reports a failed allocation as a plain c10::Error
    // ("can't allocate memory" in 1.x, "not enough memory" in later ones).
    std::string what = e.what_without_backtrace();
    for (const char* oom : {"can't allocate memory", "not enough memory", "out of memory"})
      if (what.find(oom) != std::string::npos) return OutOfMemory(what);
    // Shape mismatches and similar: libtorch's message is the useful part,
    // the backtrace is noise to a SQL user.
    r.kind = ErrorKind::InvalidParameter;
    r.message = "libtorch rejected the operation";
    r.detail = what;
  } catch (const std::bad_alloc&) {
    r = OutOfMemory({});
  } catch (const std::exception& e) {
    r.kind = ErrorKind::Internal;
    r.message = e.what();
  } catch (...) {
    r.kind = ErrorKind::Internal;
    r.message = "unrecognized C++ exception";
  }
  return r;
}

}  // namespace pg_automl
