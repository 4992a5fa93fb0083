// Operand layout shared by the direct few-channel convolution kernels (conv_few_channel.h,
// conv_few_channel_fwd.h; internal to them): zero-padded copies of activation rows, widened
// to whole 16-float AVX-512 vectors and starting on 64-byte cache lines, so that the register
// tiles read plain vectors with no tail code and no bounds checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace pn::cpu::few_channel {

constexpr int64_t kLanes = 16;  // floats per AVX-512 register

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Output positions o in [lo, hi) whose input coordinate o + off lies in [0, in_n) (stride 1);
// empty (hi == lo) where none does.
struct Range {
  int64_t lo, hi;
};
inline Range valid_range(int64_t out_n, int64_t in_n, int64_t off) {
  const int64_t lo = std::max<int64_t>(0, -off), hi = std::min(out_n, in_n - off);
  return {lo, std::max(hi, lo)};
}

// A zeroed float buffer whose data() starts on a 64-byte line (so are rows of a multiple of 16).
struct AlignedFloats {
  std::vector<float> storage;
  float* ptr = nullptr;
  explicit AlignedFloats(int64_t n) : storage(static_cast<size_t>(n + kLanes), 0.f) {
    const auto addr = reinterpret_cast<uintptr_t>(storage.data());
    ptr = storage.data() + (round_up(static_cast<int64_t>(addr), 64) - static_cast<int64_t>(addr)) / 4;
  }
  AlignedFloats(const AlignedFloats&) = delete;  // ptr points into storage: moves only
  AlignedFloats(AlignedFloats&&) = default;
  float* data() { return ptr; }
  const float* data() const { return ptr; }
};

// src [planes, rows_in, w_in] copied into zeroed [planes, rows_out, wx]: source row i, column j
// lands at row i + row_shift, column j + col_shift; whatever falls outside is dropped (a
// negative shift crops), destination rows and columns nothing lands on stay zero.
inline AlignedFloats padded_rows(const float* src, int64_t planes, int64_t rows_in, int64_t w_in, int64_t rows_out,
                                 int64_t wx, int64_t row_shift, int64_t col_shift) {
  AlignedFloats dst(planes * rows_out * wx);
  const Range rows = valid_range(rows_out, rows_in, -row_shift);  // destination rows with a source
  const int64_t lo = std::max<int64_t>(0, col_shift), src0 = std::max<int64_t>(0, -col_shift);
  const int64_t len = std::max<int64_t>(0, std::min(w_in - src0, wx - lo));
  float* out = dst.data();
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane)
    for (int64_t r = rows.lo; r < rows.hi; ++r) {
      const float* s = src + (plane * rows_in + r - row_shift) * w_in + src0;
      std::copy(s, s + len, out + (plane * rows_out + r) * wx + lo);
    }
  return dst;
}

}  // namespace pn::cpu::few_channel
