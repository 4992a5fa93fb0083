// What the emulated vendor libraries (cublas_emu, cudnn_emu) share: reporting why a call
// failed, and enqueueing a library call's device work (device_work.h) so that a refused
// access becomes the library's own failure status rather than a stray CUDA error.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "kernels/cuda/emu/device_work.h"

namespace pn::cuda::emu::detail {

// Makes `why` the text of last_error_detail() without touching CUDA's last error: a
// library reports a failed argument check through its own status, and a later
// cudaGetLastError() must not blame the next kernel for it.
void explain(std::string why);

// Enqueues a library op like enqueue(), with When::Policy. Returns "" when it was enqueued;
// otherwise why it was refused (a bad access: host memory, a freed or too short buffer,
// another device's memory; or a bad stream), having explained it as above and left CUDA's
// last error as it was before the call.
std::string enqueue_library_op(cudaStream_t s, const std::string& what, std::vector<Access> accesses, OpBody body);

// "[0x7f.., +96 bytes)" for messages.
std::string describe_span(const void* p, size_t bytes);

}  // namespace pn::cuda::emu::detail
