// diff_checkpoints: per-tensor max |a - b| and relative error, missing tensors and shape
// mismatches reported as structural problems, NaN on either side a difference.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "experiments/run/checkpoint_diff.h"
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

TEST_CASE("diff_checkpoints: NaN on either side is a difference; equal infinities are not") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("pn_ckdiff_nan_{}", ::getpid());
  fs::create_directories(dir);
  const std::string good = (dir / "good.safetensors").string(), bad = (dir / "bad.safetensors").string(),
                    inf = (dir / "inf.safetensors").string();
  nn::save_safetensors(good, {{"w", Tensor::from_vector(std::vector<double>{1, 2, INFINITY}, {3})}});
  nn::save_safetensors(bad, {{"w", Tensor::from_vector(std::vector<double>{1, NAN, INFINITY}, {3})}});
  nn::save_safetensors(inf, {{"w", Tensor::from_vector(std::vector<double>{1, 2, -INFINITY}, {3})}});
  for (const auto& [a, b] : {std::pair{good, bad}, std::pair{bad, good}, std::pair{bad, bad}}) {
    const auto d = experiments::diff_checkpoints(a, b);
    REQUIRE(d.tensors.size() == 1);
    CHECK(d.structural_problem);
    CHECK(d.tensors[0].problem.find("NaN: ") != std::string::npos);
  }
  CHECK(experiments::diff_checkpoints(good, bad).tensors[0].problem.find("0 value(s) in " + good + ", 1 in " + bad) !=
        std::string::npos);
  const auto same = experiments::diff_checkpoints(good, good);
  CHECK_FALSE(same.structural_problem);
  CHECK(same.worst_rel == 0);
  const auto flipped = experiments::diff_checkpoints(good, inf);
  CHECK_FALSE(flipped.structural_problem);
  CHECK(std::isinf(flipped.tensors[0].max_abs));
  CHECK(std::isinf(flipped.worst_rel));
  fs::remove_all(dir);
}
