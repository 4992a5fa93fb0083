// Sets the thread-runtime defaults before the runtimes load: see thread_env.h.
#include "kernels/cpu/thread_env.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace pn::cpu {

namespace {

constexpr const char* kMarker = "PENUMBRA_THREAD_DEFAULTS";  // what we added; also stops a second exec

bool unset(const char* v) { return !v || !*v; }

// getenv does not work yet when pre-init functions run (libc sets environ up later), so
// they look in the environment array the loader hands them.
const char* lookup(char** envp, const char* name) {
  const size_t n = std::strlen(name);
  for (char** e = envp; e && *e; ++e)
    if (!std::strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
  return nullptr;
}

// Runs first of all (.preinit_array). Setting the variables here with setenv would not
// last: the C library's own initialiser, which runs after this, points environ back at
// the environment the kernel passed. So when something is missing the program restarts
// itself (execve of /proc/self/exe, same arguments) with the variables added; nothing
// has run yet, so that costs a few milliseconds. PENUMBRA_THREAD_DEFAULTS=0 turns this off.
void apply_thread_defaults(int, char** argv, char** envp) {
  if (!unset(lookup(envp, kMarker))) return;
  const char* coretype = default_blas_coretype();
  const bool add_wait = unset(lookup(envp, "OMP_WAIT_POLICY"));
  const bool add_core = unset(lookup(envp, "OPENBLAS_CORETYPE")) && *coretype;
  if (!add_wait && !add_core) return;
  std::vector<std::string> added;
  if (add_wait) added.push_back("OMP_WAIT_POLICY=passive");
  if (add_core) added.push_back(std::string("OPENBLAS_CORETYPE=") + coretype);
  std::string marker = std::string(kMarker) + "=" + (add_wait ? "OMP_WAIT_POLICY" : "") +
                       (add_wait && add_core ? "," : "") + (add_core ? "OPENBLAS_CORETYPE" : "");
  std::vector<char*> env;
  for (char** e = envp; e && *e; ++e) env.push_back(*e);
  for (auto& a : added) env.push_back(a.data());
  env.push_back(marker.data());
  env.push_back(nullptr);
  // The program's own path (so that it keeps its name in ps and top), else the link.
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len > 0) self[len] = 0;
  execve(len > 0 ? self : "/proc/self/exe", argv, env.data());
  // If the restart fails (no /proc), go on without the defaults.
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool we_set(const char* name) { return env_or_empty(kMarker).find(name) != std::string::npos; }

}  // namespace

const char* default_blas_coretype() {
  __builtin_cpu_init();  // may run before the libc's own CPU probing
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

ThreadEnv thread_env() {
  return {env_or_empty("OMP_WAIT_POLICY"), we_set("OMP_WAIT_POLICY"), env_or_empty("OPENBLAS_CORETYPE"),
          we_set("OPENBLAS_CORETYPE")};
}

// Runs before the shared libraries' constructors (libgomp, OpenBLAS).
__attribute__((section(".preinit_array"), used)) void (*const pn_preinit_thread_defaults)(int, char**, char**) = apply_thread_defaults;

}  // namespace pn::cpu
