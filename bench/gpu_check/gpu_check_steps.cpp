// gpu_check steps: one network's training iteration on the CUDA device (gpu_check_nets.h).
// Writes <out>/<net>_init.safetensors (initial weights, buffers and inputs; metadata
// "config": the sizes as JSON) before the first iteration and <out>/<net>_step.safetensors
// (that iteration's losses, gradients, discriminator weights after its Adam step) after it;
// then times --reps further iterations (median, after one warm-up) and reads the caching
// allocator's peak. tools/gpu_check/torch_steps.py runs the same iteration in PyTorch from
// these files and compares.
#include <string>

#include "autograd/cuda/device_allocator.h"
#include "bench/gpu_check/gpu_check.h"
#include "bench/gpu_check/gpu_check_nets.h"
#include "bench/gpu_check/gpu_check_util.h"
#include "nn/safetensors.h"

namespace pn::gpu_check {

int run_steps(const StepsOptions& opt) {
  auto check = make_net_check(opt.net, opt.scale);
  const std::string config = check->config().dump();
  const std::string base = opt.out_dir + "/" + opt.net;
  nn::save_safetensors(base + "_init.safetensors", check->initial_state(), {{"config", config}});
  check->to(Device::cuda());
  StepRecord record;
  DeviceTimer timer;
  const double first_ms = timer.milliseconds([&] { check->iteration(&record); });
  nn::save_safetensors(base + "_step.safetensors", record.tensors, {{"config", config}});
  const double ms = timer.median_ms([&] { check->iteration(nullptr); }, opt.reps, 1);
  const auto stats = cuda::device_memory_stats(0);
  Line("steps")
      .add("net", opt.net)
      .add("scale", opt.scale)
      .add("first_ms", first_ms)
      .add("ms", ms)
      .add("reps", opt.reps)
      .add("peak_bytes", stats.peak_bytes_in_use)
      .add("device_mallocs", static_cast<int64_t>(stats.device_mallocs))
      .add("init", opt.net + "_init.safetensors")
      .add("step", opt.net + "_step.safetensors")
      .print();
  return 0;
}

}  // namespace pn::gpu_check
