#include "experiments/run/compute_device.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "autograd/error.h"
#include "experiments/config/training_precision.h"
#include "experiments/run/gpu_support.h"
#include "experiments/run/training_run.h"

namespace pn::experiments {

namespace {

GpuSupport*& registered() {
  static GpuSupport* s = nullptr;
  return s;
}

// The device index this rank takes, or -1 for the CPU; throws for an impossible request.
int choose(const std::string& setting, const nn::Communicator& host) {
  PN_CHECK(setting == "auto" || setting == "cpu" || setting == "cuda",
           "run.device = \"{}\": expected \"auto\", \"cpu\" or \"cuda\"", setting);
  if (setting == "cpu") return -1;
  const GpuSupport* gpu = gpu_support();
  if (!gpu) {
    PN_CHECK(setting == "auto",
             "run.device = \"cuda\", but this penumbra was built without CUDA (no nvcc at configure time): "
             "use run.device = \"cpu\", rebuild on a machine with the CUDA toolkit, or run penumbra-emu to "
             "execute the CUDA code on the CPU emulator");
    return -1;
  }
  const int count = gpu->device_count();
  if (count == 0) {
    PN_CHECK(setting == "auto",
             "run.device = \"cuda\", but no {} device is visible on rank {} ({}): check nvidia-smi, the driver "
             "and CUDA_VISIBLE_DEVICES (penumbra info lists what it finds), or use run.device = \"cpu\"",
             gpu->kind, host.rank(), gpu->no_device_reason());
    return -1;
  }
  const int local = host.local_rank();
  PN_CHECK(local < count,
           "rank {} is rank {} on its node, which has {} {} device(s): each rank needs a device of its own "
           "(NCCL does not share one between ranks). Start at most {} rank(s) per node "
           "(mpirun -np N --map-by ppr:{}:node), or use run.device = \"cpu\"",
           host.rank(), local, count, gpu->kind, count, count);
  return local;
}

std::string gather_summary(int index, nn::Communicator& host) {
  std::vector<double> slots(static_cast<size_t>(host.size()), 0.0);
  slots[static_cast<size_t>(host.rank())] = index + 1.0;  // 0 = CPU
  host.allreduce_sum(slots.data(), static_cast<int64_t>(slots.size()));
  std::string s = host.size() == 1 ? "" : std::to_string(host.size()) + " ranks: ";
  for (int r = 0; r < host.size(); ++r) {
    const int d = static_cast<int>(slots[static_cast<size_t>(r)]) - 1;
    if (host.size() > 1) s += (r ? ", rank " : "rank ") + std::to_string(r) + " ";
    s += d < 0 ? "cpu" : "cuda:" + std::to_string(d);
  }
  const GpuSupport* gpu = gpu_support();
  if (index >= 0 && gpu) s += " (" + gpu->describe(index) + ")";
  return s;
}

// The libraries' options as one line of the run's log, read back from them after configure.
std::string library_summary(const GpuMathOptions& held) {
  return std::string("; cuDNN: ") + (held.deterministic ? "deterministic algorithms only" : "fastest algorithms") +
         ", TF32 " + (held.allow_tf32 ? "on" : "off") +
         (held.conv == "implicit_gemm" ? "; convolutions: implicit GEMM (ours; bf16 / fp16 on tensor cores)" : "") +
         (held.cudnn_graphs ? "; norm + activation: cuDNN fused graphs" : "");
}

ComputeDevice select(const std::string& setting, const GpuMathOptions& math, nn::Communicator& host,
                     Precision precision = Precision::FP32) {
  const int index = choose(setting, host);
  if (index >= 0) {
    gpu_support()->activate(index);
    gpu_support()->configure(math);
  }
  ComputeDevice d;
  d.device = index < 0 ? Device::cpu() : Device::cuda(index);
  d.precision = precision;
  d.summary = gather_summary(index, host);
  if (precision != Precision::FP32 && precision != Precision::TF32)
    d.summary += std::string("; mixed precision ") + precision_name(precision) + " (float32 master weights)";
  if (index >= 0) d.summary += library_summary(gpu_support()->configured());
  return d;
}

// The GPU math options a run's config asks for: run.deterministic, TF32 (run.precision or
// run.tf32), run.conv unless the environment variable PENUMBRA_CUDA_CONV overrides it,
// run.cudnn_graphs.
GpuMathOptions gpu_math_options(const Config& cfg) {
  GpuMathOptions math;
  math.deterministic = cfg.boolean("run.deterministic");
  math.allow_tf32 = training_precision(cfg) == Precision::TF32;
  math.conv = gpu_conv_setting(cfg.string("run.conv"));
  math.cudnn_graphs = cfg.boolean("run.cudnn_graphs");
  return math;
}

}  // namespace

void set_gpu_support(GpuSupport s) {
  static GpuSupport stored;
  stored = std::move(s);
  registered() = &stored;
}

const GpuSupport* gpu_support() { return registered(); }

ComputeDevice select_device(const Config& cfg, nn::Communicator& host) {
  return select(cfg.string("run.device"), gpu_math_options(cfg), host, training_precision(cfg));
}

std::string gpu_conv_setting(const std::string& configured) {
  const char* env = std::getenv("PENUMBRA_CUDA_CONV");
  const bool from_env = env && *env;
  const std::string v = from_env ? env : configured;
  PN_CHECK(v == "cudnn" || v == "implicit_gemm",
           "{} = \"{}\": expected \"cudnn\" (the default) or \"implicit_gemm\" (our float32 convolution, "
           "kernels/cuda/conv_igemm.h)",
           from_env ? "PENUMBRA_CUDA_CONV" : "run.conv", v);
  return v;
}

ComputeDevice select_device(const std::string& setting, nn::Communicator& host) {
  return select(setting, GpuMathOptions{}, host);
}

Device select_device_for_run(const std::string& run_dir, const std::string& setting, const char* command) {
  const Config cfg = run_config(run_dir);
  // Inference runs in float32 (or TF32) with the run's convolution choice.
  const ComputeDevice d = select(setting.empty() ? cfg.string("run.device") : setting, gpu_math_options(cfg),
                                 *nn::world_communicator());
  std::printf("%s: computing on %s\n", command, d.summary.c_str());
  return d.device;
}

}  // namespace pn::experiments
