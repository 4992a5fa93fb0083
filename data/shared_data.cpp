#include "data/shared_data.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "autograd/error.h"

namespace pn::data {
namespace fs = std::filesystem;

namespace {

bool is_shared_data(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "README.md", ec);
}

// `<A>/shared/data` for the ancestors A of `start` (start's parent first).
std::optional<fs::path> search_up(fs::path start) {
  std::error_code ec;
  start = fs::weakly_canonical(start, ec);
  if (ec) return std::nullopt;
  for (fs::path a = start; !a.empty(); a = a.parent_path()) {
    if (is_shared_data(a / "shared" / "data")) return a / "shared" / "data";
    if (a == a.parent_path()) break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> find_shared_data() {
  if (const char* env = std::getenv("PENUMBRA_SHARED_DATA"); env && *env) {
    if (!is_shared_data(env))
      throw Error(std::string("PENUMBRA_SHARED_DATA=") + env +
                  ": not the project's shared data folder (no README.md there); unset it to use procedural data");
    return std::string(env);
  }
  std::error_code ec;
  if (auto p = search_up(fs::current_path(ec))) return p->string();
  if (auto p = search_up(fs::read_symlink("/proc/self/exe", ec).parent_path())) return p->string();
  return std::nullopt;
}

std::optional<std::string> shared_data_path(const std::string& relative) {
  auto dir = find_shared_data();
  if (!dir) return std::nullopt;
  fs::path p = fs::path(*dir) / relative;
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  return p.string();
}

}  // namespace pn::data
