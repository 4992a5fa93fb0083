// Device work in the CUDA emulator: how anything that runs "on the GPU" (a kernel launch, a
// copy, a memset, an emulated cuBLAS / cuDNN / NCCL call) is queued on a stream, ordered,
// checked and executed. For the emulator's own files and its library emulations only; kernels
// and host code use the CUDA runtime API of cuda_emu.h.
//
// Model (streams.cpp):
//  - Every op is enqueued on one stream and declares the device memory it reads and writes.
//  - Ops of one stream run in the order they were enqueued. Ops of different streams are
//    ordered only by what CUDA orders them with: events (cudaEventRecord +
//    cudaStreamWaitEvent), the legacy default stream's implicit synchronisation with
//    blocking streams, and host synchronisation (cudaStreamSynchronize, cudaEventSynchronize,
//    cudaDeviceSynchronize, blocking copies). Happens-before is tracked with vector clocks.
//  - When an op runs is the stream policy's choice (PN_CUDA_EMU_STREAMS): `eager` runs each op
//    as it is enqueued (program order); `deferred` runs ops only when something waits for
//    them; `shuffle` (the default) runs a seeded random selection of pending ops of any
//    stream at each enqueue. Work that nothing orders therefore really runs out of order.
//  - The hazard checker: when an op runs, each allocation it touches must have been last
//    written (and, for a write, last read) by ops that happen before it, or on its own
//    stream. Otherwise the op fails with a message naming both ops, their streams and the
//    allocation (PN_CUDA_EMU_HAZARDS=error, the default; `warn` prints and goes on; `off`).
//  - An op's error is asynchronous, as on a GPU: it is reported by the next synchronising
//    call on that device (and by cudaGetLastError / cudaPeekAtLastError), then cleared.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "kernels/cuda/emu/cuda_emu.h"

namespace pn::cuda::emu::detail {

// One range of device memory an op touches. bytes == 0: "somewhere in the allocation that
// contains ptr" (a kernel's pointer argument, whose extent the emulator cannot know).
// role names the operand in messages ("A", "workspace", "kernel argument 3").
struct Access {
  const void* ptr = nullptr;
  size_t bytes = 0;
  bool write = false;
  std::string role;
};

// "" when every non-null access lies inside one live device allocation of `device` (for
// bytes > 0, the whole range); otherwise why not, naming the role and the pointer: host
// memory, freed memory, another device's memory, or how far past an allocation's end.
std::string check_accesses(int device, const std::vector<Access>& accesses);

// The device a stream belongs to; nullptr is the calling thread's current device (its legacy
// default stream). -1 for a stream that is unknown or destroyed.
int stream_device(cudaStream_t s);

// The calling thread's current device (cudaSetDevice).
int current_device();

// What an op does when it runs. Returns cudaSuccess, or an error with `detail` explaining it.
using OpBody = std::function<cudaError_t(std::string& detail)>;

enum class When {
  Policy,  // whenever the stream policy runs it (the normal case)
  Now,     // before enqueue() returns, after everything ordered before it (NCCL collectives:
           // every rank must reach the rendezvous in program order). The host does not
           // synchronise with it: later host-enqueued work is not ordered after it.
};

// Enqueues an op named `what` ("cudnnConvolutionForward", "kernel unary_kernel<float>") on
// stream s (nullptr: the current device's legacy default stream). Checks the accesses with
// check_accesses against the stream's device first: a bad access is refused at once with
// cudaErrorInvalidValue and the reason in last_error_detail(). Returns cudaSuccess or the
// error of enqueuing (an unknown stream: cudaErrorInvalidResourceHandle); the op's own
// error comes later (see the file comment) unless when == Now, where it is returned.
cudaError_t enqueue(cudaStream_t s, std::string what, std::vector<Access> accesses, OpBody body,
                    When when = When::Policy);

// Blocks until every op enqueued on s so far has run (and what they depend on), and orders
// later host work after them. Returns the device's pending asynchronous error, if any.
cudaError_t synchronize_stream(cudaStream_t s);

}  // namespace pn::cuda::emu::detail
