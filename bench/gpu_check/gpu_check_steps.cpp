// gpu_check steps: one network's training iteration on the CUDA device (gpu_check_nets.h).
// Writes <out>/<net>[_<precision>]_init.safetensors (initial weights, buffers and inputs; metadata
// "config": the sizes and the precision as JSON) before the first iteration and the _step file
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
  check->set_precision(parse_precision(opt.precision, "gpu_check steps --precision"));
  auto cfg = check->config();
  cfg["precision"] = opt.precision;
  const std::string config = cfg.dump();
  const std::string name = opt.net + (opt.precision == "fp32" ? "" : "_" + opt.precision);
  const std::string base = opt.out_dir + "/" + name;
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
      .add("precision", opt.precision)
      .add("first_ms", first_ms)
      .add("ms", ms)
      .add("reps", opt.reps)
      .add("peak_bytes", stats.peak_bytes_in_use)
      .add("device_mallocs", static_cast<int64_t>(stats.device_mallocs))
      .add("init", name + "_init.safetensors")
      .add("step", name + "_step.safetensors")
      .print();
  return 0;
}

}  // namespace pn::gpu_check
