// Errors raised by the core.  The core never includes PostgreSQL headers, so
// each error carries a kind that the glue maps to a SQLSTATE at the one
// boundary between C++ and PostgreSQL (src/pg/boundary.cpp).
#pragma once

#include <stdexcept>
#include <string>

namespace pg_automl {

enum class ErrorKind {
  InvalidParameter,   // a user-supplied value is wrong (22023)
  DataException,      // the data itself is wrong: NaN, ragged rows (22000)
  DataCorrupted,      // bytes that should be ours are not (22P03)
  FeatureNotSupported,// a valid request we cannot serve (0A000)
  OutOfMemory,        // 53200
  ProgramLimit,       // a request beyond a configured limit (54000)
  Io,                 // a file could not be read (58030)
  FileNotFound,       // a file does not exist (58P01)
  Interrupted,        // the caller asked us to stop; the glue re-raises the cancel
  Internal            // a bug (XX000)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string detail = {},
        std::string hint = {})
      : std::runtime_error(message), kind_(kind), detail_(std::move(detail)),
        hint_(std::move(hint)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& detail() const { return detail_; }
  const std::string& hint() const { return hint_; }

 private:
  ErrorKind kind_;
  std::string detail_;
  std::string hint_;
};

// What the boundary needs to report any exception: kind, message, detail, hint.
struct ErrorReport {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;
  std::string detail;
  std::string hint;
};

// A number as a person writes it in a message: 0.5, 10, 1e-08.
std::string FormatNumber(double x);

// Describes the exception being handled (call only inside a catch block).
// Knows libtorch's c10::Error family, std::bad_alloc and our Error, so that
// callers need not include torch headers.
ErrorReport DescribeCurrentException();

}  // namespace pg_automl
