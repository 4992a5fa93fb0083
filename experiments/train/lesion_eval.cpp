#include "experiments/train/lesion_eval.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "autograd/error.h"
#include "data/arterial_atlas.h"
#include "data/folder_dataset.h"
#include "data/montage.h"
#include "data/pipeline.h"
#include "experiments/config/dataset_config.h"
#include "experiments/train/lesion_sources.h"
#include "experiments/train/maskgan_training.h"
#include "experiments/run/progress.h"
#include "experiments/report/report_figures.h"
#include "experiments/train/seg_training.h"
#include "experiments/run/training_run.h"
#include "nn/safetensors.h"

namespace pn::experiments {

namespace fs = std::filesystem;

namespace {

constexpr size_t kShown = 4;  // masks of each kind in the montage

// The held-out real masks and where they came from.
std::vector<data::LabelVolume> real_masks(const Config& cfg, std::string& source) {
  std::vector<data::LabelVolume> out;
  const LesionSourceSpec spec = maskgan_mask_source(cfg);
  if (spec.real()) {
    const data::LesionSet set =
        load_lesion_source(spec, study_mni_grid(cfg), lesion_set_options(cfg, cfg.integer("maskgan.min_lesion_voxels")));
    auto idx = set.held_out();
    source = fmt::format("{}: the {} masks held out from training", spec.description, idx.size());
    if (idx.empty()) {
      idx = set.train();
      source = fmt::format("{}: no mask held out (maskgan.held_out_fraction = 0), so the {} training masks",
                           spec.description, idx.size());
    }
    for (size_t i : idx) out.push_back(set.mask(i));
    return out;
  }
  const auto pipe = seg_pipeline(cfg, false);
  std::vector<std::string> dirs;
  for (const char* key : {"data.test_dir", "data.holdout_dir"})
    if (fs::is_directory(cfg.string(key))) {
      const data::FolderDataset ds = open_dataset(cfg, cfg.string(key), key);
      for (size_t i = 0; i < ds.size(); ++i) {
        data::Sample s = data::preprocess(ds.load(i), pipe, 0);
        if (std::any_of(s.target.data.begin(), s.target.data.end(), [](int32_t v) { return v != 0; }))
          out.push_back(std::move(s.target));
      }
      dirs.push_back(cfg.string(key));
    }
  source = fmt::format("the lesion-positive masks of {} ({} masks; the GAN trained on data.train_dir)",
                       fmt::join(dirs, " and "), out.size());
  return out;
}

MaskMeasures measure(const data::LabelVolume& m, const std::optional<data::ArterialAtlas>& atlas) {
  MaskMeasures r{data::lesion_stats(m), ""};
  if (atlas) {
    const auto hit = atlas->territory(m);
    r.territory = hit.group ? data::ArterialAtlas::group_name(hit.group) : "none";
  }
  return r;
}

std::vector<double> field(const std::vector<MaskMeasures>& v, double (*f)(const MaskMeasures&)) {
  std::vector<double> out;
  for (const auto& m : v) out.push_back(f(m));
  return out;
}

double percent(size_t k, size_t n) { return n ? 100.0 * static_cast<double>(k) / static_cast<double>(n) : 0.0; }

}  // namespace

double ks_distance(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty()) return 0;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  double d = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);  // step both CDFs past every value equal to x
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / static_cast<double>(a.size()) -
                             static_cast<double>(j) / static_cast<double>(b.size())));
  }
  return d;
}

LesionComparison compare_generated_lesions(const std::string& maskgan_run, int64_t count, uint64_t seed,
                                           Device device, const std::vector<std::string>& sampling) {
  const Config cfg = maskgan_sampling_config(maskgan_run, sampling);
  LesionComparison c;
  std::vector<data::LabelVolume> real = real_masks(cfg, c.real_source);
  PN_CHECK(!real.empty(), "maskgan eval: no real masks to compare with ({})", c.real_source);
  std::vector<data::LabelVolume> gen = maskgan_generate(maskgan_run, count, seed, nullptr, 6, device, sampling,
                                                        &c.generated_cut);
  const MaskCut cut = mask_cut(cfg);
  const std::string peak_cut =
      cut.peak_cut > 0 ? fmt::format(", or each mask's maximum - {} where lower", cut.peak_cut) : "";
  c.generated_source = fmt::format("{} masks from the generator of {} ({}; seed {}; threshold {}{}, temperature {}, "
                                   "specks under {} voxels removed)", count, maskgan_run,
                                   sampled_weights_name(sampled_weights(cfg)), seed, cut.threshold, peak_cut,
                                   cfg.number("maskgan.temperature"), cut.min_component_voxels);
  // Generated masks live on the grid of the data the GAN learnt from.
  for (auto& g : gen) {
    PN_CHECK(g.dims == real[0].dims, "maskgan eval: generated masks are {}x{}x{}, real ones {}x{}x{}", g.dims[0], g.dims[1],
             g.dims[2], real[0].dims[0], real[0].dims[1], real[0].dims[2]);
    static_cast<data::Grid&>(g) = real[0].grid();
  }
  // Territories need masks in MNI space: the real sets' grid, not the pipeline's.
  std::optional<data::ArterialAtlas> atlas;
  if (maskgan_mask_source(cfg).real()) atlas = data::ArterialAtlas::find_shared();
  c.territories = atlas.has_value();
  cli::Progress prog("lesion measures", static_cast<int64_t>(real.size() + gen.size()), "mask");
  for (const auto& m : real) {
    c.real.push_back(measure(m, atlas));
    prog.advance(1);
  }
  for (const auto& m : gen) {
    prog.advance(1);
    if (std::none_of(m.data.begin(), m.data.end(), [](int32_t v) { return v != 0; })) {
      ++c.generated_empty;
      continue;
    }
    c.generated.push_back(measure(m, atlas));
    if (c.generated_shown.size() < kShown) c.generated_shown.push_back(m);
  }
  prog.finish();
  for (size_t i = 0; i < real.size() && i < kShown; ++i) c.real_shown.push_back(std::move(real[i]));
  return c;
}

namespace {

// The measures compared between real and generated masks, with their table precision.
struct MeasureRow {
  const char* name;
  double (*f)(const MaskMeasures&);
  int decimals;
};
double largest_extent(const MaskMeasures& m) { return data::largest_extent_mm(m.stats); }
const MeasureRow kMeasureRows[] = {
    {"volume (ml)", [](const MaskMeasures& m) { return m.stats.volume_ml; }, 2},
    {"components (26-connected)", [](const MaskMeasures& m) { return double(m.stats.components); }, 0},
    {"surface / volume (1/mm)", [](const MaskMeasures& m) { return m.stats.surface_to_volume; }, 3},
    {"largest extent (mm)", largest_extent, 1},
};

template <class Pred>
size_t count_where(const std::vector<MaskMeasures>& v, Pred pred) {
  return static_cast<size_t>(std::count_if(v.begin(), v.end(), pred));
}

// The markdown table: each measure's median [quartiles] in both sets with their KS distance,
// then the fractions with several components, in the left hemisphere and per territory.
std::string measures_table(const LesionComparison& c) {
  const auto& R = c.real;
  const auto& G = c.generated;
  std::string md = fmt::format("| measure | real (n = {}) | generated (n = {}) | KS distance |\n|---|---|---|---|\n",
                               R.size(), G.size());
  auto cell = [](const std::vector<double>& v, int d) {
    const BoxStats b = box_stats(v);
    return fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", b.median, d, b.q1, d, b.q3, d);
  };
  for (const MeasureRow& r : kMeasureRows) {
    const auto a = field(R, r.f), b = field(G, r.f);
    md += fmt::format("| {}: median [quartiles] | {} | {} | {:.2f} |\n", r.name, cell(a, r.decimals), cell(b, r.decimals),
                      ks_distance(a, b));
  }
  auto fraction_row = [&](const std::string& name, auto pred) {
    md += fmt::format("| {} | {:.1f} % | {:.1f} % | |\n", name, percent(count_where(R, pred), R.size()),
                      percent(count_where(G, pred), G.size()));
  };
  fraction_row("more than one component", [](const MaskMeasures& m) { return m.stats.components > 1; });
  fraction_row("left hemisphere (centre of mass)",
               [](const MaskMeasures& m) { return m.stats.hemisphere == data::Hemisphere::Left; });
  if (!c.territories)
    return md + "\nNo vascular territories: the masks are not in MNI space or the arterial atlas (shared/data/soop) is not "
                "at hand.\n";
  std::vector<std::string> names;
  for (int g = 1; g <= data::ArterialAtlas::kGroups; ++g) names.push_back(data::ArterialAtlas::group_name(g));
  names.push_back("none");
  for (const auto& n : names) {
    const auto in = [&](const MaskMeasures& m) { return m.territory == n; };
    if (count_where(R, in) + count_where(G, in) > 0) fraction_row(fmt::format("territory {} (most voxels)", n), in);
  }
  return md;
}

// One row per mask (written whole and atomically: re-running replaces it).
void write_lesion_csv(const LesionComparison& c, const fs::path& out_dir) {
  std::string csv = "set,voxels,volume_ml,components,surface_to_volume,extent_max_mm,hemisphere,territory\n";
  for (const auto* set : {&c.real, &c.generated})
    for (const auto& m : *set)
      csv += fmt::format("{},{},{:.4f},{},{:.4f},{:.2f},{},{}\n", set == &c.real ? "real" : "generated", m.stats.voxels,
                         m.stats.volume_ml, m.stats.components, m.stats.surface_to_volume, largest_extent(m),
                         data::hemisphere_name(m.stats.hemisphere), m.territory);
  nn::write_file_atomic((out_dir / "lesion_stats.csv").string(), csv);
}

// The histograms of volume, components and surface-to-volume (PNG and SVG), linked in md.
void write_lesion_histograms(const LesionComparison& c, const fs::path& out_dir, std::string& md) {
  const auto& R = c.real;
  const auto& G = c.generated;
  fs::create_directories(out_dir / "figures");
  md += "\n";
  auto figure = [&](const std::string& stem, const Chart& chart, const std::string& caption) {
    chart.write_png((out_dir / "figures" / (stem + ".png")).string());
    nn::write_file_atomic((out_dir / "figures" / (stem + ".svg")).string(), chart.svg());
    md += fmt::format("![{}](figures/{}.png)\n\n*{}*\n\n", caption, stem, caption);
  };
  auto sets = [&](const MeasureRow& r) {
    return NamedValues{{"real", field(R, r.f)}, {"generated", field(G, r.f)}};
  };
  HistogramOptions vol_opt;
  vol_opt.log10_x = true;
  vol_opt.bins = 16;
  figure("lesion_volume", histogram_chart(sets(kMeasureRows[0]), "Lesion volume, real vs generated", "volume (ml, log scale)",
                                          vol_opt),
         "Lesion volume: held-out real masks vs generated ones (fractions of each set)");
  HistogramOptions comp_opt;
  int max_comp = 1;
  for (const auto* set : {&R, &G})
    for (const auto& m : *set) max_comp = std::max(max_comp, m.stats.components);
  for (double e = 0.5; e <= std::min(max_comp, 15) + 1.5; e += 1) comp_opt.edges.push_back(e);
  figure("lesion_components", histogram_chart(sets(kMeasureRows[1]), "Connected components per mask", "components", comp_opt),
         "Connected components per mask (26-connected); more than 15 counted outside the bins");
  figure("lesion_surface_to_volume",
         histogram_chart(sets(kMeasureRows[2]), "Surface to volume", "surface / volume (1/mm)", HistogramOptions{}),
         "Surface-to-volume ratio: compact blobs are low, thin or speckled masks high");
}

// Montage: real masks above generated ones, each mask as its own image with its outline.
void write_lesion_montage(const LesionComparison& c, const fs::path& out_dir, std::string& md) {
  std::vector<data::Volume> images;
  std::vector<const data::LabelVolume*> masks;
  for (const auto* set : {&c.real_shown, &c.generated_shown})
    for (const auto& m : *set) {
      data::Volume v;
      static_cast<data::Grid&>(v) = m.grid();
      v.data.assign(m.data.begin(), m.data.end());
      images.push_back(std::move(v));
      masks.push_back(&m);
    }
  std::vector<data::MontageCase> cases;
  for (size_t i = 0; i < images.size(); ++i) cases.push_back({&images[i], nullptr, masks[i]});
  if (cases.empty()) return;
  data::write_montage_png((out_dir / "montage.png").string(), cases);
  md += fmt::format("![Real and generated masks](montage.png)\n\n*The first {} rows: held-out real masks; the next {}: "
                    "generated masks (axial slices, subject's left on the right)*\n\n",
                    c.real_shown.size(), c.generated_shown.size());
}

}  // namespace

std::string write_lesion_comparison(const LesionComparison& c, const fs::path& out_dir) {
  fs::create_directories(out_dir);
  const std::string cut = c.generated_cut > 0 ? fmt::format(" {} peaked too low and were cut below the threshold, "
                                                             "at their maximum - maskgan.peak_cut;", c.generated_cut)
                                                : "";
  std::string md = fmt::format("Real: {}.\n\nGenerated: {};{} {} came out empty after thresholding and speck removal "
                               "and are left out below.\n\n",
                               c.real_source, c.generated_source, cut, c.generated_empty);
  md += measures_table(c);
  write_lesion_csv(c, out_dir);
  write_lesion_histograms(c, out_dir, md);
  write_lesion_montage(c, out_dir, md);
  nn::write_file_atomic((out_dir / "lesion_comparison.md").string(), md);
  return md;
}

}  // namespace pn::experiments
