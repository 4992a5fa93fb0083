# Finds what Penumbra builds against. Everything comes from Debian packages
# (tools/install-deps.sh installs them); CUDA is optional.
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PNG REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)

# Cairo (libcairo2-dev) draws the report's charts (experiments/report/chart_render.cpp); its text
# goes through fontconfig, which finds DejaVu Sans (fonts-dejavu-core).
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAIRO IMPORTED_TARGET cairo)
if(NOT CAIRO_FOUND)
  message(FATAL_ERROR "Cairo not found: run tools/install-deps.sh (libcairo2-dev, fonts-dejavu-core)")
endif()

# OpenBLAS: prefer the OpenMP build so that BLAS threads and our OpenMP loops share one pool.
find_path(CBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/x86_64-linux-gnu/openblas-pthread
        /usr/include/openblas /usr/include NO_DEFAULT_PATH)
find_library(OPENBLAS_LIBRARY NAMES openblas
  PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-pthread)
if(NOT CBLAS_INCLUDE_DIR OR NOT OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS not found: run tools/install-deps.sh (libopenblas-openmp-dev)")
endif()
add_library(penumbra::blas INTERFACE IMPORTED)
target_include_directories(penumbra::blas INTERFACE ${CBLAS_INCLUDE_DIR})
target_link_libraries(penumbra::blas INTERFACE ${OPENBLAS_LIBRARY})

# oneDNN (libdnnl-dev, 2.6 in Debian 12): the fast float32 CPU convolutions (kernels/cpu/
# conv_dnnl.cpp). Optional: without it (not installed, or -DPENUMBRA_DNNL=OFF) every
# convolution takes the handwritten reference. Its OpenMP build shares libgomp's thread
# pool with our loops and OpenBLAS.
if(PENUMBRA_DNNL)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
  find_library(DNNL_LIBRARY dnnl)
endif()
if(PENUMBRA_DNNL AND DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
  add_library(penumbra::dnnl INTERFACE IMPORTED)
  target_include_directories(penumbra::dnnl INTERFACE ${DNNL_INCLUDE_DIR})
  target_link_libraries(penumbra::dnnl INTERFACE ${DNNL_LIBRARY})
  message(STATUS "Penumbra: oneDNN found (${DNNL_LIBRARY}): fast float32 CPU convolutions")
elseif(PENUMBRA_DNNL)
  message(STATUS "Penumbra: oneDNN not found: CPU convolutions use the reference (tools/install-deps.sh installs libdnnl-dev)")
else()
  message(STATUS "Penumbra: PENUMBRA_DNNL=OFF: CPU convolutions use the reference")
endif()

# nifti_clib: Debian's NIFTIConfig.cmake points at a missing library path, so find it by hand.
find_path(NIFTI_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti)
find_library(NIFTI2_LIBRARY nifti2)
find_library(ZNZ_LIBRARY znz)
if(NOT NIFTI_INCLUDE_DIR OR NOT NIFTI2_LIBRARY OR NOT ZNZ_LIBRARY)
  message(FATAL_ERROR "nifti_clib not found: run tools/install-deps.sh (libnifti2-dev)")
endif()
add_library(penumbra::nifti INTERFACE IMPORTED)
target_include_directories(penumbra::nifti INTERFACE ${NIFTI_INCLUDE_DIR})
target_link_libraries(penumbra::nifti INTERFACE ${NIFTI2_LIBRARY} ${ZNZ_LIBRARY} ZLIB::ZLIB m)

# Header-only libraries (Debian): doctest, toml++, CLI11.
find_path(DOCTEST_INCLUDE_DIR doctest/doctest.h REQUIRED)
find_path(TOMLPP_INCLUDE_DIR toml++/toml.h REQUIRED)
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)

find_package(MPI COMPONENTS CXX)

# CUDA (toolkit 13 with cuDNN 9, cuBLAS, NCCL) when nvcc is there.
set(PENUMBRA_HAVE_CUDA OFF)
if(NOT PENUMBRA_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES ${PENUMBRA_CUDA_ARCHITECTURES})
    enable_language(CUDA)
    # CMake 3.25 knows no C++20 flag for nvcc 13; CUDA sources (and headers they share) are C++17.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_ROOT}/lib ${CUDAToolkit_LIBRARY_DIR})
    find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_ROOT}/lib ${CUDAToolkit_LIBRARY_DIR})
    if(NOT CUDNN_LIBRARY)
      message(FATAL_ERROR "CUDA found but cuDNN is missing")
    endif()
    set(PENUMBRA_HAVE_CUDA ON)
  elseif(PENUMBRA_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PENUMBRA_CUDA=ON but no CUDA compiler was found")
  endif()
endif()
message(STATUS "Penumbra: CUDA backend ${PENUMBRA_HAVE_CUDA}, MPI ${MPI_CXX_FOUND}")
