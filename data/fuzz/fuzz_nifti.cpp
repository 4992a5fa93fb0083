// Fuzz target for the NIfTI reader (libFuzzer): any bytes, gzipped or not, must give a
// Volume or a pn::Error, never a crash, a hang or an unbounded allocation.
// Built with PN_FUZZ_REPLAY it has its own main() that runs the files (or folders of
// files) named on the command line once each: the corpus becomes a regression test with
// any compiler. tools/fuzz_nifti.sh builds the libFuzzer version with clang and runs it.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "autograd/error.h"
#include "data/nifti_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const pn::data::Volume v = pn::data::read_nifti_bytes(data, size, "fuzz-input");
    // Touch the result so that a wrong size shows up under ASan.
    volatile float sink = v.data.empty() ? 0.f : v.data.back();
    (void)sink;
  } catch (const pn::Error&) {
  }
  return 0;
}

#ifdef PN_FUZZ_REPLAY
int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  int runs = 0;
  auto run = [&](const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), {}};
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++runs;
  };
  for (int i = 1; i < argc; ++i) {
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::directory_iterator(argv[i]))
        if (e.is_regular_file()) run(e.path());
    } else {
      run(argv[i]);
    }
  }
  std::printf("fuzz_nifti replay: %d input(s) ran without a crash\n", runs);
  return runs > 0 ? 0 : 1;
}
#endif
