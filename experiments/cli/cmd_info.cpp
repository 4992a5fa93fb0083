// `penumbra info`: what this build is and what it can run on. Prints the version, the
// CPU backend (always present), and the program's GPU support (experiments/run/gpu_support.h):
// for a CUDA build the toolkit, driver, cuDNN, cuBLAS and NCCL versions (headers built
// against and libraries loaded) with the target architectures, then the GPUs found; for
// penumbra-emu the emulator's settings and emulated devices; where there are none (or the
// build has no CUDA) it says so plainly: the CPU backend is in use.
#include <cstdio>
#include <thread>

#include "experiments/cli/command.h"
#include "experiments/run/gpu_support.h"

namespace pn::cli {
namespace {

int run_info() {
  std::printf("penumbra %s\n", PENUMBRA_VERSION);
  std::printf("CPU backend: always available, %u hardware threads\n", std::thread::hardware_concurrency());
  if (const experiments::GpuSupport* gpu = experiments::gpu_support())
    std::printf("%s", gpu->report().c_str());
  else
    std::printf("CUDA backend: not built (configured without CUDA); no GPU can be used, the CPU backend is in use.\n");
  return 0;
}

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print the build (CUDA, cuDNN, cuBLAS, NCCL, architectures) and devices");
  cmd->callback([] {
    const int rc = run_info();
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

PN_REGISTER_COMMANDS("info", 100, add_info);

}  // namespace pn::cli
