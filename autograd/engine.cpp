#include "autograd/engine.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/profile.h"

namespace pn {

namespace {

thread_local bool g_grad_enabled = true;

std::string describe(const std::vector<Tensor>& ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i) s += ", ";
    s += ts[i].defined() ? ts[i].desc() : "undefined";
  }
  return s;
}

// Gradients add in their dtype; 16-bit storage ones (mixed precision) add in float32 with one
// rounding (the 16-bit add kernel widens each element: kernels/cpu/elementwise.h).
Tensor accumulate(const Tensor& acc, const Tensor& g) { return acc.defined() ? add(acc, g) : g; }

// A broadcast gradient (Node::takes_broadcast_grad) made whole, for whoever needs it so.
Tensor whole(const Tensor& g, const Shape& shape) { return g.shape() == shape ? g : expand(g, shape); }

// One backward pass. With `capture` (the grad() API) gradients flowing into the captured
// tensors are returned instead of being accumulated into leaves' .grad.
struct Pass {
  bool retain = false;
  bool create = false;
  bool capturing = false;
  std::unordered_map<const TensorImpl*, size_t> capture_leaf;  // leaf impl -> input index
  std::unordered_map<const Node*, size_t> capture_node;        // grad_fn -> input index
  std::vector<Tensor> captured;

  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, bool> needed;
  std::vector<Node*> order;  // every node reached, for release

  void collect(const std::vector<Node*>& roots) {
    std::vector<Node*> stack(roots.begin(), roots.end());
    std::unordered_set<Node*> seen(roots.begin(), roots.end());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      order.push_back(n);
      for (auto& e : n->edges) {
        if (!e.fn) continue;
        deps[e.fn.get()] += 1;
        if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
      }
    }
  }

  // A node is needed when it leads to a captured tensor (only computed when capturing).
  bool is_needed(Node* n) {
    if (!capturing) return true;
    auto it = needed.find(n);
    if (it != needed.end()) return it->second;
    needed[n] = false;  // graphs are acyclic; this only guards the recursion
    bool r = capture_node.count(n) > 0;
    for (auto& e : n->edges) {
      if (e.leaf && capture_leaf.count(e.leaf.get())) r = true;
      if (e.fn && is_needed(e.fn.get())) r = true;
    }
    needed[n] = r;
    return r;
  }

  void deliver_leaf(const std::shared_ptr<TensorImpl>& leaf, const Tensor& g_in) {
    const Tensor g = whole(g_in, leaf->shape);
    if (capturing) {
      auto it = capture_leaf.find(leaf.get());
      if (it != capture_leaf.end()) captured[it->second] = accumulate(captured[it->second], g);
      return;
    }
    Tensor gg = create ? g : g.detach();
    leaf->grad = accumulate(leaf->grad, gg);
  }

  // Seeds the roots' gradients: into `grads` per root node (returned, each once), or, for a
  // leaf root, straight to that leaf (its gradient is the seed itself).
  std::vector<Node*> seed_roots(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads,
                                std::unordered_map<Node*, Tensor>& grads) {
    std::vector<Node*> root_nodes;
    for (size_t i = 0; i < roots.size(); ++i) {
      const Tensor& r = roots[i];
      if (!r.grad_fn()) {
        deliver_leaf(r.impl_ptr(), root_grads[i]);
        continue;
      }
      Node* n = r.grad_fn().get();
      grads[n] = accumulate(grads[n], root_grads[i]);
      if (std::find(root_nodes.begin(), root_nodes.end(), n) == root_nodes.end()) root_nodes.push_back(n);
    }
    return root_nodes;
  }

  // Which of n's inputs need a gradient (none without an incoming gradient g): active edges,
  // and when capturing only those that lead to a captured tensor. `any` says if one does.
  NeedMask needed_inputs(Node* n, const Tensor& g, bool& any) {
    NeedMask need(n->edges.size(), false);
    any = false;
    if (!g.defined() || !is_needed(n)) return need;
    for (size_t i = 0; i < n->edges.size(); ++i) {
      const Edge& e = n->edges[i];
      need[i] = e.active() && (!capturing || (e.leaf && capture_leaf.count(e.leaf.get())) ||
                               (e.fn && is_needed(e.fn.get())));
      any = any || need[i];
    }
    return need;
  }

  // n's backward on g, checked: the graph not yet freed, one gradient per input.
  Grads call_backward(Node* n, const Tensor& g, const NeedMask& need) {
    PN_CHECK(!n->released,
             "backward: the graph through {} was already freed by an earlier backward; pass "
             "retain_graph=true to the first backward to go through it twice", n->where());
    Grads gin;
    if (profile::enabled()) [[unlikely]] {
      const profile::Stamp t0 = profile::Stamp::now();
      gin = n->backward(g, need);
      profile::add_node(n->op.c_str(), t0.since());
    } else {
      gin = n->backward(g, need);
    }
    PN_CHECK(gin.size() == n->edges.size(), "backward of {} returned {} gradients for {} inputs",
             n->where(), gin.size(), n->edges.size());
    return gin;
  }

  // Hands n's input gradients on (to the producing node, or to the leaf) and queues every
  // producer whose consumers have all run.
  void propagate(Node* n, const Grads& gin, const NeedMask& need, bool any, std::unordered_map<Node*, Tensor>& grads,
                 std::deque<Node*>& ready) {
    for (size_t i = 0; i < n->edges.size(); ++i) {
      const Edge& e = n->edges[i];
      if (any && need[i] && gin[i].defined()) {
        // The input's shape, or one that broadcasts to it (a sum's gradient).
        PN_CHECK(gin[i].shape() == n->input_shapes[i] ||
                     (gin[i].dim() == static_cast<int>(n->input_shapes[i].size()) &&
                      broadcast_shapes(gin[i].shape(), n->input_shapes[i], "backward") == n->input_shapes[i]),
                 "backward of {}: gradient {} of input {} has shape {}, expected {}", n->where(), i,
                 i, shape_str(gin[i].shape()), shape_str(n->input_shapes[i]));
        if (e.fn) grads[e.fn.get()] = accumulate(grads[e.fn.get()], gin[i]);
        else if (e.leaf) deliver_leaf(e.leaf, gin[i]);
      }
      if (e.fn && --deps[e.fn.get()] == 0) ready.push_back(e.fn.get());
    }
  }

  // Reverse-mode sweep from the roots in dependency order: each node runs once, after every
  // node that consumes its output, with the sum of the gradients they handed it.
  void run(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads) {
    GradModeGuard mode(create);
    const profile::PassScope profiled_as(profile::Pass::Backward);
    std::unordered_map<Node*, Tensor> grads;
    const std::vector<Node*> root_nodes = seed_roots(roots, root_grads, grads);
    collect(root_nodes);
    std::deque<Node*> ready;
    for (Node* n : root_nodes)
      if (deps[n] == 0) ready.push_back(n);
    while (!ready.empty()) {
      Node* n = ready.front();
      ready.pop_front();
      auto git = grads.find(n);
      Tensor g = git == grads.end() ? Tensor() : git->second;
      if (git != grads.end()) grads.erase(git);
      if (capturing && g.defined()) {
        auto it = capture_node.find(n);
        if (it != capture_node.end()) captured[it->second] = accumulate(captured[it->second], whole(g, n->out_shape));
      }
      if (g.defined() && !n->takes_broadcast_grad) g = whole(g, n->out_shape);
      bool any = false;
      const NeedMask need = needed_inputs(n, g, any);
      const Grads gin = any ? call_backward(n, g, need) : Grads{};
      propagate(n, gin, need, any, grads, ready);
    }
    if (!retain)
      for (Node* n : order) {
        n->backward = nullptr;
        n->released = true;
      }
  }
};

Tensor seed_grad(const Tensor& out, const Tensor& g, const char* api) {
  if (g.defined()) {
    PN_CHECK(g.shape() == out.shape(), "{}: gradient shape {} does not match output shape {}", api,
             shape_str(g.shape()), shape_str(out.shape()));
    return g;
  }
  if (out.numel() != 1) {
    std::string src = out.grad_fn() ? out.grad_fn()->where() : std::string("a leaf");
    PN_FAIL("{}: a gradient can be implied only for a one-element output; this output is {} from "
            "{}: pass its gradient explicitly", api, out.desc(), src);
  }
  return Tensor::ones(out.shape(), out.dtype(), out.device());
}

}  // namespace

bool GradMode::enabled() { return g_grad_enabled; }
void GradMode::set_enabled(bool on) { g_grad_enabled = on; }

bool needs_record(const std::vector<Tensor>& inputs) {
  if (!GradMode::enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& out, const char* op, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!needs_record(inputs)) return;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs_desc = describe(inputs);
  node->out_shape = out.shape();
  for (const auto& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      if (t.grad_fn()) e.fn = t.grad_fn();
      else e.leaf = t.impl_ptr();
    }
    node->edges.push_back(e);
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  node->backward = std::move(fn);
  out.set_grad_fn(std::move(node));
}

void backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph) {
  PN_CHECK(root.defined(), "backward: called on an undefined tensor");
  PN_CHECK(root.requires_grad(),
           "backward: the output {} does not require grad (no input of the computation requires "
           "grad, or it ran under NoGrad)", root.desc());
  Pass p;
  p.retain = retain_graph || create_graph;
  p.create = create_graph;
  p.run({root}, {seed_grad(root, grad, "backward")});
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph,
                         int retain_graph, bool allow_unused) {
  PN_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
           "grad: {} outputs but {} grad_outputs", outputs.size(), grad_outputs.size());
  Pass p;
  p.retain = retain_graph < 0 ? create_graph : retain_graph != 0;
  p.create = create_graph;
  p.capturing = true;
  p.captured.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    PN_CHECK(inputs[i].defined() && inputs[i].requires_grad(),
             "grad: input {} ({}) does not require grad", i,
             inputs[i].defined() ? inputs[i].desc() : "undefined");
    if (inputs[i].grad_fn()) p.capture_node[inputs[i].grad_fn().get()] = i;
    else p.capture_leaf[inputs[i].impl()] = i;
  }
  std::vector<Tensor> seeds;
  for (size_t k = 0; k < outputs.size(); ++k) {
    PN_CHECK(outputs[k].requires_grad(), "grad: output {} ({}) does not require grad", k, outputs[k].desc());
    seeds.push_back(seed_grad(outputs[k], grad_outputs.empty() ? Tensor() : grad_outputs[k], "grad"));
  }
  p.run(outputs, seeds);
  for (size_t i = 0; i < inputs.size(); ++i)
    PN_CHECK(allow_unused || p.captured[i].defined(),
             "grad: the outputs do not depend on input {} ({}); pass allow_unused=true to accept", i,
             inputs[i].desc());
  return p.captured;
}

}  // namespace pn
