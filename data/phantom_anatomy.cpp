#include "data/phantom_anatomy.h"

#include <cmath>

#include "data/label_scheme.h"

namespace pn::data {
namespace {

// Squared normalised distance to an ellipsoid's centre: < 1 inside.
inline double ell(double x, double y, double z, double cx, double cy, double cz, double ax, double ay, double az) {
  const double u = (x - cx) / ax, v = (y - cy) / ay, w = (z - cz) / az;
  return u * u + v * v + w * w;
}

}  // namespace

int BrainTemplate::posterior_fossa(double x, double y, double z, bool* inside) const {
  const double ax = std::abs(x);
  const int side_base = x >= 0 ? cls::kLeft : cls::kRight;
  // Brain stem: an elliptic column below the thalami, 4th ventricle behind it.
  if (ell(x, y, z, 0, -32, -31, 5, 4, 7) < 1) { *inside = true; return cls::kFourthVentricle; }
  if (z < -2 && z > -75 && ell(x, y, 0, 0, -20 - 0.15 * (z + 2), 0, 11 - 0.03 * z, 12, 1) < 1) {
    *inside = true;
    return cls::kBrainStem;
  }
  // Cerebellum: one broad shape behind the stem with a posterior midline notch; folia as
  // thin CSF sheets, white matter as a branching core in each hemisphere.
  // (The boundary wobble is evaluated only where it can matter.)
  const double r2_base = ell(x, y, z, 0, -54, -36, 50, 27, 19);
  const double r2 = r2_base < 1.06 ? r2_base * (1 + 0.05 * cblm_.at(x / 15.0, y / 15.0, z / 15.0)) : r2_base;
  const bool notch = ax < 3.0 + 0.25 * std::max(0.0, -62 - y) * 2 && y < -62;
  if (r2 < 1 && !notch) {
    *inside = true;
    const double core = ell(ax, y, z, 22, -52, -36, 18, 14, 9);
    const double branch = cblm_.fractal(x / 8.0, y / 8.0, z / 6.0, 2);
    const double folia = std::sin((z * 1.1 + 0.3 * y + 5.0 * branch) * 1.2);
    if (r2 > 0.3 && folia > 0.85) return cls::kBackground;
    if (core < 1 + 0.8 * branch || (core < 2.2 && std::abs(folia) < 0.25)) return side_base + cls::kCblmWM;
    return side_base + cls::kCblmCortex;
  }
  return -1;
}

int BrainTemplate::cerebrum(double x, double y, double z, double envelope) const {
  const double ax = std::abs(x);
  const int s = x >= 0 ? cls::kLeft : cls::kRight;
  const double vs = p_.ventricle_scale;
  // Midline CSF: the interhemispheric fissure, except at the corpus callosum and below it.
  const bool callosal = std::abs(y + 3) < 36 && z < 24 - 0.004 * (y + 3) * (y + 3);
  if (ax < 2.0 && !callosal && ax < 1.4 + 0.6 * fold_.at(y / 20.0, z / 20.0, 3.0)) return cls::kBackground;
  // Deep structures, most specific first.
  if (ax < 1.3 * vs && y > -20 && y < 6 && z > -8 && z < 12) return cls::kThirdVentricle;
  const double vent_x = 6 + 0.15 * std::abs(y), vent_z = 17 - 0.007 * y * y;
  if (ell(ax, y, z, vent_x, -2, vent_z, 4.5 * vs + 1, 32, 7 * vs) < 1) return s + cls::kLatVent;
  if (ell(ax, y, z, 13 + 0.1 * std::abs(y - 14), 14, 12, 4.5, 13, 7) < 1) return s + cls::kCaudate;
  if (ell(ax, y, z, 9, -13, 5, 7.5, 12, 8) < 1) return s + cls::kThalamus;
  if (ell(ax, y, z, 18.5, 2, 1, 3.5, 8, 5) < 1) return s + cls::kPallidum;
  if (ell(ax, y, z, 24.5, 5, 3, 5, 15, 9) < 1) return s + cls::kPutamen;
  if (ell(ax, y, z, 27, -22 - 0.2 * (z + 16), -16, 5, 15, 5) < 1) return s + cls::kHippocampus;
  if (ell(ax, y, z, 23, 1, -20, 6, 7, 6) < 1) return s + cls::kAmygdala;
  if (ell(ax, y, z, 11, -12, -8, 5, 7, 5.5) < 1) return s + cls::kVentralDC;
  // Cortex: a ribbon under the surface, folded into gyri by a smooth field; sulci are
  // thin CSF sheets where the field crosses zero, lined by cortex.
  const double depth = (1 - std::sqrt(envelope)) * 62.0;  // mm below the envelope, roughly
  if (depth > 30) return s + cls::kWM;  // below the deepest sulcus and its cortical lining
  const double g = fold_.fractal(x / 16.0, y / 16.0, z / 13.0, 2);
  const double sulcal_depth = 13.0 + 6.0 * fold_.at(x / 40.0 + 11, y / 40.0, z / 40.0);
  if (depth < sulcal_depth && std::abs(g) < p_.sulcus_width) return cls::kBackground;
  // The cortex follows each sulcus down as a V-shaped band around it.
  const double band = sulcal_depth + p_.cortex_mm - (std::abs(g) - p_.sulcus_width) * 60.0;
  if (depth < p_.cortex_mm || depth < band) return s + cls::kCortex;
  return s + cls::kWM;
}

int BrainTemplate::label(double x, double y, double z, bool* inside) const {
  *inside = false;
  const int pf = posterior_fossa(x, y, z, inside);
  if (pf >= 0) return pf;
  // Cerebral envelope: an ellipsoid flatter below its centre, narrower in front, plus the
  // temporal lobes; the cerebellum (tested first) takes the posterior fossa.
  const double A = 68 * p_.brain_scale[0] * (1 - 0.1 * std::max(0.0, y) / 86.0), B = 86 * p_.brain_scale[1];
  const double C = (z > 6 ? 60 : 40) * p_.brain_scale[2];
  const double ax = std::abs(x);
  double e = ell(x, y, z, 0, -4, 6, A, B, C);
  double temporal = ell(ax, y, z, 44, 4, -22, 24, 36, 20);
  if (std::min(e, temporal) > 1.04) return cls::kBackground;  // no wobble reaches this far
  // A wobbly surface; deep inside (depth > 30 mm, e < 0.3) nothing depends on it.
  const double wobble = std::min(e, temporal) > 0.3 ? 1 + 0.03 * fold_.at(x / 30.0, y / 30.0, z / 30.0 + 7) : 1.0;
  e *= wobble;
  temporal *= wobble;
  if (temporal < 1) e = std::min(e, 1 - (1 - temporal) * 0.5);  // depth measured from the lobe's own surface
  if (e >= 1) return cls::kBackground;
  *inside = true;
  return cerebrum(x, y, z, e);
}

}  // namespace pn::data
