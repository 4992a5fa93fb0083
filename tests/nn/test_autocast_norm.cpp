// Mixed precision through norm layers (autograd/autocast.h rule 2, nn/layers.h Sequential):
// under a bf16 / fp16 autocast scope a bias-free conv hands its 16-bit result to the fused
// batch norm + ReLU, which returns 16 bits to the next conv; statistics, running buffers and
// parameter gradients stay float32; the Sequential's output is float32 again; a conv with a
// bias hands 16 bits on too, its bias added in 16 bits, and so does a conv before an unfused
// norm (rule 1b); without the scope the norm sees float32 as before. The
// U-Net's blocks hand their 16-bit outputs on: max-pool and the skip concatenation run in 16
// bits, and the only cast of an activation back to float32 is the head's, before its bias.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/node.h"
#include "autograd/ops/reduce.h"
#include "autocast_graph.h"
#include "models/unet.h"
#include "nn/layers.h"

using namespace pn;

namespace {

// A batch norm layer that records the dtypes it is given and returns.
struct ProbeBatchNorm : nn::BatchNorm {
  explicit ProbeBatchNorm(int64_t c) : nn::BatchNorm(c) {}
  std::vector<DType> in, out;
  Tensor forward(const Tensor& x) override { return record(x, nn::BatchNorm::forward(x)); }
  Tensor forward_act(const Tensor& x, double slope) override { return record(x, nn::BatchNorm::forward_act(x, slope)); }
  Tensor record(const Tensor& x, Tensor y) {
    in.push_back(x.dtype()), out.push_back(y.dtype());
    return y;
  }
};

struct Block {
  std::shared_ptr<nn::Sequential> seq = std::make_shared<nn::Sequential>();
  std::shared_ptr<ProbeBatchNorm> bn1, bn2;
  Block(bool bias, Generator& gen) {
    const nn::ConvOptions o{3, 3, 1, 1, bias, nn::Init::he_normal()};
    seq->add(std::make_shared<nn::Conv>(2, 4, o, gen));
    bn1 = seq->add(std::make_shared<ProbeBatchNorm>(4));
    seq->add(std::make_shared<nn::ReLU>());
    seq->add(std::make_shared<nn::Conv>(4, 4, o, gen));
    bn2 = seq->add(std::make_shared<ProbeBatchNorm>(4));
    seq->add(std::make_shared<nn::ReLU>());
  }
};

}  // namespace

TEST_CASE("autocast keeps a 16-bit activation 16-bit through conv -> batch norm + ReLU -> conv") {
  for (DType t : {DType::BFloat16, DType::Float16}) {
    INFO(dtype_name(t));
    Generator gen(1603);
    Block b(false, gen);
    Tensor x = Tensor::randn({2, 2, 4, 6, 5}, gen);
    Tensor y;
    {
      AutocastScope mixed(t);
      y = b.seq->forward(x);
    }
    CHECK(b.bn1->in == std::vector<DType>{t});
    CHECK(b.bn1->out == std::vector<DType>{t});
    CHECK(b.bn2->in == std::vector<DType>{t});  // the second conv returned 16 bits too
    CHECK(b.bn2->out == std::vector<DType>{t});
    CHECK(y.dtype() == DType::Float32);  // cast back on leaving the Sequential
    sum(y).backward();
    for (const auto& [name, p] : b.seq->named_parameters()) {
      INFO(name);
      REQUIRE(p.grad().defined());
      CHECK(p.grad().dtype() == DType::Float32);
    }
    for (const auto& [name, r] : b.seq->named_buffers()) {
      INFO(name);
      CHECK(r.dtype() == DType::Float32);
    }
    // The running mean moved from 0: updated from the 16-bit activations' float32 statistics.
    const auto rm = b.seq->named_buffers().front().second.to_vector();
    CHECK(std::any_of(rm.begin(), rm.end(), [](double v) { return v != 0.0; }));
  }
}

TEST_CASE("without autocast the norm sees float32; after a conv with bias or unfused, 16 bits (rule 1b)") {
  Generator gen(1604);
  Tensor x = Tensor::randn({2, 2, 4, 6, 5}, gen);
  Block plain(false, gen);
  (void)plain.seq->forward(x);
  CHECK(plain.bn1->in == std::vector<DType>{DType::Float32});
  Block biased(true, gen);
  {
    AutocastScope mixed(DType::BFloat16);
    (void)biased.seq->forward(x);
  }
  // The biased conv adds its bias in 16 bits and hands them on to the norm (autocast.h, rule 1b).
  CHECK(biased.bn1->in == std::vector<DType>{DType::BFloat16});
  CHECK(biased.bn2->in == std::vector<DType>{DType::BFloat16});
  Block unfused(false, gen);
  unfused.seq->set_fuse_norm_activation(false);
  {
    AutocastScope mixed(DType::BFloat16);
    (void)unfused.seq->forward(x);
  }
  CHECK(unfused.bn1->in == std::vector<DType>{DType::BFloat16});  // an unfused norm takes 16 bits too
}

using test::ops_of;

TEST_CASE("autocast keeps the U-Net 16-bit through max-pool and the skip concatenation") {
  for (DType t : {DType::BFloat16, DType::Float16}) {
    const std::string name = dtype_name(t);
    INFO(name);
    Generator gen(1605);
    models::SegmentationUNet net({.dims = 2, .in_channels = 1, .classes = 2, .base_filters = 4, .depth = 2}, gen);
    net.train();
    const Tensor x = Tensor::randn({2, 1, 16, 12}, gen);
    Tensor logits;
    {
      AutocastScope mixed(t);
      logits = net.forward(x);
    }
    CHECK(logits.dtype() == DType::Float32);  // the head adds its float32 bias in float32
    auto ops = ops_of(logits);
    REQUIRE(ops["max_pool"].size() == 2);
    for (const std::string& in : ops["max_pool"]) CHECK(in.rfind(name + "[", 0) == 0);
    REQUIRE(ops["concat"].size() == 2);
    for (const std::string& in : ops["concat"]) {
      CHECK(in.find(name + "[") == 0);
      CHECK(in.find("float32") == std::string::npos);  // skip and upsampled path both 16-bit
    }
    // Casts of activations: the input to 16 bits, and one 16-bit result back to float32 (the
    // head's); every other cast is a float32 weight's.
    CHECK(test::casts_from(ops, name) == 1);
    sum(logits).backward();
    for (const auto& [pname, p] : net.named_parameters()) {
      INFO(pname);
      REQUIRE(p.grad().defined());
      CHECK(p.grad().dtype() == DType::Float32);
    }
  }
}
