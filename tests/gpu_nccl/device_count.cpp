// Prints the number of CUDA devices this process can use (0 when the driver or device is
// missing), for run_with_gpus.sh.
#include <cuda_runtime.h>

#include <cstdio>

int main() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
  std::printf("%d\n", n);
  return 0;
}
