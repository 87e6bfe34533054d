// Shared by the fuzz targets: the one contract every decoder of outside
// bytes has is that bad input throws pg_automl::Error (which the glue turns
// into an SQL error) and nothing else escapes; sanitizers catch the rest.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "pg_automl/errors.h"

namespace pg_automl::fuzz {

// Runs f; a pg_automl::Error is the expected answer to bad bytes, any other
// exception is a bug the fuzzer must report (abort: libFuzzer saves the input).
template <typename F>
void ExpectOnlyOurErrors(F&& f) {
  try {
    f();
  } catch (const Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "foreign exception escaped: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "non-std exception escaped\n");
    std::abort();
  }
}

}  // namespace pg_automl::fuzz
