// An exponential moving average of a module's weights (Polyak averaging; the generator EMA
// of ProGAN and StyleGAN, which sample the averaged generator rather than the last one):
// after each optimiser step of the source module,
//
//     avg <- d_t * avg + (1 - d_t) * w          for every parameter w,
//     d_t  = min(decay, (1 + t) / (10 + t))     t = 0, 1, 2, ... the update's index,
//
// the warm-up of TensorFlow's ExponentialMovingAverage: the first updates weigh the new
// weights heavily (d_0 = 0.1), so that the average is not held at the initial weights for the
// ~1 / (1 - decay) steps a plain EMA would need to forget them. Buffers (running statistics)
// are copied, not averaged. The average is a second module of the same architecture, so that
// it is checkpointed, moved to a device and sampled like any other; training never reads it.
// All arithmetic is in the parameters' dtype (float32 master weights) on their device; the
// tensors are looked up at each update, so the modules may be moved (Module::to) between.
#pragma once
#include <cstdint>

#include "nn/module.h"

namespace pn::nn {

class WeightAverage {
 public:
  // requires: source and average have the same parameter and buffer names, shapes and
  //           dtypes (else pn::Error naming the first mismatch); 0 <= decay < 1.
  // ensures:  average holds source's weights (reset()).
  WeightAverage(const Module& source, Module& average, double decay);
  // average <- source, parameters and buffers.
  void reset();
  // One update after the source's optimiser step number t (0-based; a resumed run passes
  // the global step, so that the warm-up continues where it stopped).
  void update(int64_t t);
  // d_t above.
  static double decay_at(double decay, int64_t t);
  double decay() const { return decay_; }

 private:
  const Module* source_;
  Module* average_;
  double decay_;
};

}  // namespace pn::nn
