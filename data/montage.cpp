#include "data/montage.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "autograd/error.h"
#include "data/label_scheme.h"

namespace pn::data {

void write_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
  PN_CHECK(width > 0 && height > 0 && rgb.size() == static_cast<size_t>(width) * height * 3,
           "{}: PNG buffer of {} bytes does not match {}x{} RGB", path, rgb.size(), width, height);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  PN_CHECK(f != nullptr, "{}: cannot open for writing: {}", path, std::strerror(errno));
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    PN_FAIL("{}: libpng failed to write the image", path);
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y)
    png_write_row(png, const_cast<png_bytep>(rgb.data() + static_cast<size_t>(y) * width * 3));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  PN_CHECK(std::fclose(f) == 0, "{}: writing failed", path);
}

void write_montage_png(const std::string& path, const std::vector<MontageCase>& cases, int slices) {
  PN_CHECK(!cases.empty() && slices >= 1, "montage {}: need at least one case and one slice", path);
  const Dims3 d = cases[0].image->dims;
  const int nx = static_cast<int>(d[0]), ny = static_cast<int>(d[1]);
  const int gap = 2;
  int rows = 0;
  for (const auto& c : cases) {
    PN_CHECK(c.image && c.image->dims == d, "montage {}: every case needs an image of {}", path, dims_string(d));
    rows += c.labels ? 2 : 1;
  }
  const int width = slices * (nx + gap) + gap, height = rows * (ny + gap) + gap;
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3, 24);
  auto put = [&](int x, int y, std::array<uint8_t, 3> c) { std::memcpy(&rgb[(static_cast<size_t>(y) * width + x) * 3], c.data(), 3); };
  int row = 0;
  for (const auto& c : cases) {
    // Grey window: 0 .. 99.5th percentile of the non-zero voxels.
    std::vector<float> nz;
    for (float v : c.image->data)
      if (v > 0) nz.push_back(v);
    float hi = 1;
    if (!nz.empty()) {
      const size_t q = static_cast<size_t>(0.995 * static_cast<double>(nz.size() - 1));
      std::nth_element(nz.begin(), nz.begin() + static_cast<std::ptrdiff_t>(q), nz.end());
      hi = std::max(nz[q], 1e-6f);
    }
    for (int s = 0; s < slices; ++s) {
      const auto k = static_cast<int64_t>(std::lround((0.05 + 0.9 * (slices == 1 ? 0.5 : s / double(slices - 1))) * (d[2] - 1)));
      const int x0 = gap + s * (nx + gap);
      for (int j = 0; j < ny; ++j)
        for (int i = 0; i < nx; ++i) {
          // Radiological view: anterior (high j) up, the subject's left (high i) on the right.
          const int px = x0 + i, py0 = gap + row * (ny + gap) + (ny - 1 - j);
          const auto g = static_cast<uint8_t>(std::clamp(c.image->at(i, j, k) / hi * 255.f, 0.f, 255.f));
          std::array<uint8_t, 3> col{g, g, g};
          if (c.mask && c.mask->at(i, j, k)) {
            bool edge = false;
            for (auto [di, dj] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}}) {
              const int ii = i + di, jj = j + dj;
              edge |= ii < 0 || jj < 0 || ii >= nx || jj >= ny || !c.mask->at(ii, jj, k);
            }
            if (edge) col = {255, 40, 40};
          }
          put(px, py0, col);
          if (c.labels) put(px, py0 + ny + gap, class_colour(c.labels->at(i, j, k)));
        }
    }
    row += c.labels ? 2 : 1;
  }
  write_png_rgb(path, width, height, rgb);
}

}  // namespace pn::data
