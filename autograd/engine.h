// The reverse-mode engine: walks the graph from the outputs back to the leaves in
// topological order and runs each node's backward function once.
#pragma once
#include <vector>

#include "autograd/tensor.h"

namespace pn {

// Accumulates d(root)/d(leaf), times grad, into .grad of every leaf that requires grad.
// grad may be omitted for a one-element root. Without retain_graph the graph's saved
// tensors are freed. With create_graph the backward pass is itself recorded.
void backward(const Tensor& root, const Tensor& grad = {}, bool retain_graph = false,
              bool create_graph = false);

// Returns d(sum_k <outputs[k], grad_outputs[k]>)/d(inputs[i]) without touching any .grad.
// inputs may be leaves or intermediate tensors. An input the outputs do not depend on
// gets an undefined gradient when allow_unused, and is an error otherwise.
// retain_graph defaults to create_graph, as the common use (a gradient penalty) wants.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         int retain_graph = -1, bool allow_unused = false);

}  // namespace pn
