// The report's figures as charts (chart.h, written as PNG or SVG): training curves (a
// metric per epoch, one line per experiment, from metrics.csv), box plots of per-volume
// scores (one box per experiment, from heldout_metrics.csv) and histograms comparing
// value sets (e.g. lesion statistics of real vs generated masks) over shared bins.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "experiments/report/chart.h"
#include "experiments/run/csv_table.h"
#include "data/histogram.h"

namespace pn::experiments {

using data::Histogram;
using data::histogram;
using data::nice_bin_edges;

struct Series {
  std::string name;
  std::vector<double> x, y;
};

// Tukey box: quartiles (numpy's linear percentiles), whiskers at the furthest values
// within 1.5 IQR of the box, the values beyond them, and the mean. NaN and infinities
// are left out (counted in `skipped`).
struct BoxStats {
  double q1 = 0, median = 0, q3 = 0, whisker_lo = 0, whisker_hi = 0, mean = 0;
  std::vector<double> outliers;
  size_t n = 0, skipped = 0;
};
BoxStats box_stats(const std::vector<double>& values);

using NamedValues = std::vector<std::pair<std::string, std::vector<double>>>;

// Lines; the y range is widened to nice ticks around the data (or around [y_lo, y_hi]
// when y_lo < y_hi is given).
Chart line_chart(const std::vector<Series>& series, const std::string& title, const std::string& xlabel,
                 const std::string& ylabel, double y_lo = 0, double y_hi = 0);
Chart box_plot(const NamedValues& groups, const std::string& title, const std::string& ylabel, double y_lo = 0,
               double y_hi = 0);

struct HistogramOptions {
  std::vector<double> edges;  // bin edges in value units; empty: nice edges over all finite values
  int bins = 20;              // about this many bins when the edges are chosen
  bool log10_x = false;       // bin and draw log10(value) (volumes); values <= 0 count as below the bins
  bool fractions = true;      // y = count / Histogram::total() of the set, else raw counts
  bool outlines = false;      // step outlines instead of translucent bars
  double alpha = 0.45;        // bar opacity, so overlapping sets stay visible
};
// The histograms of each set over the same bins, as histogram_chart draws them
// (edges in log10 units when log10_x).
std::vector<Histogram> histograms_of(const NamedValues& sets, const HistogramOptions& o);
// One colour per set, in order; the legend gives each set's size and how many of its
// values fell outside the bins or were NaN.
Chart histogram_chart(const NamedValues& sets, const std::string& title, const std::string& xlabel,
                      const HistogramOptions& o = {});

// `column` against "epoch" for each (name, metrics.csv table).
Chart training_curves(const std::vector<std::pair<std::string, CsvTable>>& runs, const std::string& column);
// `column` (e.g. hard_dice, scaled to percent when it is a Dice) over the lesion-positive
// volumes of each (name, heldout_metrics.csv table).
Chart volume_box_plot(const std::vector<std::pair<std::string, CsvTable>>& runs, const std::string& column);

}  // namespace pn::experiments
