// penumbra: the one command-line program. Subcommands come from the command groups
// (see command.h); this file only builds the app, runs it, and turns errors into messages.
// Exit codes: 0 success; 1 an error (its message on stderr, and in the run's log.txt when
// a training run was open); 128 + N a training run stopped by signal N after saving its
// state (130 SIGINT, 143 SIGTERM: experiments/run/stop_signals.h); CLI11's codes for bad usage.
#include <algorithm>
#include <cstdio>

#include "autograd/error.h"
#include "experiments/cli/command.h"
#include "experiments/run/stop_signals.h"
#include "nn/communicator.h"

namespace pn::cli {
std::vector<CommandGroup>& command_groups() {
  static std::vector<CommandGroup> groups;
  return groups;
}
}  // namespace pn::cli

int main(int argc, char** argv) {
  CLI::App app{"penumbra: synthetic stroke MRI with GANs and U-Nets, on CPU and CUDA"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "penumbra 0.1.0");
  auto& groups = pn::cli::command_groups();
  std::sort(groups.begin(), groups.end(), [](auto& a, auto& b) { return a.order < b.order; });
  for (auto& g : groups) g.add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const pn::experiments::Interrupted& e) {
    return e.exit_code();  // every rank stops here alike; rank 0 printed how to resume
  } catch (const pn::Error& e) {
    std::fprintf(stderr, "penumbra: error: %s\n", e.what());
    pn::nn::abort_ranks_on_fatal_error(e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "penumbra: unexpected error: %s\n", e.what());
    pn::nn::abort_ranks_on_fatal_error(e.what());
    return 1;
  }
  return 0;
}
