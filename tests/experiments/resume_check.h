// Test helper for the trainers' resume tests: a run stopped by SIGTERM after a random step
// k1 (its state saved there), resumed and crashed after a random later step k2 (as a SIGKILL
// would leave it: only what its last checkpoint holds), then resumed to the end, must end
// bit for bit like the uninterrupted run: the same newest checkpoint (every tensor and every
// metadata entry: optimiser steps, generator states...) and the same metrics.csv.
#pragma once
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include "experiments/run/checkpoint_dir.h"
#include "experiments/run/stop_signals.h"
#include "nn/safetensors.h"

namespace pn::test {

inline std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every tensor (bit for bit) and every metadata entry of two checkpoint files.
inline void check_same_checkpoint(const std::filesystem::path& a, const std::filesystem::path& b) {
  INFO(a.string() << " against " << b.string());
  const nn::SafetensorsFile fa = nn::load_safetensors(a.string()), fb = nn::load_safetensors(b.string());
  CHECK(fa.metadata == fb.metadata);
  REQUIRE(fa.tensors.size() == fb.tensors.size());
  for (size_t i = 0; i < fa.tensors.size(); ++i) {
    INFO(fa.tensors[i].first);
    CHECK(fa.tensors[i].first == fb.tensors[i].first);
    CHECK(fa.tensors[i].second.to_vector() == fb.tensors[i].second.to_vector());
  }
}

using AfterStep = std::function<void(int64_t)>;

// train(dir, after_step) trains the run folder dir to its end (or until after_step stops it).
inline void check_interrupted_run_matches(const std::function<void(const std::filesystem::path&, AfterStep)>& train,
                                          const std::filesystem::path& whole, const std::filesystem::path& dir,
                                          int64_t total_steps) {
  static std::mt19937_64 rng(std::random_device{}());
  const int64_t k1 = std::uniform_int_distribution<int64_t>(1, total_steps - 1)(rng);
  const int64_t k2 = std::uniform_int_distribution<int64_t>(k1 + 1, total_steps)(rng);
  MESSAGE(dir.filename().string() << ": SIGTERM after step " << k1 << ", crash after step " << k2 << " of "
                                  << total_steps);
  CHECK_THROWS_AS(train(dir, [k1](int64_t done) {
                    if (done == k1) std::raise(SIGTERM);
                  }),
                  experiments::Interrupted);
  CHECK_THROWS_WITH_AS(train(dir, [k2](int64_t done) {
                         if (done == k2) throw Error("planted crash");
                       }),
                       doctest::Contains("planted crash"), Error);
  train(dir, {});
  const auto newest = [](const std::filesystem::path& run) {
    return experiments::CheckpointDir(run / "checkpoints").list().back();
  };
  CHECK(newest(dir).at == newest(whole).at);
  check_same_checkpoint(newest(whole).path, newest(dir).path);
  CHECK(file_text(dir / "metrics.csv") == file_text(whole / "metrics.csv"));
  CHECK(std::filesystem::exists(dir / "DONE"));
}

}  // namespace pn::test
