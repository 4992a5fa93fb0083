// gpu_check: the C++ half of tools/gpu_check.sh (the first run on a real GPU). One program,
// four subcommands, each printing "GPU_CHECK kind=..." result lines (gpu_check_util.h):
//   bigsum  fill and sum over more than 2^31 float32 elements against exact values
//   conv    the segmentation U-Net's 3x3x3 convolutions through our cuDNN wrappers
//   igemm   our implicit-GEMM convolution against cuDNN (run.conv), timed, compared
//   steps   one training iteration of a network, weights and gradients exported for PyTorch
// Built twice: gpu_check (real CUDA backend) and gpu_check_emu (the CPU emulator), so that
// `tools/gpu_check.sh --dry-run` exercises the whole procedure at tiny sizes without a GPU.
// Sizes: `paper` reads experiments/config/presets/paper.toml; `small` and `tiny` are reductions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/op_geometry.h"

namespace pn::gpu_check {

// The segmentation U-Net's sizes (segment.* and data.grid of a preset).
struct UNetSize {
  int64_t batch = 5, in_channels = 1, classes = 2, base_filters = 32;
  int depth = 4;
  int64_t grid[3] = {32, 128, 128};  // D, H, W
};
UNetSize unet_size(const std::string& scale);  // paper | small | tiny

// One distinct convolution geometry and the layers (model parameter paths) that have it.
struct ConvCase {
  std::string layers;  // e.g. "down0.3,upconv0.3"
  kernels::ConvGeom geom;
};
// Every 3x3x3 convolution of the U-Net (two per level, bottleneck, two per decoder level),
// one case per distinct geometry, in network order.
std::vector<ConvCase> unet_conv_cases(const UNetSize& s);

struct ConvOptions {
  std::string out_dir;
  std::vector<bool> tf32_modes{false, true};
  std::vector<std::string> half_modes;  // "bf16", "fp16": the 16-bit storage rows
  int reps = 5;
};
int run_conv(const UNetSize& size, const ConvOptions& opt);

// Our implicit-GEMM convolution against cuDNN (gpu_check_igemm.cpp): the first two levels'
// second convolutions, three directions, `reps` timed runs each.
int run_igemm(const UNetSize& size, int reps);

struct BigSumOptions {
  int64_t elements = (int64_t{1} << 31) + 7;
  int reps = 3;
  bool plant_lost_element = false;  // tests only: the tail fill misses the last element
};
int run_bigsum(const BigSumOptions& opt);

struct StepsOptions {
  std::string net;    // unet | pix2pix | spade | wgan
  std::string scale;  // paper | small | tiny
  std::string out_dir;
  int reps = 5;
  std::string precision = "fp32";  // fp32 | bf16 | fp16 (gpu_check_nets.h)
};
// Files <out>/<net>[_<precision>]_{init,step}.safetensors (no suffix for fp32).
int run_steps(const StepsOptions& opt);

}  // namespace pn::gpu_check
