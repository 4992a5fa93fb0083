#include "data/label_scheme.h"

#include <vector>

#include "autograd/error.h"

namespace pn::data {
namespace {

struct ClassInfo {
  std::string name;
  std::array<uint8_t, 3> rgb;
};

const std::vector<ClassInfo>& classes() {
  // Per-side names and FreeSurferColorLUT colours, in cls::Side order.
  static const std::vector<ClassInfo> table = [] {
    const std::pair<const char*, std::array<uint8_t, 3>> side[cls::kPerSide] = {
        {"Cerebral-White-Matter", {245, 245, 245}}, {"Cerebral-Cortex", {205, 62, 78}},
        {"Lateral-Ventricle", {120, 18, 134}},      {"Cerebellum-White-Matter", {220, 248, 164}},
        {"Cerebellum-Cortex", {230, 148, 34}},      {"Thalamus", {0, 118, 14}},
        {"Caudate", {122, 186, 220}},               {"Putamen", {236, 13, 176}},
        {"Pallidum", {12, 48, 255}},                {"Hippocampus", {220, 216, 20}},
        {"Amygdala", {103, 255, 255}},              {"VentralDC", {165, 42, 42}}};
    std::vector<ClassInfo> t;
    t.push_back({"Background", {0, 0, 0}});
    for (const char* hemi : {"Left-", "Right-"})
      for (const auto& [n, c] : side) t.push_back({std::string(hemi) + n, c});
    t.push_back({"3rd-Ventricle", {204, 182, 142}});
    t.push_back({"4th-Ventricle", {42, 204, 164}});
    t.push_back({"Brain-Stem", {119, 159, 176}});
    t.push_back({"Lesion", {255, 0, 0}});
    return t;
  }();
  return table;
}

void check_label(int label) {
  PN_CHECK(label >= 0 && label < cls::kNumClasses, "label {} is outside the 29-class scheme [0, 29)", label);
}

}  // namespace

const std::string& class_name(int label) {
  check_label(label);
  return classes()[label].name;
}

bool is_csf(int label) {
  return label == cls::kBackground || label == cls::left(cls::kLatVent) || label == cls::right(cls::kLatVent) ||
         label == cls::kThirdVentricle || label == cls::kFourthVentricle;
}

bool is_brain_tissue(int label) { return label > 0 && label < cls::kLesion && !is_csf(label); }

std::array<uint8_t, 3> class_colour(int label) {
  check_label(label);
  return classes()[label].rgb;
}

}  // namespace pn::data
