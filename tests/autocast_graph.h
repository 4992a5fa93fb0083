// Test helpers that read the dtypes of a recorded autograd graph: which ops made a tensor and
// what their inputs were (Node::inputs_desc, "bfloat16[2, 4, 8, 8] cpu, ..."), and how many
// activations an autocast scope cast from 16 bits back to float32. Used by the mixed-precision
// tests that check a model stays 16-bit between its blocks (tests/nn/test_autocast_norm.cpp,
// tests/models/test_autocast_gans.cpp).
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "autograd/tensor.h"

namespace pn::test {

// Every recorded op of the graph that made y: op name -> the input descriptions of its nodes.
inline std::map<std::string, std::vector<std::string>> ops_of(const Tensor& y) {
  std::map<std::string, std::vector<std::string>> ops;
  std::vector<std::shared_ptr<Node>> stack{y.grad_fn()};
  std::set<const Node*> seen;
  while (!stack.empty()) {
    std::shared_ptr<Node> n = stack.back();
    stack.pop_back();
    if (!n || !seen.insert(n.get()).second) continue;
    ops[n->op].push_back(n->inputs_desc);
    for (const Edge& e : n->edges) stack.push_back(e.fn);
  }
  return ops;
}

// How many casts in ops read a tensor of dtype `name` ("bfloat16", "float16"): under autocast
// the casts of 16-bit activations back to float32 (casts of float32 weights and inputs to 16
// bits read float32).
inline int casts_from(const std::map<std::string, std::vector<std::string>>& ops, const std::string& name) {
  int n = 0;
  if (auto it = ops.find("to_dtype"); it != ops.end())
    for (const std::string& in : it->second) n += in.rfind(name + "[", 0) == 0;
  return n;
}

}  // namespace pn::test
