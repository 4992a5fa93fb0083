// The study's 29-class anatomy scheme: background, 27 FreeSurfer-style structures
// (left then right hemisphere, then the midline ones) and the lesion as the last class.
// This numbering is the project's own (the paper gives the structures, not their order);
// the phantom writes it and every label map is mapped onto it before training.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace pn::data {

namespace cls {
// Per-hemisphere structures: left = kLeft + s, right = kRight + s.
enum Side : int { kWM = 0, kCortex, kLatVent, kCblmWM, kCblmCortex, kThalamus, kCaudate, kPutamen, kPallidum,
                  kHippocampus, kAmygdala, kVentralDC, kPerSide };
constexpr int kBackground = 0;
constexpr int kLeft = 1;
constexpr int kRight = kLeft + kPerSide;  // 13
constexpr int kThirdVentricle = kRight + kPerSide;  // 25
constexpr int kFourthVentricle = 26;
constexpr int kBrainStem = 27;
constexpr int kLesion = 28;
constexpr int kNumClasses = 29;
constexpr int left(Side s) { return kLeft + s; }
constexpr int right(Side s) { return kRight + s; }
}  // namespace cls

// "Left-Cerebral-White-Matter", ..., "Lesion" (FreeSurfer's names where it has them).
const std::string& class_name(int label);
// Parenchyma where a lesion may lie: every class except background, the ventricles and
// the lesion itself.
bool is_brain_tissue(int label);
// Background, lateral, 3rd and 4th ventricles.
bool is_csf(int label);
// A display colour per class (FreeSurfer's LUT colours where it has them; lesion red).
std::array<uint8_t, 3> class_colour(int label);

}  // namespace pn::data
