// The NCCL communicator's entry point. nn/nccl_communicator.cpp is compiled twice: into
// penumbra_nn_nccl against real CUDA and NCCL, and into penumbra_nn_nccl_emu against the
// emulated ones (kernels/cuda/emu), so that data-parallel code runs between emulated ranks in
// CI. A program links one of the two and calls install_nccl_communicator() once, before
// device_communicator(); both define it, so a program that links both fails to link.
#pragma once

namespace pn::nn {

// Makes device_communicator() (nn/communicator.h) build NCCL communicators.
void install_nccl_communicator();

}  // namespace pn::nn
