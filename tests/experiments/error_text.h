// Test helpers for the experiments suites: the message of the pn::Error a call throws, and
// a fresh scratch folder per test.
#pragma once
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "autograd/error.h"

namespace pn::test {

template <class F>
std::string error_text(F&& f) {
  try {
    f();
  } catch (const pn::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// An empty folder under the system temp dir, named after the test; removed first if present.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("penumbra-test-" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace pn::test

#define CHECK_ERROR_HAS(call, ...)                                        \
  do {                                                                    \
    std::string _msg = ::pn::test::error_text([&] { call; });              \
    INFO(_msg);                                                           \
    for (const char* _want : {__VA_ARGS__}) CHECK(_msg.find(_want) != std::string::npos); \
  } while (0)
