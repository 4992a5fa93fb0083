// The emulated warp matrix functions' work (emu/wmma_emu.h): the contract checks at every
// warp-collective call, the tile copies with the warp's accesses reported to the profile, and
// the 16 x 16 x 16 product in float. Not compiled with the profile's instrumentation, so the
// profile sees only the accesses reported here.
#include "kernels/cuda/emu/wmma_emu.h"

#include <cstdio>
#include <cstring>

#include "kernels/cuda/emu/cuda_emu.h"
#include "kernels/cuda/emu/profile_internal.h"

namespace pn::cuda::emu::wmma_detail {

namespace {

constexpr int kTile = 16;
constexpr unsigned kPiece = 16;  // bytes per lane access in the profile's model

const char* call_name(Call c) {
  switch (c) {
    case Call::LoadMatrixA: return "nvcuda::wmma::load_matrix_sync (matrix_a)";
    case Call::LoadMatrixB: return "nvcuda::wmma::load_matrix_sync (matrix_b)";
    case Call::LoadAccumulator: return "nvcuda::wmma::load_matrix_sync (accumulator)";
    case Call::StoreAccumulator: return "nvcuda::wmma::store_matrix_sync";
    case Call::Mma: return "nvcuda::wmma::mma_sync";
  }
  return "nvcuda::wmma";
}

unsigned elem_bytes(Elem e) { return e == Elem::Float ? 4u : 2u; }

[[noreturn]] void violation(Call call, const char* what) {
  char msg[400];
  std::snprintf(msg, sizeof msg, "%s: %s (CUDA C++ Programming Guide, Warp Matrix Functions)", call_name(call), what);
  fail(msg);
}

// The lane's value of lane 0 (a warp collective of all 32 lanes, named as wmma's).
uint64_t lane0_value(uint64_t v) { return warp_collective(WarpOp::Wmma, 0xffffffffu, v, 0, warpSize); }

}  // namespace

void enter(Call call, const void* ptr, unsigned ldm, Elem elem, bool row_major) {
  const unsigned linear = threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  if (linear / 32 * 32 + 32 > threads)
    violation(call, "the warp of this thread is not full (a block whose thread count is not a multiple of 32); "
                    "the function is warp-collective: all 32 threads of the warp must call it");
  const uint64_t pointer = reinterpret_cast<uintptr_t>(ptr);
  const uint64_t signature = (uint64_t{ldm} << 16) | (static_cast<uint64_t>(call) << 8) |
                             (static_cast<uint64_t>(elem) << 1) | (row_major ? 1u : 0u);
  const uint64_t lane0_pointer = lane0_value(pointer), lane0_signature = lane0_value(signature);
  if (lane0_signature != signature)
    violation(call, "the lanes of the warp differ in the function, ldm or layout they pass (lane 0's differ from "
                    "this lane's); every thread of the warp must call it with the same arguments");
  if (lane0_pointer != pointer) violation(call, "the lanes of the warp pass different pointers; all must pass the same");
  if (call == Call::Mma) return;
  if (pointer % 32 != 0) violation(call, "the pointer is not 256-bit (32-byte) aligned");
  if (ldm * elem_bytes(elem) % 16 != 0)
    violation(call, elem == Elem::Float ? "ldm is not a multiple of 4 (float elements: 16 bytes)"
                                        : "ldm is not a multiple of 8 (16-bit elements: 16 bytes)");
}

namespace {

// This lane's share of the warp's accesses: the tile's 16 runs of 16 elements, cut into
// 16-byte pieces, piece q = lane, lane + 32, ... (run q / pieces per run).
void report_share(const void* mem, unsigned ldm, unsigned eb, bool write) {
  const unsigned lane = (threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y) % 32;
  const unsigned per_run = kTile * eb / kPiece, pieces = kTile * per_run;
  for (unsigned q = lane; q < pieces; q += 32) {
    const char* at = static_cast<const char*>(mem) + (q / per_run) * ldm * eb + (q % per_run) * kPiece;
    detail::profile_access(at, kPiece, write);
  }
}

}  // namespace

void load_tile(void* tile, const void* mem, unsigned ldm, unsigned eb, bool run_is_row) {
  report_share(mem, ldm, eb, false);
  char* t = static_cast<char*>(tile);
  for (int r = 0; r < kTile; ++r)
    for (int e = 0; e < kTile; ++e) {
      const int at = run_is_row ? r * kTile + e : e * kTile + r;  // element (r, e) or (e, r) of the tile
      std::memcpy(t + at * eb, static_cast<const char*>(mem) + (static_cast<size_t>(r) * ldm + e) * eb, eb);
    }
}

void store_tile(void* mem, const void* tile, unsigned ldm, unsigned eb, bool run_is_row) {
  report_share(mem, ldm, eb, true);
  const char* t = static_cast<const char*>(tile);
  for (int r = 0; r < kTile; ++r)
    for (int e = 0; e < kTile; ++e) {
      const int at = run_is_row ? r * kTile + e : e * kTile + r;
      std::memcpy(static_cast<char*>(mem) + (static_cast<size_t>(r) * ldm + e) * eb, t + at * eb, eb);
    }
}

namespace {

void to_float(const void* src, Elem e, float* out) {
  if (e == Elem::Float) return (void)std::memcpy(out, src, sizeof(float) * kTile * kTile);
  const uint16_t* bits = static_cast<const uint16_t*>(src);
  for (int i = 0; i < kTile * kTile; ++i)
    out[i] = e == Elem::Half ? half_bits::to_float_half(bits[i]) : half_bits::to_float_bf16(bits[i]);
}

}  // namespace

// D(i, j) = C(i, j) + sum over kk of A(i, kk) B(kk, j), in float, kk in order; then d (which may
// be c) is written, rounded once for a half accumulator.
void mma(void* d, const void* a, const void* b, const void* c, Elem in, Elem acc) {
  float fa[kTile * kTile], fb[kTile * kTile], fd[kTile * kTile];
  to_float(a, in, fa);
  to_float(b, in, fb);
  to_float(c, acc, fd);
  for (int i = 0; i < kTile; ++i)
    for (int j = 0; j < kTile; ++j) {
      float sum = fd[i * kTile + j];
      for (int kk = 0; kk < kTile; ++kk) sum += fa[i * kTile + kk] * fb[kk * kTile + j];
      fd[i * kTile + j] = sum;
    }
  if (acc == Elem::Float) return (void)std::memcpy(d, fd, sizeof fd);
  uint16_t* out = static_cast<uint16_t*>(d);
  for (int i = 0; i < kTile * kTile; ++i) out[i] = half_bits::from_float_half(fd[i]);
}

}  // namespace pn::cuda::emu::wmma_detail
