// CPU random fills from the Philox stream: element i gets draw (seed, offset + i).
#pragma once
#include <cstdint>

namespace pn::cpu {

template <class T>
void fill_normal(T* x, int64_t n, uint64_t seed, uint64_t offset, double mean, double std);

template <class T>
void fill_uniform(T* x, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi);

// x[i] = (u < keep) ? scale : 0: an inverted-dropout mask.
template <class T>
void fill_bernoulli(T* x, int64_t n, uint64_t seed, uint64_t offset, double keep, double scale);

}  // namespace pn::cpu
