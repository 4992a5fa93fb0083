// concat, narrow, pad_axis, swap_axes, crop_pad, center_crop and zero_pad_center: values, first and
// second derivatives by finite differences (float64), round trips and errors.
#include "autograd/ops/conv.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "test_util.h"

using namespace pn;
using test::rand_input;

TEST_CASE("concat: values along every axis, gradcheck and gradgradcheck") {
  Generator gen(41);
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, DType::Float64);
  Tensor b = Tensor::from_vector(std::vector<double>{5, 6}, {2, 1}, DType::Float64);
  CHECK(concat({a, b}, 1).to_vector() == std::vector<double>{1, 2, 5, 3, 4, 6});
  CHECK(concat({a, b.reshape({1, 2})}, 0).to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(concat({a, b}, -1).shape() == Shape{2, 3});
  for (int axis : {0, 1, 2, 4}) {
    CAPTURE(axis);
    Shape s1{2, 3, 2, 3, 2}, s2 = s1, s3 = s1;
    s2[axis] = 1;
    s3[axis] = 3;
    std::vector<Tensor> in{rand_input(s1, gen), rand_input(s2, gen), rand_input(s3, gen)};
    TensorFn f = [axis](const std::vector<Tensor>& xs) { return concat(xs, axis); };
    TensorFn f2 = [axis](const std::vector<Tensor>& xs) { return square(concat(xs, axis)); };
    CHECK(f(in).size(axis) == s1[axis] + 1 + 3);
    CHECK_GRADCHECK(f, in);
    CHECK_GRADGRADCHECK(f2, in);
  }
}

TEST_CASE("narrow and pad_axis: values, adjointness, derivatives") {
  Generator gen(42);
  Tensor x = Tensor::from_vector(std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 3, 2}, DType::Float64);
  CHECK(narrow(x, 1, 1, 2).to_vector() == std::vector<double>{2, 3, 4, 5, 8, 9, 10, 11});
  CHECK(narrow(x, -1, 1, 1).to_vector() == std::vector<double>{1, 3, 5, 7, 9, 11});
  CHECK(pad_axis(narrow(x, 1, 1, 1), 1, 1, 3).to_vector() == std::vector<double>{0, 0, 2, 3, 0, 0, 0, 0, 8, 9, 0, 0});
  Tensor y = rand_input({2, 5, 3, 1}, gen);
  for (int axis : {0, 1, 2}) {
    CAPTURE(axis);
    const int64_t len = y.size(axis) - 1;
    TensorFn nf = [axis, len](const std::vector<Tensor>& in) { return square(narrow(in[0], axis, 1, len)); };
    TensorFn pf = [axis](const std::vector<Tensor>& in) { return square(pad_axis(in[0], axis, 2, in[0].size(axis) + 3)); };
    CHECK_GRADCHECK(nf, std::vector<Tensor>{y});
    CHECK_GRADGRADCHECK(nf, std::vector<Tensor>{y});
    CHECK_GRADCHECK(pf, std::vector<Tensor>{y});
    CHECK_GRADGRADCHECK(pf, std::vector<Tensor>{y});
  }
  CHECK_THROWS_WITH_AS(narrow(x, 1, 2, 2), doctest::Contains("narrow: range [2, 4) out of bounds for axis 1 of float64[2, 3, 2]"), pn::Error);
  CHECK_THROWS_WITH_AS(pad_axis(x, 0, 1, 2), doctest::Contains("pad_axis: float64[2, 3, 2] cpu placed at 1 does not fit in 2"), pn::Error);
}

TEST_CASE("crop_pad: crop and pad per dim, derivatives, centre helpers round-trip") {
  Generator gen(43);
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}, DType::Float64);
  // H padded by one row on each side (offset -1), W cropped to columns 1..2 (offset 1) + one pad column.
  Tensor y = crop_pad(x, {4, 3}, {-1, 1});
  CHECK(y.to_vector() == std::vector<double>{0, 0, 0, 2, 3, 0, 5, 6, 0, 0, 0, 0});
  CHECK(crop_pad(x, {2, 2}, {5, 0}).to_vector() == std::vector<double>{0, 0, 0, 0});  // no overlap: all zero
  struct C { Shape in; Shape out; std::vector<int64_t> off; };
  for (const C& c : {C{{2, 3, 5, 4}, {3, 6}, {1, -1}}, C{{1, 2, 4, 3, 5}, {2, 5, 4}, {1, -1, 0}},
                     C{{2, 1, 3, 3, 3}, {5, 2, 3}, {-2, 1, 1}}, C{{1, 2, 6}, {4}, {3}}}) {
    CAPTURE(shape_str(c.in));
    Tensor a = rand_input(c.in, gen);
    TensorFn f = [c](const std::vector<Tensor>& in) { return square(crop_pad(in[0], c.out, c.off)); };
    CHECK_GRADCHECK(f, std::vector<Tensor>{a});
    CHECK_GRADGRADCHECK(f, std::vector<Tensor>{a});
  }
  Tensor v = rand_input({2, 3, 5, 4, 7}, gen);
  Tensor padded = zero_pad_center(v, {8, 4, 10});
  CHECK(padded.shape() == Shape{2, 3, 8, 4, 10});
  CHECK(test::max_abs_diff(center_crop(padded, {5, 4, 7}), v) == 0.0);
  CHECK(sum(padded).item() == doctest::Approx(sum(v).item()).epsilon(1e-12));
  CHECK(center_crop(x, {2, 1}).to_vector() == std::vector<double>{2, 5});
  CHECK(zero_pad_center(x, {2, 4}).to_vector() == std::vector<double>{1, 2, 3, 0, 4, 5, 6, 0});
}

TEST_CASE("concat and crop errors name the op and the shapes") {
  Tensor a = Tensor::zeros({2, 3, 4, 4}), b = Tensor::zeros({2, 2, 5, 4});
  CHECK_THROWS_WITH_AS(concat({a, b}, 1), doctest::Contains("concat: float32[2, 2, 5, 4] cpu does not match float32[2, 3, 4, 4] cpu outside axis 1"), pn::Error);
  CHECK_THROWS_WITH_AS(concat({a, a.to(DType::Float64)}, 1), doctest::Contains("concat: dtype mismatch"), pn::Error);
  CHECK_THROWS_WITH_AS(concat({}, 0), doctest::Contains("concat: no tensors"), pn::Error);
  CHECK_THROWS_WITH_AS(concat({a, a}, 4), doctest::Contains("concat: axis 4 out of range"), pn::Error);
  CHECK_THROWS_WITH_AS(crop_pad(a, {4}, {0}), doctest::Contains("crop_pad: input float32[2, 3, 4, 4] cpu needs 2 output sizes"), pn::Error);
  CHECK_THROWS_WITH_AS(center_crop(a, {5, 4}), doctest::Contains("center_crop: [5, 4] larger than input"), pn::Error);
  CHECK_THROWS_WITH_AS(zero_pad_center(a, {3, 4}), doctest::Contains("zero_pad_center: [3, 4] smaller than input"), pn::Error);
  CHECK(concat({a}, 1).same(a));
}

TEST_CASE("swap_axes: values by the definition, its own inverse, gradcheck and gradgradcheck, errors") {
  std::vector<double> v(12);
  for (int i = 0; i < 12; ++i) v[i] = i;
  Tensor x = Tensor::from_vector(v, {2, 3, 2}, DType::Float64);
  Tensor y = swap_axes(x, 0);  // [3, 2, 2]: y[j, i, k] = x[i, j, k]
  CHECK(y.shape() == Shape{3, 2, 2});
  CHECK(y.to_vector() == std::vector<double>{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11});
  CHECK(swap_axes(x, 1).to_vector() == std::vector<double>{0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11});  // runs of 1
  Generator gen(45);
  for (int axis : {0, 1, 2}) {
    CAPTURE(axis);
    Tensor a = rand_input({2, 3, 4, 2}, gen);
    CHECK(swap_axes(swap_axes(a, axis), axis).to_vector() == a.to_vector());
    TensorFn f = [axis](const std::vector<Tensor>& in) { return square(swap_axes(in[0], axis)); };
    CHECK_GRADCHECK(f, std::vector<Tensor>{a});
    CHECK_GRADGRADCHECK(f, std::vector<Tensor>{a});
  }
  CHECK_THROWS_WITH_AS(swap_axes(Tensor::zeros({2, 3}), 1),
                       doctest::Contains("swap_axes: axis 1 of float32[2, 3] cpu has no next axis to swap with"),
                       pn::Error);
}
