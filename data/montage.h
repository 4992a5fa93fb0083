// PNG montages of volumes for a person to look at: for each case two rows of axial
// slices (anterior up, subject's left on the image's right as radiologists view it, read
// from the affine's first column): the image in grey with the lesion outline in red (and
// a predicted mask's outline in green, yellow where they meet), and the label map in class colours. Small grids
// are enlarged by an integer factor so that a slice is at least 96 pixels wide.
#pragma once
#include <string>
#include <vector>

#include "data/volume.h"

namespace pn::data {

struct MontageCase {
  const Volume* image = nullptr;
  const LabelVolume* labels = nullptr;  // optional: the colour row
  const LabelVolume* mask = nullptr;    // optional: the lesion outline (red)
  const LabelVolume* prediction = nullptr;  // optional: a predicted mask's outline (green)
};

// `slices` axial slices per row, evenly spaced over the middle 90 % of the stack.
void write_montage_png(const std::string& path, const std::vector<MontageCase>& cases, int slices = 8);

// Writes an 8-bit RGB image (row-major, 3 bytes per pixel) as PNG, atomically (temp + rename).
void write_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb);
// Reads an 8-bit RGB PNG back (tests look at the pixels); throws naming the file otherwise.
std::vector<uint8_t> read_png_rgb(const std::string& path, int* width, int* height);

}  // namespace pn::data
