// PNG montages of volumes for a person to look at: for each case two rows of axial
// slices (anterior up, subject's left on the image's right as radiologists view it):
// the image in grey with the lesion outline in red, and the label map in class colours.
#pragma once
#include <string>
#include <vector>

#include "data/volume.h"

namespace pn::data {

struct MontageCase {
  const Volume* image = nullptr;
  const LabelVolume* labels = nullptr;  // optional: the colour row
  const LabelVolume* mask = nullptr;    // optional: the lesion outline
};

// `slices` axial slices per row, evenly spaced over the middle 90 % of the stack.
void write_montage_png(const std::string& path, const std::vector<MontageCase>& cases, int slices = 8);

// Writes an 8-bit RGB image (row-major, 3 bytes per pixel) as PNG.
void write_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb);

}  // namespace pn::data
