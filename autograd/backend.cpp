#include "autograd/backend.h"

#include "autograd/backend_impl.h"
#include "autograd/error.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"

namespace pn {

namespace {

// kernels/cpu behind the BackendImpl interface.
struct CpuKernels {
  template <class T, class... A> static void unary(A... a) { cpu::unary<T>(a...); }
  template <class T, class... A> static void binary(A... a) { cpu::binary<T>(a...); }
  template <class T, class... A> static void where(A... a) { cpu::where<T>(a...); }
  template <class T, class... A> static void fill(A... a) { cpu::fill<T>(a...); }
  template <class S, class D, class... A> static void cast(A... a) { cpu::cast<S, D>(a...); }
  template <class T, class... A> static void sum_reduce(A... a) { cpu::sum_reduce<T>(a...); }
  template <class T, class... A> static void fill_normal(A... a) { cpu::fill_normal<T>(a...); }
  template <class T, class... A> static void fill_uniform(A... a) { cpu::fill_uniform<T>(a...); }
  template <class T, class... A> static void fill_bernoulli(A... a) { cpu::fill_bernoulli<T>(a...); }
  template <class T, class... A> static void softmax_forward(A... a) { cpu::softmax_forward<T>(a...); }
  template <class T, class... A> static void adam_update(A... a) { cpu::adam_update<T>(a...); }
  template <class T, class... A> static void sgd_update(A... a) { cpu::sgd_update<T>(a...); }
  template <class T, class... A> static void norm_stats(A... a) { cpu::norm_stats<T>(a...); }
  template <class T, class... A> static void norm_forward(A... a) { cpu::norm_forward<T>(a...); }
  template <class T, class... A> static void norm_running_update(A... a) { cpu::norm_running_update<T>(a...); }
  template <class T, class... A> static void norm_backward(A... a) { cpu::norm_backward<T>(a...); }
  template <class T, class... A> static void max_pool_forward(A... a) { cpu::max_pool_forward<T>(a...); }
  template <class T, class... A> static void index_gather(A... a) { cpu::index_gather<T>(a...); }
  template <class T, class... A> static void index_scatter_add(A... a) { cpu::index_scatter_add<T>(a...); }
  template <class T, class... A> static void upsample_nearest(A... a) { cpu::upsample_nearest<T>(a...); }
  template <class T, class... A> static void block_sum(A... a) { cpu::block_sum<T>(a...); }
  template <class T, class... A> static void copy_box(A... a) { cpu::copy_box<T>(a...); }
  template <class T, class... A> static void conv_forward(A... a) { cpu::conv_forward<T>(a...); }
  template <class T, class... A> static void conv_backward_input(A... a) { cpu::conv_backward_input<T>(a...); }
  template <class T, class... A> static void conv_backward_weight(A... a) { cpu::conv_backward_weight<T>(a...); }
  template <class T, class... A> static void gemm(A... a) { cpu::gemm<T>(a...); }
};

Backend* g_cuda_backends[kMaxBackendDevices] = {};  // indexed by device index

Backend& cpu_backend() {
  static BackendImpl<CpuKernels> b("cpu");
  return b;
}

}  // namespace

Backend& backend_for(Device d, const char* op) {
  if (d.is_cpu()) return cpu_backend();
  Backend* b = d.index >= 0 && d.index < kMaxBackendDevices ? g_cuda_backends[d.index] : nullptr;
  PN_CHECK(b != nullptr, "{}: no kernels for device {} in this build (or no such device)", op, d.str());
  return *b;
}

void register_backend(Device d, Backend* b) {
  PN_CHECK(d.is_cuda() && d.index >= 0 && d.index < kMaxBackendDevices, "register_backend: bad device {}", d.str());
  g_cuda_backends[d.index] = b;
}

}  // namespace pn
