// Mixed precision: the training precisions and THE casting rules (this comment is the one
// place they are written down; the README's run.precision and docs point here).
//
// Precisions (run.precision):
//   fp32  everything in float32.
//   tf32  float32 tensors; on CUDA devices cuBLAS/cuDNN may use TF32 tensor-core math
//         (library_options().allow_tf32). On the CPU it is fp32.
//   bf16  autocast to bfloat16 (below); no loss scaling (bf16 has float32's range).
//   fp16  autocast to float16, with dynamic loss scaling (nn/grad_scaler.h).
//
// Casting rules inside an AutocastScope(dtype) (PyTorch's autocast, for the ops we have):
//   1. conv, conv_transpose and matmul (so linear) given float32 operands cast them to the
//      scope's dtype (a recorded, differentiable Tensor::to), multiply with float32
//      accumulation, round the result once to that dtype, and hand the next op the result
//      cast back to float32. Biases are added after, in float32. A conv / conv_transpose
//      whose input x is already 16-bit (a 16-bit activation, rule 2) casts only its float32
//      weight and returns its 16-bit result as it is; with a float32 bias, the result is cast
//      to float32 and the bias added in float32 (the U-Net's head: float32 logits).
//   1b. Inside a Keep16BitScope, a conv / conv_transpose under a 16-bit scope returns its
//      16-bit result whatever its operands' dtypes, and a float32 bias is cast to the scope's
//      dtype (recorded) and added in 16 bits (float32 math, rounded once): PyTorch autocast's
//      conv, which casts input, weight and bias. Its gradient is summed in float32, rounded
//      once to 16 bits and cast to the float32 master bias. nn::Sequential opens the scope
//      around a conv whose output goes to a layer that takes 16 bits (or leaves a Sequential
//      that hands 16 bits on); nn::SpadeNorm and the SPADE residual block around their convs,
//      so that x̂ · (1 + γ) + β is computed in 16 bits.
//   2. Ops that run in their input's dtype. Batch and instance norms (plain and fused with
//      their activation) take bfloat16 / float16 activations as they are and return them in
//      that dtype (16-bit storage, as PyTorch's autocast and cuDNN), with their statistics,
//      running buffers, gamma, beta and the gradients of those in float32 and all arithmetic
//      in float32 or wider (autograd/ops/norm.h). So do, as in PyTorch's autocast, max-pool,
//      nearest upsampling, concatenation / narrow / crop_pad, dropout, and the elementwise
//      maps (ReLU, leaky ReLU, tanh, add, mul, ...: each element widened to float32, computed,
//      rounded once; kernels/cpu/elementwise.h, pool.h): given 16-bit tensors they return 16-bit ones,
//      given float32 ones float32. Operands of one op must have one dtype: a 16-bit and a
//      float32 operand together are an error naming both, never a silent cast either way.
//      nn::Sequential (nn/layers.h) starts 16-bit chains: a conv followed by a layer that takes
//      16 bits returns its 16-bit result (rule 1b), and the 16-bit activation then stays 16-bit
//      through every layer that takes it (convs, norms, ReLU, LeakyReLU,
//      Tanh, Dropout, MaxPool, Upsample), cast to float32 before any other layer and on leaving
//      the Sequential, unless the Sequential hands 16 bits on (set_output_16bit: the blocks of
//      the U-Net, so its max-pools, skips and skip concatenations stay 16-bit, models/unet.h;
//      of the pix2pix generator, whose skips, decoder upsampling and dropout stay 16-bit; of
//      the PatchGAN's levels, the lesion WGAN generator's blocks and the lesion critic's
//      blocks; SPADE's residual blocks return 16 bits by rule 1b).
//      Every other op runs in float32: softmax, losses, the WGAN-GP penalty, metrics, and the
//      sums autocast hands float32. A sum of a 16-bit tensor (a 16-bit gradient of a
//      broadcast operand: the bias a conv adds in 16 bits) reads the 16-bit elements,
//      accumulates in double and rounds once to 16 bits: the float32 sum of the same values,
//      rounded, with no float32 copy of the tensor (kernels/cpu/reduce.h, kernels/cuda/reduce.h).
//      A mean of a 16-bit tensor is that double sum scaled, then rounded once.
//      (softmax / log_softmax also take 16-bit tensors, with float32 math, but autocast hands
//      them float32, as PyTorch's does.)
//   3. float64 operands are never cast (gradchecks are unchanged), nor are operands that
//      already have a 16-bit dtype.
//   4. Parameters (master weights) and optimiser state stay float32 and are what
//      checkpoints hold; the gradients that reach them are float32 (the backward of a cast
//      is the opposite cast), and the optimiser updates in float32.
//   5. Backward passes need no scope: the recorded casts replay the forward's choices
//      (the 16-bit convolutions' backward passes run in 16 bits, like PyTorch's), and so
//      does a create_graph pass (double backward).
// Where the 16-bit kernels run: on the CPU, bfloat16 convolutions use oneDNN's bf16
// primitives where the processor has AVX512-BF16/AMX; float16 (and bf16 elsewhere) widen
// the operands to float32 and run the float32 kernels (kernels/cpu/conv.h, gemm.h). On CUDA
// devices the convolutions are cuDNN's with 16-bit tensors and float32 compute, matmuls
// cuBLAS's gemm_mixed (kernels/cuda/dnn.h, blas.h; autograd/cuda/cuda_backend.cpp). The
// 16-bit norms, elementwise maps, pooling and box copies are our kernels on both
// (kernels/cpu/*.h, kernels/cuda/*.h).
#pragma once
#include <string>

#include "autograd/dtype.h"
#include "autograd/tensor.h"

namespace pn {

enum class Precision { FP32, TF32, BF16, FP16 };

// "fp32", "tf32", "bf16", "fp16"; parse throws pn::Error naming `what` (a config key) and
// the accepted values.
Precision parse_precision(const std::string& s, const char* what);
const char* precision_name(Precision p);
// The dtype conv / matmul compute in under precision p (Float32 for fp32 and tf32).
DType autocast_dtype(Precision p);

// Inside the scope, the rules above apply with `dtype` (Float32: no casting). Scopes nest;
// the state is per thread.
class AutocastScope {
 public:
  explicit AutocastScope(DType dtype);
  explicit AutocastScope(Precision p) : AutocastScope(autocast_dtype(p)) {}
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  DType prev_;
};

// The dtype of the innermost scope (Float32 outside any).
DType autocast_dtype();

// Rule 1b's scope: while one with keep = true is open (per thread; scopes nest), convolutions
// under a 16-bit autocast scope return 16-bit results with their bias added in 16 bits.
class Keep16BitScope {
 public:
  explicit Keep16BitScope(bool keep = true);
  ~Keep16BitScope();
  Keep16BitScope(const Keep16BitScope&) = delete;
  Keep16BitScope& operator=(const Keep16BitScope&) = delete;

 private:
  bool prev_;
};
// Whether rule 1b applies now: a Keep16BitScope(true) is the innermost one and a 16-bit
// autocast scope is active.
bool autocast_keeps_16bit();

// Rule 1's operand cast: x cast to the scope's dtype when a 16-bit scope is active and x
// is float32, else x itself.
Tensor autocast_operand(const Tensor& x);
// Rule 1's result cast: y back to float32 when autocast_operand cast the operands (when
// `cast` is true), else y itself.
Tensor autocast_result(const Tensor& y, bool cast);

}  // namespace pn
