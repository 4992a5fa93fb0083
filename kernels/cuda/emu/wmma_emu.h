// The emulated <mma.h>: the subset of CUDA's warp matrix functions (nvcuda::wmma) that our
// kernels use, with the real names and signatures, for kernels compiled against the CUDA
// emulator. Kernels include kernels/cuda/wmma_api.h, which picks <mma.h> or this header.
//
// Emulated: fragment<matrix_a | matrix_b, 16, 16, 16, __nv_bfloat16 | __half, row_major |
// col_major>, fragment<accumulator, 16, 16, 16, float | __half>, fill_fragment,
// load_matrix_sync (operands; accumulators with mem_row_major / mem_col_major),
// store_matrix_sync, mma_sync (d = a b + c, bf16 inputs with float accumulators, half inputs
// with float or half ones, as CUDA's overloads).
//
// Contract, as NVIDIA's CUDA C++ Programming Guide ("Warp Matrix Functions") states it, checked
// at every call and reported as a failed launch (cudaErrorLaunchFailure) whose
// pn::cuda::emu::last_error_detail() names the function, the violation and the thread:
//   * load_matrix_sync, store_matrix_sync and mma_sync are warp-collective: every thread of a
//     full warp of 32 calls them, with the same pointer, ldm and layout (a lane that does not
//     arrive is reported as for __shfl_sync: exited, deadlocked, or in another collective);
//   * the pointer is 256-bit (32-byte) aligned;
//   * ldm is a multiple of 8 for 16-bit elements and of 4 for float (16 bytes).
// fill_fragment is not collective (the guide: "ordinarily called by all threads in the warp").
//
// Mapping: CUDA leaves the mapping of tile elements to a thread's fragment unspecified; here
// every thread's fragment holds the whole tile (x[i * cols + j] = element (i, j) of the m x k,
// k x n or m x n tile), so num_elements is the tile's size, not a GPU's per-thread share; an
// operation applied to every x[i] means the same on both. mma_sync accumulates in float: each
// d(i, j) = c(i, j) + the products a(i, kk) b(kk, j) for kk = 0..15 added in order, rounded once
// to a half accumulator (tensor cores add in an unspecified order; tests allow for it).
//
// The memory-traffic profile (emu/profile.h) sees a load or store as the warp's accesses, not
// as each thread's copy of the whole tile: the tile's bytes in memory are 16 runs (rows for a
// row-major layout, columns for a column-major one) of 16 elements, ldm elements apart, cut
// into 16-byte pieces dealt to the lanes in order (lane l takes pieces l, l + 32, ...): a 16-bit
// tile is one 16-byte access per lane, a float tile two. The copying itself is not instrumented.
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/emu/half_types.h"

namespace pn::cuda::emu::wmma_detail {

enum class Elem : uint8_t { BFloat16, Half, Float };
enum class Call : uint8_t { LoadMatrixA, LoadMatrixB, LoadAccumulator, StoreAccumulator, Mma };

// Warp-collective entry of `call`: the warp is full, every lane passes the same ptr, ldm and
// layout, ptr is 32-byte aligned, ldm a multiple of 16 bytes (ptr null for mma_sync: only the
// first check). Fails the launch, naming the violation, otherwise.
void enter(Call call, const void* ptr, unsigned ldm, Elem elem, bool row_major);
// Copies a 16 x 16 tile between memory (runs of 16 elements, ldm apart; runs are rows when
// run_is_row) and a whole-tile fragment (element (i, j) at tile[i * 16 + j]), and reports the
// warp's share of this lane to the profile.
void load_tile(void* tile, const void* mem, unsigned ldm, unsigned elem_bytes, bool run_is_row);
void store_tile(void* mem, const void* tile, unsigned ldm, unsigned elem_bytes, bool run_is_row);
// d = a b + c over 16 x 16 x 16 whole-tile fragments, in float; a and b of type `in`, c and d of
// type `acc` (Float or Half).
void mma(void* d, const void* a, const void* b, const void* c, Elem in, Elem acc);

template <class T>
constexpr Elem elem_of() {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) return Elem::BFloat16;
  else if constexpr (std::is_same_v<T, __half>) return Elem::Half;
  else return Elem::Float;
}

}  // namespace pn::cuda::emu::wmma_detail

namespace nvcuda::wmma {

struct row_major;
struct col_major;
struct matrix_a;
struct matrix_b;
struct accumulator;

enum layout_t { mem_row_major, mem_col_major };

template <class Use, int m, int n, int k, class T, class Layout = void>
class fragment {
  static_assert(m == 16 && n == 16 && k == 16, "emulated wmma: only the 16 x 16 x 16 shape is emulated");
  static_assert(std::is_same_v<Use, accumulator> ? (std::is_same_v<T, float> || std::is_same_v<T, __half>)
                                                 : (std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>),
                "emulated wmma: operands are __nv_bfloat16 or __half, accumulators float or __half");
  static_assert(std::is_same_v<Use, accumulator> == std::is_same_v<Layout, void>,
                "wmma: matrix_a and matrix_b fragments need a layout (row_major / col_major), accumulators none");

 public:
  using element_type = T;
  enum { num_elements = 16 * 16, num_storage_elements = 16 * 16 };  // the whole tile (see above)
  T x[num_elements];
};

template <class Use, int m, int n, int k, class T, class Layout>
inline void fill_fragment(fragment<Use, m, n, k, T, Layout>& f, const T& v) {
  for (T& e : f.x) e = v;
}

// Operand tiles: matrix_a is m x k (element (i, kk)), matrix_b k x n (element (kk, j)); in
// memory row-major (runs along the tile's rows) or column-major (runs along its columns).
template <class Use, class T, class Layout>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, T, Layout>& f, const T* p, unsigned ldm) {
  using namespace pn::cuda::emu::wmma_detail;
  static_assert(!std::is_same_v<Use, accumulator>, "wmma: an accumulator load needs a layout_t argument");
  constexpr bool row = std::is_same_v<Layout, row_major>;
  enter(std::is_same_v<Use, matrix_a> ? Call::LoadMatrixA : Call::LoadMatrixB, p, ldm, elem_of<T>(), row);
  load_tile(f.x, p, ldm, sizeof(T), row);
}

template <class T>
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, T>& f, const T* p, unsigned ldm, layout_t layout) {
  using namespace pn::cuda::emu::wmma_detail;
  enter(Call::LoadAccumulator, p, ldm, elem_of<T>(), layout == mem_row_major);
  load_tile(f.x, p, ldm, sizeof(T), layout == mem_row_major);
}

template <class T>
inline void store_matrix_sync(T* p, const fragment<accumulator, 16, 16, 16, T>& f, unsigned ldm, layout_t layout) {
  using namespace pn::cuda::emu::wmma_detail;
  enter(Call::StoreAccumulator, p, ldm, elem_of<T>(), layout == mem_row_major);
  store_tile(p, f.x, ldm, sizeof(T), layout == mem_row_major);
}

template <class TD, class TIn, class LA, class LB, class TC>
inline void mma_sync(fragment<accumulator, 16, 16, 16, TD>& d, const fragment<matrix_a, 16, 16, 16, TIn, LA>& a,
                     const fragment<matrix_b, 16, 16, 16, TIn, LB>& b, const fragment<accumulator, 16, 16, 16, TC>& c) {
  using namespace pn::cuda::emu::wmma_detail;
  static_assert(std::is_same_v<TIn, __half> || (std::is_same_v<TD, float> && std::is_same_v<TC, float>),
                "wmma: __nv_bfloat16 operands accumulate in float only");
  static_assert(std::is_same_v<TD, TC>, "emulated wmma: d and c of one type (CUDA also allows d float, c half)");
  enter(Call::Mma, nullptr, 0, elem_of<TIn>(), true);
  mma(d.x, a.x, b.x, c.x, elem_of<TIn>(), elem_of<TD>());
}

}  // namespace nvcuda::wmma
