// PN_HD marks functions shared by the CPU reference and the CUDA kernels: it expands to
// __host__ __device__ under nvcc and to nothing under the host compiler (or the CUDA emulator).
#pragma once
#if defined(__CUDACC__)
#define PN_HD __host__ __device__ __forceinline__
#else
#define PN_HD inline
#endif
