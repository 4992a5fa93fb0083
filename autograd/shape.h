// Shape: the sizes of a contiguous row-major (NC[D]HW) tensor, and helpers over shapes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pn {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);
// Normalises a possibly negative axis against ndim; throws naming op if out of range.
int normalize_axis(int axis, int ndim, const char* op);
// Broadcast result shape of a and b (NumPy rules); throws naming op on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace pn
