// Defaults for the CPU thread runtimes, set before they start. libgomp reads
// OMP_WAIT_POLICY and OpenBLAS reads OPENBLAS_CORETYPE in their load-time constructors,
// before main() runs, so a setter called from main() would be too late (and setenv before
// them does not last: libc's initialiser resets environ). thread_env.cpp therefore puts a
// function into the executable's .preinit_array (it runs before any library initialiser)
// that, when a variable below is missing, restarts the program once (execve of
// /proc/self/exe, same arguments, a few milliseconds) with it added. PENUMBRA_THREAD_DEFAULTS
// (set to the list of what was added; set it to 0 to opt out) prevents a second restart.
// Unless the environment already sets them, it sets
//   OMP_WAIT_POLICY=passive   idle OpenMP threads sleep at once instead of spinning for a
//                             while: on a machine shared with other busy processes a
//                             spinning thread steals the core the working one needs
//                             (a U-Net step went from 0.13 s to 1.28 s beside one busy
//                             process); on an idle machine passive costs a few
//                             microseconds per parallel region.
//   OPENBLAS_CORETYPE=...     SkylakeX on CPUs with AVX-512 (F, BW, DQ, VL), Haswell on
//                             AVX2 + FMA ones: Debian's OpenBLAS 0.3.21 does not recognise
//                             newer Xeons and falls back to its generic Prescott (SSE3)
//                             kernels, 3-4x slower.
// The object is linked into every program that links penumbra_kernels (kernels/CMakeLists).
#pragma once
#include <string>

namespace pn::cpu {

struct ThreadEnv {
  std::string wait_policy;   // OMP_WAIT_POLICY as the runtime saw it ("" if unset)
  bool wait_policy_set_by_us = false;
  std::string blas_coretype;  // OPENBLAS_CORETYPE ("" if unset)
  bool blas_coretype_set_by_us = false;
};

// What the environment held for the runtimes at start-up, and what of it was our default.
ThreadEnv thread_env();

// The OpenBLAS core type we would choose for this CPU ("SkylakeX", "Haswell" or "").
const char* default_blas_coretype();

}  // namespace pn::cpu
