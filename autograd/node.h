// Node: one recorded op on the tape. It holds an edge per input (to the Node that made
// that input, or to the leaf tensor itself) and a backward function that maps the output
// gradient to input gradients. Backward functions are written with Tensor ops, so with
// create_graph they record themselves too, which is how second derivatives happen.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace pn {

struct Node;

struct Edge {
  std::shared_ptr<Node> fn;          // set when the input was made by an op
  std::shared_ptr<TensorImpl> leaf;  // set when the input is a leaf that requires grad
  bool active() const { return fn || leaf; }
};

// need[i]: whether the gradient of input i is wanted in this pass.
using NeedMask = std::vector<bool>;
using Grads = std::vector<Tensor>;
using BackwardFn = std::function<Grads(const Tensor& grad_out, const NeedMask& need)>;

struct Node {
  std::string op;
  std::string inputs_desc;  // "float32[2, 3] cpu, float32[3] cpu", for error messages
  std::vector<Edge> edges;
  std::vector<Shape> input_shapes;
  Shape out_shape;
  BackwardFn backward;
  bool released = false;  // its saved tensors were freed by a backward without retain_graph
  // Whether `backward` accepts a gradient of any shape that broadcasts to out_shape (a sum's
  // gradient, size 1 along the summed axes; the engine materialises it for every other node,
  // for leaves and for grad()): the broadcast never has to be stored at full size.
  bool takes_broadcast_grad = false;
  std::string where() const { return "op '" + op + "' (inputs " + inputs_desc + ")"; }
};

// Records `out = op(inputs)` when grad mode is on and some input requires grad; then `out`
// requires grad and gets the node. The closure should capture what backward needs.
void record(Tensor& out, const char* op, const std::vector<Tensor>& inputs, BackwardFn fn);

// True when recording would happen for these inputs.
bool needs_record(const std::vector<Tensor>& inputs);

}  // namespace pn
