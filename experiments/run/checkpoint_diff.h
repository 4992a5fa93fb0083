// Comparing two safetensors checkpoints tensor by tensor: the data-parallel equivalence
// tests (2 ranks against 1 process) and users checking that two runs agree. Relative error
// of a tensor = max |a - b| / max(max |a|, floor): the floor keeps tensors that are zero by
// construction from dividing by nothing. A NaN on either side makes the tensor differ
// (a problem, whatever the tolerance); equal infinities do not differ, unequal ones do.
#pragma once
#include <string>
#include <vector>

namespace pn::experiments {

struct TensorDiff {
  std::string name;
  std::string problem;        // non-empty: missing on one side, shapes differ, or NaN on either side
  double max_abs = 0, max_ref = 0, rel = 0;
};

struct CheckpointDiff {
  std::vector<TensorDiff> tensors;  // in the first file's order, then names only in the second
  double worst_rel = 0;
  std::string worst;                // the tensor with worst_rel
  bool structural_problem = false;  // any tensor with a problem
};

CheckpointDiff diff_checkpoints(const std::string& a, const std::string& b, double floor = 1e-12);

}  // namespace pn::experiments
