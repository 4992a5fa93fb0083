// `penumbra checkpoint`: looking into safetensors checkpoints.
//   checkpoint show FILE              tensors (name, dtype, shape) and metadata
//   checkpoint diff A B [--tol 1e-5]  per-tensor max |a - b| and relative error; exit 1
//                                     when a tensor is missing, reshaped or off by > tol
#include <cstdio>
#include <memory>

#include "experiments/run/checkpoint_diff.h"
#include "experiments/cli/command.h"
#include "nn/safetensors.h"

namespace pn::cli {
namespace {

int run_show(const std::string& path) {
  const auto f = nn::load_safetensors(path);
  int64_t total = 0;
  for (const auto& [name, t] : f.tensors) {
    std::printf("%-60s %-8s %s\n", name.c_str(), dtype_name(t.dtype()), shape_str(t.shape()).c_str());
    total += t.numel();
  }
  for (const auto& [k, v] : f.metadata) std::printf("metadata %s = %s\n", k.c_str(), v.c_str());
  std::printf("%zu tensors, %lld values\n", f.tensors.size(), (long long)total);
  return 0;
}

int run_diff(const std::string& a, const std::string& b, double tol, bool all) {
  const auto d = experiments::diff_checkpoints(a, b);
  int over = 0;
  for (const auto& t : d.tensors) {
    const bool bad = !t.problem.empty() || t.rel > tol;
    over += bad;
    if (bad || all) {
      if (!t.problem.empty()) std::printf("%-60s %s\n", t.name.c_str(), t.problem.c_str());
      else std::printf("%-60s max |a-b| %.3e, max |a| %.3e, relative %.3e%s\n", t.name.c_str(), t.max_abs, t.max_ref,
                       t.rel, t.rel > tol ? "  > tol" : "");
    }
  }
  std::printf("%zu tensors compared; worst relative difference %.3e (%s); %d over the tolerance %.1e\n",
              d.tensors.size(), d.worst_rel, d.worst.empty() ? "-" : d.worst.c_str(), over, tol);
  return over > 0 ? 1 : 0;
}

void add_checkpoint(CLI::App& app) {
  auto* grp = app.add_subcommand("checkpoint", "Look into safetensors checkpoints: list tensors, compare two runs");
  grp->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto* show = grp->add_subcommand("show", "List the tensors (name, dtype, shape) and metadata of a checkpoint");
  show->add_option("file", *path, "a .safetensors file")->required()->check(CLI::ExistingFile);
  show->callback([path] { run_show(*path); });
  struct DiffOpts {
    std::string a, b;
    double tol = 1e-5;
    bool all = false;
  };
  auto o = std::make_shared<DiffOpts>();
  auto* diff = grp->add_subcommand("diff", "Compare two checkpoints tensor by tensor (exit 1 when they differ)");
  diff->add_option("a", o->a, "first .safetensors file")->required()->check(CLI::ExistingFile);
  diff->add_option("b", o->b, "second .safetensors file")->required()->check(CLI::ExistingFile);
  diff->add_option("--tol", o->tol, "largest relative difference max|a-b| / max|a| allowed per tensor")
      ->capture_default_str();
  diff->add_flag("--all", o->all, "print every tensor, not only those over the tolerance");
  diff->callback([o] {
    if (int rc = run_diff(o->a, o->b, o->tol, o->all)) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("checkpoint", 85, add_checkpoint);

}  // namespace pn::cli
