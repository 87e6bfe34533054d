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
    r.kind = ErrorKind::OutOfMemory;
    r.message = "out of device memory";
    r.detail = e.what_without_backtrace();
    r.hint = "Use a smaller model or batch size, or fewer segments per GPU.";
  } catch (const c10::NotImplementedError& e) {
    r.kind = ErrorKind::FeatureNotSupported;
    r.message = e.what_without_backtrace();
  } catch (const c10::Error& e) {
    // Shape mismatches and similar: libtorch's message is the useful part,
    // the backtrace is noise to a SQL user.
    r.kind = ErrorKind::InvalidParameter;
    r.message = "libtorch rejected the operation";
    r.detail = e.what_without_backtrace();
  } catch (const std::bad_alloc&) {
    r.kind = ErrorKind::OutOfMemory;
    r.message = "out of memory";
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
