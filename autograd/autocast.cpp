// The autocast state (per thread) and the precisions' names; rules in autocast.h.
#include "autograd/autocast.h"

#include "autograd/error.h"

namespace pn {

namespace {
thread_local DType g_autocast = DType::Float32;
thread_local bool g_keep_16bit = false;
constexpr const char* kNames[] = {"fp32", "tf32", "bf16", "fp16"};
}  // namespace

Precision parse_precision(const std::string& s, const char* what) {
  for (int i = 0; i < 4; ++i)
    if (s == kNames[i]) return static_cast<Precision>(i);
  PN_FAIL("{} = \"{}\": expected \"fp32\", \"tf32\" (TF32 tensor cores on CUDA, fp32 on the CPU), \"bf16\" or "
          "\"fp16\" (mixed precision: autograd/autocast.h)", what, s);
}

const char* precision_name(Precision p) { return kNames[static_cast<int>(p)]; }

DType autocast_dtype(Precision p) {
  return p == Precision::BF16 ? DType::BFloat16 : p == Precision::FP16 ? DType::Float16 : DType::Float32;
}

AutocastScope::AutocastScope(DType dtype) : prev_(g_autocast) {
  PN_CHECK(dtype == DType::Float32 || is_low_precision(dtype),
           "AutocastScope: {} is not a mixed-precision dtype (bfloat16, float16, or float32 for none)",
           dtype_name(dtype));
  g_autocast = dtype;
}
AutocastScope::~AutocastScope() { g_autocast = prev_; }

DType autocast_dtype() { return g_autocast; }

Keep16BitScope::Keep16BitScope(bool keep) : prev_(g_keep_16bit) { g_keep_16bit = keep; }
Keep16BitScope::~Keep16BitScope() { g_keep_16bit = prev_; }

bool autocast_keeps_16bit() { return g_keep_16bit && g_autocast != DType::Float32; }

Tensor autocast_operand(const Tensor& x) {
  if (g_autocast == DType::Float32 || !x.defined() || x.dtype() != DType::Float32) return x;
  return x.to(g_autocast);
}

Tensor autocast_result(const Tensor& y, bool cast) { return cast ? y.to(DType::Float32) : y; }

}  // namespace pn
