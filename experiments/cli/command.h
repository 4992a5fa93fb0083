// The `penumbra` program's subcommand registry. Each command group lives in its own
// file and registers itself with a static PN_REGISTER_COMMANDS(fn) line, so adding a
// group never touches main.cpp. fn adds subcommands (CLI11) to the top-level app.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace pn::cli {

using Registrar = std::function<void(CLI::App& app)>;

struct CommandGroup {
  std::string name;
  int order;  // position in --help
  Registrar add;
};

std::vector<CommandGroup>& command_groups();

struct RegisterCommands {
  RegisterCommands(std::string name, int order, Registrar fn) {
    command_groups().push_back({std::move(name), order, std::move(fn)});
  }
};

}  // namespace pn::cli

#define PN_CONCAT_INNER(a, b) a##b
#define PN_CONCAT(a, b) PN_CONCAT_INNER(a, b)
#define PN_REGISTER_COMMANDS(name, order, fn) \
  static ::pn::cli::RegisterCommands PN_CONCAT(pn_register_, __LINE__)(name, order, fn)
