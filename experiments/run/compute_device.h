// The device a rank computes on, from run.device:
//   "cpu"   the CPU backend;
//   "cuda"  a CUDA device: an error if the program has no GPU support or none is visible;
//   "auto"  CUDA when the program has GPU support and a device is visible, else the CPU.
// Under mpirun each rank takes the device numbered by its local rank (rank on its node), so
// a node runs at most as many ranks as it has devices: more is an error that says how to
// start the job. The device is made current before anything is allocated, and the vendor
// libraries get run.deterministic and TF32 (run.precision = "tf32", or its older spelling
// run.tf32 = true), and float32 convolutions run through cuDNN or our implicit GEMM
// (run.conv, overridden by the environment variable PENUMBRA_CUDA_CONV when set). Every rank's choice is gathered to rank 0 for the run's log and the
// study's report, with the training precision.
#pragma once
#include <string>

#include "autograd/autocast.h"
#include "autograd/dtype.h"
#include "experiments/config/config.h"
#include "nn/communicator.h"

namespace pn::experiments {

struct ComputeDevice {
  Device device;           // this rank's
  Precision precision = Precision::FP32;  // training_precision (experiments/config/training_precision.h); inference ignores bf16/fp16
  std::string summary;     // every rank's device, one line ("2 ranks: rank 0 cuda:0, rank 1 cuda:1 (...)")
  bool gpu() const { return device.is_cuda(); }
};

// Resolves run.device for this rank (a collective over `host`: every rank must call it).
ComputeDevice select_device(const Config& cfg, nn::Communicator& host);

// The same from a bare setting ("auto", "cpu", "cuda"), for commands without a config
// (demo); gpu math options at their defaults.
ComputeDevice select_device(const std::string& setting, nn::Communicator& host);

// For commands that use a trained run (segment predict, maskgan sample and eval, translate
// sample): `setting` when not empty, else the run's own run.device; the run's GPU math
// options (run.deterministic, run.tf32). Prints where it computes.
Device select_device_for_run(const std::string& run_dir, const std::string& setting, const char* command);

// run.conv's value (`configured`), or PENUMBRA_CUDA_CONV's when that is set and not empty;
// throws pn::Error naming the key or variable and the accepted values ("cudnn",
// "implicit_gemm") for anything else.
std::string gpu_conv_setting(const std::string& configured);

}  // namespace pn::experiments
