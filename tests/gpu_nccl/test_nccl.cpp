// NCCL collectives on device tensors between 2 MPI ranks (one device each), checked against
// the MPI results on the host, and data parallel training through them equal to one process
// with the doubled batch. Built twice: on real GPUs (tests/gpu_nccl, run only where 2 or more
// exist, run_with_gpus.sh) and on 2 emulated devices (tests/nccl_emu, in CI).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "autograd/cuda/cuda_backend.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/loss.h"
#include "nn/communicator.h"
#include "nn/data_parallel.h"
#include "nn/layers.h"
#include "nn/nccl_communicator.h"
#include "nn/optim.h"
// Last: under the emulator runtime.h defines CUDA's keywords as macros.
#include "kernels/cuda/runtime.h"

using namespace pn::nn;

namespace {
// This rank's device: local rank -> device, as select_device does.
pn::Device rank_device(const Communicator& host) {
  int devices = 0;
  REQUIRE(cudaGetDeviceCount(&devices) == cudaSuccess);
  REQUIRE(host.local_rank() < devices);
  REQUIRE(cudaSetDevice(host.local_rank()) == cudaSuccess);
  return pn::Device::cuda(host.local_rank());
}
}  // namespace

TEST_CASE("NCCL all-reduce and broadcast of device tensors agree with MPI on the host") {
  REQUIRE(pn::cuda::install_cuda_backend());
  install_nccl_communicator();
  auto host = world_communicator();
  REQUIRE(host->size() >= 2);
  const pn::Device dev = rank_device(*host);
  auto nccl = device_communicator(host, dev);
  CHECK(nccl->backend() == "nccl");
  const int64_t n = 1000003;  // odd, large enough for several NCCL chunks
  std::vector<float> h(n);
  for (int64_t i = 0; i < n; ++i) h[i] = static_cast<float>((i % 97) * (host->rank() + 1)) * 0.25f;
  std::vector<float> expect = h;
  host->allreduce_sum(expect.data(), n);
  pn::Tensor t = pn::Tensor::from_vector(h, {n}).to(dev);
  nccl->allreduce_sum(t);
  const auto got = t.to_vector();
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += static_cast<float>(got[i]) != expect[i];
  CHECK(bad == 0);
  pn::Tensor token = pn::Tensor::full({1}, host->rank() == 0 ? 4242 : 0, pn::DType::Float64, dev);
  nccl->broadcast(token, 0);
  CHECK(token.item() == 4242);
}

TEST_CASE("data parallel on 2 GPUs through NCCL = 1 CPU process with the doubled batch") {
  REQUIRE(pn::cuda::install_cuda_backend());
  install_nccl_communicator();
  auto host = world_communicator();
  const pn::Device dev = rank_device(*host);
  const Collectives comm{host, device_communicator(host, dev)};
  pn::Generator data_gen(3);
  const int64_t n = 8;
  pn::Tensor x = pn::Tensor::randn({n, 1, 9, 7}, data_gen), y = pn::Tensor::randn({n, 2, 9, 7}, data_gen);
  auto make = [](uint64_t seed) {
    pn::Generator gen(seed);
    auto net = std::make_shared<Sequential>();
    net->add(std::make_shared<Conv>(1, 4, ConvOptions{2, 3, 1, 1, true}, gen));
    net->add(std::make_shared<LeakyReLU>(0.2));
    net->add(std::make_shared<Conv>(4, 2, ConvOptions{2, 3, 1, 1, true}, gen));
    return net;
  };
  auto net = make(100 + host->rank()), ref = make(100);
  net->to(dev);
  DataParallel dp(comm, {net.get()});
  dp.broadcast_state();
  Adam opt(net->named_parameters(), AdamOptions{1e-2}), opt_ref(ref->named_parameters(), AdamOptions{1e-2});
  auto batch = [](const pn::Tensor& t, const std::vector<int64_t>& idx) {
    std::vector<pn::Tensor> rows;
    for (int64_t i : idx) rows.push_back(pn::narrow(t, 0, i, 1));
    return pn::concat(rows, 0);
  };
  for (int64_t s = 0; s < 4; ++s) {
    auto order = epoch_order(n, 7, 0);
    auto mine = rank_batch(order, s % 2, 2, host->rank(), 2), all = rank_batch(order, s % 2, 4, 0, 1);
    opt.zero_grad();
    pn::mse_loss(net->forward(batch(x, mine).to(dev)), batch(y, mine).to(dev)).backward();
    dp.average_gradients();
    opt.step();
    opt_ref.zero_grad();
    pn::mse_loss(ref->forward(batch(x, all)), batch(y, all)).backward();
    opt_ref.step();
  }
  auto pa = net->named_parameters(), pb = ref->named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    auto va = pa[i].second.to_vector(), vb = pb[i].second.to_vector();
    double d = 0;
    for (size_t j = 0; j < va.size(); ++j) d = std::max(d, std::abs(va[j] - vb[j]) / (1 + std::abs(vb[j])));
    CHECK_MESSAGE(d < 1e-4, pa[i].first << ": " << d);
  }
}
