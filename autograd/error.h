// pn::Error, the one exception type of Penumbra, and PN_CHECK, which throws it with a
// formatted message. Messages name the op and the shapes involved.
#pragma once
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stdexcept>
#include <string>

namespace pn {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace pn

#define PN_CHECK(cond, ...)                                 \
  do {                                                      \
    if (!(cond)) throw ::pn::Error(fmt::format(__VA_ARGS__)); \
  } while (0)

#define PN_FAIL(...) throw ::pn::Error(fmt::format(__VA_ARGS__))
