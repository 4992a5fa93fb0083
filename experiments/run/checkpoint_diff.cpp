#include "experiments/run/checkpoint_diff.h"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <set>

#include "nn/safetensors.h"

namespace pn::experiments {

CheckpointDiff diff_checkpoints(const std::string& a_path, const std::string& b_path, double floor) {
  const nn::SafetensorsFile a = nn::load_safetensors(a_path), b = nn::load_safetensors(b_path);
  CheckpointDiff d;
  std::set<std::string> in_a;
  for (const auto& [name, ta] : a.tensors) {
    in_a.insert(name);
    TensorDiff t{name, "", 0, 0, 0};
    const Tensor* tb = b.find(name);
    if (!tb) t.problem = "only in " + a_path;
    else if (tb->shape() != ta.shape())
      t.problem = fmt::format("shape {} against {}", shape_str(ta.shape()), shape_str(tb->shape()));
    if (t.problem.empty()) {
      const auto va = ta.to_vector(), vb = tb->to_vector();
      int64_t nan_a = 0, nan_b = 0;
      for (size_t i = 0; i < va.size(); ++i) {
        nan_a += std::isnan(va[i]);
        nan_b += std::isnan(vb[i]);
        if (std::isnan(va[i]) || std::isnan(vb[i])) continue;
        t.max_abs = std::max(t.max_abs, va[i] == vb[i] ? 0.0 : std::abs(va[i] - vb[i]));  // inf = inf: no difference
        if (std::isfinite(va[i])) t.max_ref = std::max(t.max_ref, std::abs(va[i]));
      }
      // NaN on either side is a difference, whatever the tolerance.
      if (nan_a || nan_b)
        t.problem = fmt::format("NaN: {} value(s) in {}, {} in {}", nan_a, a_path, nan_b, b_path);
      t.rel = std::isinf(t.max_abs) ? t.max_abs : t.max_abs / std::max(t.max_ref, floor);
    }
    d.structural_problem |= !t.problem.empty();
    if (t.problem.empty() && t.rel > d.worst_rel) d.worst_rel = t.rel, d.worst = name;
    d.tensors.push_back(std::move(t));
  }
  for (const auto& [name, tb] : b.tensors)
    if (!in_a.count(name)) {
      d.tensors.push_back({name, "only in " + b_path, 0, 0, 0});
      d.structural_problem = true;
    }
  return d;
}

}  // namespace pn::experiments
