// Chapter 7: data parallelism on two ranks (threads of this process, thread_ranks.h). Each
// rank builds a small 2-D U-Net from its own seed, takes rank 0's weights with
// broadcast_state, runs forward and backward on its one sample and averages gradients with
// nn::DataParallel. With synchronised batch norm the averaged gradients equal those of one
// process on the batch of two; without it they do not. Also: how many all-reduce calls
// average_gradients makes for a given bucket size.
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/engine.h"
#include "autograd/generator.h"
#include "autograd/ops/concat.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "examples/data_parallel/thread_ranks.h"
#include "examples/example_check.h"
#include "models/unet.h"
#include "nn/data_parallel.h"

using namespace pn;
using pn::examples::check;

namespace {

models::UNetConfig small_unet() {
  models::UNetConfig c;
  c.dims = 2, c.base_filters = 4, c.depth = 2;
  return c;
}

// Every parameter's gradient, in order, as one vector.
std::vector<double> gradients(const nn::Module& net) {
  std::vector<double> out;
  for (const auto& [name, p] : net.named_parameters()) {
    const auto g = p.grad().to_vector();
    out.insert(out.end(), g.begin(), g.end());
  }
  return out;
}

// Largest |a - b| relative to the largest |b|.
double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i])), scale = std::max(scale, std::abs(b[i]));
  return diff / scale;
}

// The loss: mean squared error over every element, i.e. the mean over samples of each
// sample's mean (all samples have the same size).
Tensor loss_of(models::SegmentationUNet& net, const Tensor& x, const Tensor& target) {
  return mean(square(net.forward(x) - target));
}

struct RankResult {
  std::vector<double> grads;
  int allreduce_calls = 0;  // made by average_gradients alone
};

// Two ranks, one sample each; returns rank 0's averaged gradients.
RankResult two_ranks(const Tensor& x, const Tensor& target, bool sync_bn, int64_t bucket_bytes, bool broadcast = true) {
  RankResult result;
  examples::run_ranks(2, [&](const nn::Collectives& comm) {
    const int r = comm.rank();
    Generator gen(r == 0 ? 1 : 99);  // different initial weights on purpose: broadcast_state fixes them
    models::SegmentationUNet net(small_unet(), gen);
    nn::DataParallel dp(comm, {&net}, bucket_bytes);
    if (broadcast) dp.broadcast_state();
    if (sync_bn) nn::enable_sync_batch_norm(net, comm);
    loss_of(net, nn::rank_slice(x, r, 2), nn::rank_slice(target, r, 2)).backward();
    auto& threads = static_cast<examples::ThreadCommunicator&>(*comm.host);
    const int before = threads.world().allreduce_calls;  // rank 0 counts its own calls
    dp.average_gradients();
    if (r == 0) result.grads = gradients(net), result.allreduce_calls = threads.world().allreduce_calls - before;
  });
  return result;
}

}  // namespace

int main() {
  Generator data(5);
  Tensor x = Tensor::randn({2, 1, 16, 16}, data), target = Tensor::randn({2, 2, 16, 16}, data);

  Generator gen(1);  // rank 0's seed: the weights every rank ends up with
  models::SegmentationUNet single(small_unet(), gen);
  loss_of(single, x, target).backward();
  const std::vector<double> want = gradients(single);

  const double with_sync = relative_difference(two_ranks(x, target, true, int64_t{4} << 20).grads, want);
  check(with_sync < 1e-5, fmt::format("2 ranks x batch 1 with sync batch norm == 1 process x batch 2 "
                                      "(relative difference {:.2g})", with_sync));
  const double without = relative_difference(two_ranks(x, target, false, int64_t{4} << 20).grads, want);
  check(without > 1e-2, fmt::format("without sync batch norm each rank normalises its one sample alone: "
                                    "relative difference {:.2g}", without));
  const double unsynced_weights = relative_difference(two_ranks(x, target, true, int64_t{4} << 20, false).grads, want);
  check(unsynced_weights > 1e-2, fmt::format("without broadcast_state the replicas start from different weights: "
                                             "relative difference {:.2g}", unsynced_weights));

  // Buckets: gradients are packed into flat buffers of about bucket_bytes, one all-reduce each.
  const int64_t parameters = static_cast<int64_t>(single.named_parameters().size());
  const int one_bucket = two_ranks(x, target, true, int64_t{1} << 30).allreduce_calls;
  const int per_parameter = two_ranks(x, target, true, 1).allreduce_calls;
  check(one_bucket == 1 && per_parameter == parameters,
        fmt::format("average_gradients: {} all-reduce with a 1 GiB bucket, {} with 1-byte buckets (one per "
                    "parameter tensor, {} of them)", one_bucket, per_parameter, parameters));
  return pn::examples::exit_status();
}
