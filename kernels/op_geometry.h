// The geometry of every op as plain sizes and strides, shared by the CPU reference kernels,
// the CUDA kernels and the per-element math (kernels/math): no tensors here, so that kernels
// stay independent of the autograd layer. One struct per op family:
//   BroadcastGeom  binary elementwise ops over broadcast operands
//   ReduceGeom     sums over a set of dims
//   NormGeom       batch and instance normalisation
//   ConvGeom       3-D (and 2-D, D = 1) convolution and transposed convolution
//   PoolGeom       max-pooling and nearest upsampling
//   BoxCopy        concatenation, narrowing, cropping, padding
//   AdamChunk      one parameter tensor of a multi-tensor optimiser step
#pragma once
#include <cstdint>

namespace pn::kernels {

constexpr int kMaxDims = 8;

// A binary elementwise op over broadcast operands, after adjacent dimensions that
// broadcast the same way have been merged. Strides are in elements; 0 means broadcast.
struct BroadcastGeom {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
};

// A reduction of a contiguous tensor viewed as [outer, reduce, inner] blocks after merging:
// dims[i] with reduce[i] true are summed away. Output is contiguous over the kept dims.
struct ReduceGeom {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  bool reduce[kMaxDims] = {};
  double scale = 1;  // each sum is multiplied by it (in double) before its one rounding: a mean
};


// A normalisation over a tensor [N, C, S...] viewed as [N, C, S] (S the product of the
// spatial sizes): statistics per channel over (N, S) for batch norm, per (n, c) over S for
// instance norm (kernels/math/norm_math.h has the group arithmetic).
// channels_last: the tensor is [N, S..., C] (N[D]HWC) instead, viewed as [N, S, C]; the groups
// and their statistics are the same.
struct NormGeom {
  int64_t n = 0, c = 0, s = 0;
  bool per_instance = false;  // instance norm: one group per (n, c)
  bool channels_last = false;
};

// A convolution. Spatial arrays are ordered (D, H, W). Weight layout [C_out, C_in, kd, kh, kw].
// out[i] = (in[i] + 2 pad[i] - k[i]) / stride[i] + 1 (floor division).
// channels_last: the activations (x, y and their gradients) are stored N[D]HWC (oneDNN's ndhwc,
// cuDNN's CUDNN_TENSOR_NHWC), the layout convolution kernels read without reordering them; the
// weight keeps its layout (the kernels reorder it for themselves: oneDNN into its blocked
// layout as for channels-first, cuDNN into [C_out, k..., C_in]); the sizes mean the same.
struct ConvGeom {
  int spatial_dims = 3;  // 2 or 3: only for shaping results; kernels always see 3-D
  bool channels_last = false;
  int64_t N = 0, C_in = 0, C_out = 0;
  int64_t in[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};
  int64_t out[3] = {1, 1, 1};
  // Limit on the column buffer of the CPU kernels, in elements; 0 = their default.
  int64_t col_budget = 0;

  static int64_t out_size(int64_t in, int64_t k, int64_t stride, int64_t pad) {
    return (in + 2 * pad - k) / stride + 1;
  }
  // A 3-D geometry from its sizes, the output sizes computed.
  static ConvGeom make(int64_t n, int64_t c_in, int64_t c_out, const int64_t (&in_)[3], const int64_t (&k_)[3],
                       const int64_t (&stride_)[3], const int64_t (&pad_)[3]) {
    ConvGeom g;
    g.N = n, g.C_in = c_in, g.C_out = c_out;
    for (int d = 0; d < 3; ++d) {
      g.in[d] = in_[d], g.k[d] = k_[d], g.stride[d] = stride_[d], g.pad[d] = pad_[d];
      g.out[d] = out_size(in_[d], k_[d], stride_[d], pad_[d]);
    }
    return g;
  }
  int64_t in_volume() const { return in[0] * in[1] * in[2]; }
  int64_t out_volume() const { return out[0] * out[1] * out[2]; }
  int64_t k_volume() const { return k[0] * k[1] * k[2]; }
  // Rows of the column matrix (and columns of the weight viewed as a matrix).
  int64_t col_rows() const { return C_in * k_volume(); }
  // A 1x1x1 kernel with stride 1 and no padding: the input already is the column matrix.
  bool pointwise() const {
    return k_volume() == 1 && stride[0] == 1 && stride[1] == 1 && stride[2] == 1 && pad[0] == 0 &&
           pad[1] == 0 && pad[2] == 0;
  }
  // Multiply-adds of one pass (forward, backward-input and backward-weight each cost this).
  double macs() const {
    return static_cast<double>(N) * C_out * C_in * k_volume() * out_volume();
  }
};

// Window ops over independent planes (N * C of them), each a (D, H, W) volume:
// max-pooling (window k, step stride, no padding) and nearest upsampling (out = in * k).
// interleaved: values per voxel. 1 for channels-first planes; C for max-pooling channels-last
// (N[D]HWC) input, where the planes are the N samples and each voxel holds C channels side by
// side (the window ops other than max-pooling take 1 only).
struct PoolGeom {
  int64_t planes = 0;
  int64_t interleaved = 1;
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t in_volume() const { return in[0] * in[1] * in[2]; }
  int64_t out_volume() const { return out[0] * out[1] * out[2]; }
};

// A box of extent[0] x .. x extent[3] elements copied between two arrays; the last dim
// is contiguous in both, the others step by the given strides (in elements). Concatenation,
// narrowing, cropping and padding are all such copies into (or out of) a larger array.
struct BoxCopy {
  int64_t extent[4] = {1, 1, 1, 1};
  int64_t src_stride[3] = {0, 0, 0};
  int64_t dst_stride[3] = {0, 0, 0};
  int64_t numel() const { return extent[0] * extent[1] * extent[2] * extent[3]; }
};

// One parameter tensor of a multi-tensor Adam step: n elements of parameter p, gradient g and
// moments m, v, all of the step's dtype on the step's device (the kernel casts the pointers).
struct AdamChunk {
  void* p = nullptr;
  const void* g = nullptr;
  void* m = nullptr;
  void* v = nullptr;
  int64_t n = 0;
};

}  // namespace pn::kernels
