#include "experiments/report/chart_primitives.h"

#include <cctype>

#include "autograd/error.h"

namespace pn::experiments {

Colour::Colour(const char* spec) : Colour(std::string(spec)) {}

Colour::Colour(const std::string& s) {
  if (s == "none") {
    none = true;
    return;
  }
  if (s == "white") r = g = b = 255;
  if (s == "white" || s == "black") return;
  auto nib = [&](char c) {
    PN_CHECK(std::isxdigit(static_cast<unsigned char>(c)), "colour '{}' is not #rgb, #rrggbb, none, white or black", s);
    return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
  };
  PN_CHECK(s.size() == 4 || s.size() == 7, "colour '{}' is not #rgb, #rrggbb, none, white or black", s);
  PN_CHECK(s[0] == '#', "colour '{}' is not #rgb, #rrggbb, none, white or black", s);
  auto channel = [&](size_t i) {
    return static_cast<uint8_t>(s.size() == 4 ? nib(s[1 + i]) * 17 : nib(s[1 + 2 * i]) * 16 + nib(s[2 + 2 * i]));
  };
  r = channel(0), g = channel(1), b = channel(2);
}

Colour Colour::with_alpha(double a) const {
  Colour c = *this;
  c.alpha = a;
  return c;
}

std::string Colour::hex() const { return none ? "none" : fmt::format("#{:02x}{:02x}{:02x}", r, g, b); }

}  // namespace pn::experiments
