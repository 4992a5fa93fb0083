// A small bitmap font for raster charts: 5x7 capitals in a 6-pixel advance, with two rows
// below the baseline for descenders (g, j, p, q, y, comma, underscore). It covers
// printable ASCII plus a few symbols a report uses (±, ×, en/em dash); any other code
// point draws as a hollow box, so missing glyphs are visible rather than silently dropped.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pn::experiments::font {

constexpr int kWidth = 5;    // glyph columns
constexpr int kRows = 9;     // glyph rows: 7 above the baseline, 2 below
constexpr int kCapRows = 7;  // rows 0..6: capitals and digits
constexpr int kAdvance = 6;  // columns per character, including the gap

// Bit (kWidth - 1 - col) of row r is set where the glyph has ink at (col, r).
using Glyph = std::array<uint8_t, kRows>;
const Glyph& glyph(char32_t code_point);
// The code points of a UTF-8 string (an invalid byte stands for itself).
std::vector<char32_t> decode_utf8(const std::string& s);
// Width in font pixels of a string drawn without the trailing gap.
int text_columns(const std::string& s);

}  // namespace pn::experiments::font
