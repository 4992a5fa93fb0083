#include "data/label_lut.h"

#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "data/label_scheme.h"

namespace pn::data {

const LabelLut& freesurfer_aseg_lut() {
  static const LabelLut lut = [] {
    LabelLut m;
    using namespace cls;
    // {left aseg value, right aseg value, structure}
    const struct { int l, r; Side s; } sided[] = {
        {2, 41, kWM},        {3, 42, kCortex},      {4, 43, kLatVent},     {5, 44, kLatVent},   {7, 46, kCblmWM},
        {8, 47, kCblmCortex}, {9, 48, kThalamus},   {10, 49, kThalamus},   {11, 50, kCaudate},  {26, 58, kCaudate},
        {12, 51, kPutamen},  {13, 52, kPallidum},   {17, 53, kHippocampus}, {18, 54, kAmygdala}, {28, 60, kVentralDC},
        {31, 63, kLatVent}};
    for (const auto& e : sided) {
      m[e.l] = left(e.s);
      m[e.r] = right(e.s);
    }
    m[14] = kThirdVentricle;
    m[15] = kFourthVentricle;
    m[16] = kBrainStem;
    for (int b : {0, 24, 30, 62, 72, 77, 78, 79, 80, 81, 82, 85}) m[b] = kBackground;
    return m;
  }();
  return lut;
}

LabelLut read_lut_file(const std::string& path) {
  std::ifstream f(path);
  PN_CHECK(f.good(), "{}: cannot open the label table", path);
  LabelLut lut;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream in(line);
    int32_t src, dst;
    if (!(in >> src)) continue;  // blank line
    PN_CHECK(static_cast<bool>(in >> dst), "{}:{}: expected 'source target', got '{}'", path, lineno, line);
    std::string extra;
    PN_CHECK(!(in >> extra), "{}:{}: unexpected '{}' after 'source target'", path, lineno, extra);
    PN_CHECK(dst >= 0 && dst < cls::kNumClasses, "{}:{}: target {} is outside the 29 classes", path, lineno, dst);
    PN_CHECK(!lut.count(src), "{}:{}: source label {} appears twice", path, lineno, src);
    lut[src] = dst;
  }
  PN_CHECK(!lut.empty(), "{}: the label table is empty", path);
  return lut;
}

LabelVolume apply_lut(const LabelVolume& v, const LabelLut& lut, const std::string& name) {
  LabelVolume out = v;
  std::map<int32_t, int64_t> unmapped;
  for (int32_t& l : out.data) {
    auto it = lut.find(l);
    if (it == lut.end()) ++unmapped[l];
    else l = it->second;
  }
  if (!unmapped.empty()) {
    std::string list;
    for (const auto& [l, n] : unmapped) list += fmt::format("{}{} ({} voxels)", list.empty() ? "" : ", ", l, n);
    PN_FAIL("{}: labels not in the lookup table: {}; map them in a table file (one 'source target' line each, "
            "target a study class 0..28) and use that file as the table (data.labels_lut)", name, list);
  }
  return out;
}

}  // namespace pn::data
