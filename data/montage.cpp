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
  // Written beside the final name and renamed into place: a reader never sees half a PNG.
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  PN_CHECK(f != nullptr, "{}: cannot open for writing: {}", tmp, std::strerror(errno));
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
  PN_CHECK(std::fclose(f) == 0, "{}: writing failed", tmp);
  PN_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "{}: cannot rename {} into place: {}", path, tmp,
           std::strerror(errno));
}

std::vector<uint8_t> read_png_rgb(const std::string& path, int* width, int* height) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  PN_CHECK(f != nullptr, "{}: cannot open: {}", path, std::strerror(errno));
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    std::fclose(f);
    PN_FAIL("{}: not a readable PNG", path);
  }
  png_init_io(png, f);
  png_read_info(png, info);
  const int w = static_cast<int>(png_get_image_width(png, info)), h = static_cast<int>(png_get_image_height(png, info));
  const bool rgb8 = png_get_bit_depth(png, info) == 8 && png_get_color_type(png, info) == PNG_COLOR_TYPE_RGB;
  std::vector<uint8_t> out;
  if (rgb8) {
    out.resize(static_cast<size_t>(w) * h * 3);
    for (int y = 0; y < h; ++y) png_read_row(png, out.data() + static_cast<size_t>(y) * w * 3, nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  std::fclose(f);
  PN_CHECK(rgb8, "{}: not an 8-bit RGB PNG", path);
  *width = w, *height = h;
  return out;
}

namespace {

// True where voxel (i, j, k) of m is set and a 4-neighbour in its slice is not (or lies outside).
bool outline(const LabelVolume& m, int i, int j, int64_t k) {
  if (!m.at(i, j, k)) return false;
  const int nx = static_cast<int>(m.dims[0]), ny = static_cast<int>(m.dims[1]);
  for (auto [di, dj] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}}) {
    const int ii = i + di, jj = j + dj;
    if (ii < 0 || jj < 0 || ii >= nx || jj >= ny || !m.at(ii, jj, k)) return true;
  }
  return false;
}

// Grey window: 0 .. 99.5th percentile of the non-zero voxels.
float grey_window(const Volume& v) {
  std::vector<float> nz;
  for (float x : v.data)
    if (x > 0) nz.push_back(x);
  if (nz.empty()) return 1;
  const size_t q = static_cast<size_t>(0.995 * static_cast<double>(nz.size() - 1));
  std::nth_element(nz.begin(), nz.begin() + static_cast<std::ptrdiff_t>(q), nz.end());
  return std::max(nz[q], 1e-6f);
}

}  // namespace

void write_montage_png(const std::string& path, const std::vector<MontageCase>& cases, int slices) {
  PN_CHECK(!cases.empty() && slices >= 1, "montage {}: need at least one case and one slice", path);
  const Dims3 d = cases[0].image->dims;
  const int nx = static_cast<int>(d[0]), ny = static_cast<int>(d[1]);
  const int zoom = std::max(1, 96 / std::max(nx, ny)), gap = 2;
  // Radiological view: the subject's left on the image's right. World x grows towards the
  // subject's right (NIfTI's RAS), so a grid whose i runs along +x is drawn mirrored.
  const bool mirror = cases[0].image->affine[0][0] > 0;
  int rows = 0;
  for (const auto& c : cases) {
    PN_CHECK(c.image && c.image->dims == d, "montage {}: every case needs an image of {}", path, dims_string(d));
    for (const LabelVolume* m : {c.labels, c.mask, c.prediction})
      PN_CHECK(!m || m->dims == d, "montage {}: a mask or label map of {} beside an image of {}", path,
               dims_string(m->dims), dims_string(d));
    rows += c.labels ? 2 : 1;
  }
  const int tw = nx * zoom, th = ny * zoom;
  const int width = slices * (tw + gap) + gap, height = rows * (th + gap) + gap;
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3, 24);
  auto put = [&](int x, int y, std::array<uint8_t, 3> c) {
    for (int dy = 0; dy < zoom; ++dy)
      for (int dx = 0; dx < zoom; ++dx)
        std::memcpy(&rgb[(static_cast<size_t>(y + dy) * width + x + dx) * 3], c.data(), 3);
  };
  int row = 0;
  for (const auto& c : cases) {
    const float hi = grey_window(*c.image);
    for (int s = 0; s < slices; ++s) {
      const auto k = static_cast<int64_t>(std::lround((0.05 + 0.9 * (slices == 1 ? 0.5 : s / double(slices - 1))) * (d[2] - 1)));
      const int x0 = gap + s * (tw + gap);
      for (int j = 0; j < ny; ++j)
        for (int i = 0; i < nx; ++i) {
          // Anterior (high j) up.
          const int px = x0 + (mirror ? nx - 1 - i : i) * zoom, py0 = gap + row * (th + gap) + (ny - 1 - j) * zoom;
          const auto g = static_cast<uint8_t>(std::clamp(c.image->at(i, j, k) / hi * 255.f, 0.f, 255.f));
          std::array<uint8_t, 3> col{g, g, g};
          const bool truth = c.mask && outline(*c.mask, i, j, k);
          const bool pred = c.prediction && outline(*c.prediction, i, j, k);
          if (truth && pred) col = {255, 220, 40};
          else if (truth) col = {255, 40, 40};
          else if (pred) col = {40, 230, 60};
          put(px, py0, col);
          if (c.labels) put(px, py0 + th + gap, class_colour(c.labels->at(i, j, k)));
        }
    }
    row += c.labels ? 2 : 1;
  }
  write_png_rgb(path, width, height, rgb);
}

}  // namespace pn::data
