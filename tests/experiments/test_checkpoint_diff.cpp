// diff_checkpoints: per-tensor max |a - b| and relative error, missing tensors and shape
// mismatches reported as structural problems.
#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

#include "experiments/checkpoint_diff.h"
#include "nn/safetensors.h"

using namespace pn;
namespace fs = std::filesystem;

TEST_CASE("diff_checkpoints: relative error per tensor, the worst named; structure checked") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("pn_ckdiff_{}", ::getpid());
  fs::create_directories(dir);
  const std::string a = (dir / "a.safetensors").string(), b = (dir / "b.safetensors").string(),
                    c = (dir / "c.safetensors").string();
  nn::save_safetensors(a, {{"w", Tensor::from_vector(std::vector<double>{1, -4, 2}, {3})},
                           {"z", Tensor::zeros({2})}});
  nn::save_safetensors(b, {{"w", Tensor::from_vector(std::vector<double>{1, -4.5, 2}, {3})},
                           {"z", Tensor::zeros({2})}});
  nn::save_safetensors(c, {{"w", Tensor::zeros({4})}, {"extra", Tensor::zeros({1})}});
  auto d = experiments::diff_checkpoints(a, b);
  REQUIRE(d.tensors.size() == 2);
  CHECK(d.tensors[0].max_abs == doctest::Approx(0.5));
  CHECK(d.tensors[0].max_ref == doctest::Approx(4));
  CHECK(d.worst_rel == doctest::Approx(0.125));
  CHECK(d.worst == "w");
  CHECK(d.tensors[1].rel == 0);
  CHECK_FALSE(d.structural_problem);
  CHECK(experiments::diff_checkpoints(a, a).worst_rel == 0);
  auto s = experiments::diff_checkpoints(a, c);
  CHECK(s.structural_problem);
  REQUIRE(s.tensors.size() == 3);
  CHECK(s.tensors[0].problem.find("shape") != std::string::npos);
  CHECK(s.tensors[1].problem.find("only in") != std::string::npos);
  CHECK(s.tensors[2].name == "extra");
  fs::remove_all(dir);
}
