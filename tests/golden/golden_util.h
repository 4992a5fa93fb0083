// Helpers of the PyTorch golden tests: fixture loading, weights into modules, and the
// norm-relative comparison the tests use (max |a - b| / max |b|, float32 runs against
// float64 references computed on the same float32 values).
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include "nn/module.h"
#include "nn/safetensors.h"

namespace pn::golden {

inline std::string fixture_path(const std::string& name) {
  const char* src = std::getenv("PENUMBRA_SOURCE_DIR");
  REQUIRE_MESSAGE(src != nullptr, "PENUMBRA_SOURCE_DIR is not set (run through CTest)");
  return std::string(src) + "/tests/golden/fixtures/" + name + ".safetensors";
}

inline nn::SafetensorsFile load_fixture(const std::string& name) { return nn::load_safetensors(fixture_path(name)); }

inline Tensor get(const nn::SafetensorsFile& f, const std::string& name) {
  const Tensor* t = f.find(name);
  REQUIRE_MESSAGE(t != nullptr, "fixture lacks tensor " << name);
  return *t;
}

// Float32 copy of a fixture tensor (the values are float32-exact by construction).
inline Tensor get32(const nn::SafetensorsFile& f, const std::string& name) { return get(f, name).to(DType::Float32); }

// Copies every parameter and buffer of m from "<prefix><name>", and checks that the
// fixture has no tensor under the prefix that m lacks (names must correspond one to one).
inline void load_weights(nn::Module& m, const nn::SafetensorsFile& f, const std::string& prefix) {
  std::set<std::string> used;
  auto all = m.named_parameters();
  auto bufs = m.named_buffers();
  all.insert(all.end(), bufs.begin(), bufs.end());
  for (auto& [name, t] : all) {
    Tensor src = get(f, prefix + name);
    REQUIRE_MESSAGE(src.shape() == t.shape(), name << ": model " << t.desc() << ", fixture " << src.desc());
    Tensor dst = t;
    dst.copy_(src);
    used.insert(prefix + name);
  }
  for (auto& [name, t] : f.tensors)
    if (name.rfind(prefix, 0) == 0) CHECK_MESSAGE(used.count(name) == 1, "fixture tensor " << name << " has no counterpart");
}

// max |a - b| / max(max |ref|, floor). The floor serves gradients that are zero by
// structure (a bias whose per-channel constant a later normalisation cancels): float32
// rounding leaves ~1e-9 there where float64 leaves ~1e-17, so they are measured against
// the scale of the model's gradients instead.
inline double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

inline double rel_error(const Tensor& a, const Tensor& ref, double floor = 1e-30) {
  REQUIRE_MESSAGE(a.shape() == ref.shape(), a.desc() << " vs " << ref.desc());
  auto va = a.to_vector(), vb = ref.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    diff = std::max(diff, std::abs(va[i] - vb[i]));
    scale = std::max(scale, std::abs(vb[i]));
  }
  return diff / std::max(scale, floor);
}

constexpr double kTol = 1e-4;

// Compares every parameter and buffer of m with "<prefix><name>" of the fixture.
inline void check_weights(nn::Module& m, const nn::SafetensorsFile& f, const std::string& prefix,
                          double tol = kTol) {
  auto all = m.named_parameters();
  auto bufs = m.named_buffers();
  all.insert(all.end(), bufs.begin(), bufs.end());
  double worst = 0;
  for (auto& [name, t] : all) {
    const double e = rel_error(t, get(f, prefix + name));
    worst = std::max(worst, e);
    CHECK_MESSAGE(e < tol, prefix << name << ": relative error " << e);
  }
  MESSAGE(prefix << "*: worst relative error " << worst << " over " << all.size() << " tensors");
}

}  // namespace pn::golden
