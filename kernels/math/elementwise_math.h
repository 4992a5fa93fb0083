// Per-element math shared by both backends: one definition of every unary and binary
// elementwise function, so that the CPU reference and the CUDA kernels cannot drift apart.
#pragma once
#include <cmath>
#include "kernels/math/hd.h"

namespace pn::math {

// Unqualified calls below pick float or double overloads on host and device alike.
using std::exp; using std::log; using std::sqrt; using std::tanh; using std::pow; using std::log1p;

enum class Unary : int {
  Neg, Exp, Log, Sqrt, Abs, Sign, Tanh, Sigmoid, Relu,
  LeakyRelu,    // p0 = negative slope
  LeakyMask,    // d/dx leaky_relu: 1 if x > 0 else p0 (p0 = 0 gives the ReLU mask)
  Clamp,        // clamp to [p0, p1]
  ClampMask,    // 1 inside (p0, p1), else 0: d/dx clamp
  PowScalar,    // x^p0
  AddScalar,    // x + p0
  MulScalar,    // x * p0
  RsubScalar,   // p0 - x
  Square,
  Reciprocal,
  Log1pExpNeg,  // log(1 + exp(-|x|)), the stable tail of BCE-with-logits
  GreaterScalar, // 1 if x > p0 else 0
  Count          // not an op: the number of ops (new ops go above it; the name table in
                 // elementwise_names.cpp and the CPU dispatch are sized by it)
};

enum class Binary : int { Add, Sub, Mul, Div, Max, Min, Pow, Count /* not an op: the number of ops */ };

template <class T>
PN_HD T sigmoid(T x) {
  // Two branches so that exp never overflows.
  if (x >= T(0)) { T e = exp(-x); return T(1) / (T(1) + e); }
  T e = exp(x);
  return e / (T(1) + e);
}

template <class T>
PN_HD T apply_unary(Unary op, T x, T p0, T p1) {
  switch (op) {
    case Unary::Neg: return -x;
    case Unary::Exp: return exp(x);
    case Unary::Log: return log(x);
    case Unary::Sqrt: return sqrt(x);
    case Unary::Abs: return x < T(0) ? -x : x;
    case Unary::Sign: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case Unary::Tanh: return tanh(x);
    case Unary::Sigmoid: return sigmoid(x);
    case Unary::Relu: return x > T(0) ? x : T(0);
    case Unary::LeakyRelu: return x > T(0) ? x : x * p0;
    case Unary::LeakyMask: return x > T(0) ? T(1) : p0;
    case Unary::Clamp: return x < p0 ? p0 : (x > p1 ? p1 : x);
    case Unary::ClampMask: return (x > p0 && x < p1) ? T(1) : T(0);
    case Unary::PowScalar: return pow(x, p0);
    case Unary::AddScalar: return x + p0;
    case Unary::MulScalar: return x * p0;
    case Unary::RsubScalar: return p0 - x;
    case Unary::Square: return x * x;
    case Unary::Reciprocal: return T(1) / x;
    case Unary::Log1pExpNeg: return log1p(exp(-(x < T(0) ? -x : x)));
    case Unary::GreaterScalar: return x > p0 ? T(1) : T(0);
    case Unary::Count: break;
  }
  return x;
}

template <class T>
PN_HD T apply_binary(Binary op, T a, T b) {
  switch (op) {
    case Binary::Add: return a + b;
    case Binary::Sub: return a - b;
    case Binary::Mul: return a * b;
    case Binary::Div: return a / b;
    case Binary::Max: return a > b ? a : b;
    case Binary::Min: return a < b ? a : b;
    case Binary::Pow: return pow(a, b);
    case Binary::Count: break;
  }
  return a;
}

const char* unary_name(Unary op);
const char* binary_name(Binary op);

}  // namespace pn::math
