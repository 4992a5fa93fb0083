#include "data/pipeline.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "autograd/error.h"
#include "data/label_scheme.h"
#include "data/noise.h"
#include "data/resample.h"
#include "data/tensor_bridge.h"
#include "kernels/math/philox.h"

namespace pn::data {

namespace {

// The slice range [begin, end) of a volume that has `slices` after resampling.
void check_slices(const Sample& s, const PipelineOptions& opt) {
  PN_CHECK(opt.slice_end <= s.image.dims[2],
           "{}: after resampling to {:.2f} x {:.2f} x {:.2f} mm the volume has {} slices, but the slice range keeps "
           "slices {} to {} (data.slices): lower the range's end, or check the image's slice spacing ({})",
           s.id, s.image.spacing[0], s.image.spacing[1], s.image.spacing[2], s.image.dims[2], opt.slice_begin,
           opt.slice_end - 1, grid_string(s.image));
}

}  // namespace

std::pair<int64_t, int64_t> data_slices(const PipelineOptions& opt) {
  const int64_t depth = opt.size[2], kept = opt.slice_end - opt.slice_begin;
  if (kept <= 0 || kept >= depth) return {0, depth};
  const int64_t first = (depth - kept) / 2;  // centre_crop's offset, floor((kept - depth) / 2), negated
  return {first, first + kept};
}

Sample preprocess(const Case& c, const PipelineOptions& opt, uint64_t augment_seed) {
  PN_CHECK(!opt.labels_target || c.labels, "{}: the pipeline needs a label map and the case has none", c.id);
  Sample s{c.id, c.image, c.more_channels, opt.labels_target ? *c.labels : c.mask};
  auto each_image = [&](auto&& f) {
    f(s.image);
    for (Volume& v : s.more_channels) f(v);
  };
  if (opt.spacing) {
    each_image([&](Volume& v) { v = resample_to_spacing(v, *opt.spacing); });
    s.target = resample_to_spacing(s.target, *opt.spacing);
  }
  if (opt.slice_end > opt.slice_begin) {
    check_slices(s, opt);
    each_image([&](Volume& v) { v = slice_range(v, opt.slice_begin, opt.slice_end); });
    s.target = slice_range(s.target, opt.slice_begin, opt.slice_end);
  }
  each_image([&](Volume& v) { v = crop_or_pad(v, opt.size); });
  s.target = crop_or_pad(s.target, opt.size);
  each_image([&](Volume& v) { normalise(v, opt.normalisation, opt.clip_percentile); });
  if (opt.augment) {
    const AugmentDraw draw = draw_augmentation(opt.augmentation, s.image, augment_seed);
    apply_augmentation(draw, &s.image, &s.target, nullptr);
    for (Volume& v : s.more_channels) apply_augmentation(draw, &v, nullptr, nullptr);
  }
  return s;
}

Tensor sample_tensor(const Sample& s) {
  if (s.more_channels.empty()) return to_tensor(s.image);
  const int64_t n = s.image.numel(), c = 1 + static_cast<int64_t>(s.more_channels.size());
  Tensor t = Tensor::empty({c, s.image.dims[2], s.image.dims[1], s.image.dims[0]});
  float* p = t.data<float>();
  std::copy(s.image.data.begin(), s.image.data.end(), p);
  for (size_t k = 0; k < s.more_channels.size(); ++k) {
    PN_CHECK(s.more_channels[k].numel() == n, "{}: input channel {} has {} voxels, the first {}", s.id, k + 2,
             s.more_channels[k].numel(), n);
    std::copy(s.more_channels[k].data.begin(), s.more_channels[k].data.end(), p + static_cast<int64_t>(k + 1) * n);
  }
  return t;
}

BatchLoader::BatchLoader(const FolderDataset& dataset, PipelineOptions pipeline, Options options, CaseOrder order)
    : ds_(dataset), pipe_(std::move(pipeline)), opt_(options), order_(std::move(order)) {
  PN_CHECK(opt_.batch >= 1 && opt_.prefetch >= 1, "BatchLoader: batch and prefetch must be >= 1");
  PN_CHECK(ds_.size() > 0, "BatchLoader: the dataset is empty");
  const auto [first, last] = data_slices(pipe_);
  first_slice_ = first;
  slices_ = last - first;
}

BatchLoader::~BatchLoader() { stop(); }

int64_t BatchLoader::batches_per_epoch() const {
  const int64_t cases = order_ ? static_cast<int64_t>(order_(1).size()) : static_cast<int64_t>(ds_.size());
  const int64_t items = cases * (opt_.slices_2d ? slices_ : 1);
  return opt_.drop_last ? items / opt_.batch : (items + opt_.batch - 1) / opt_.batch;
}

void BatchLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mu_);
  queue_.clear();
  stop_ = false;
  done_ = true;
  error_ = nullptr;
}

void BatchLoader::start_epoch(int epoch, int64_t first_batch) {
  PN_CHECK(first_batch >= 0, "BatchLoader: negative first batch {}", first_batch);
  stop();
  done_ = false;
  worker_ = std::thread([this, epoch, first_batch] { produce(epoch, first_batch); });
}

std::optional<Batch> BatchLoader::next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || done_ || error_; });
  // Batches made before a failure are delivered first, in order; then the error.
  if (queue_.empty()) {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return std::nullopt;
  }
  Batch b = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  return b;
}

Batch BatchLoader::make_batch(const std::vector<std::pair<size_t, int64_t>>& items, int epoch) {
  const int classes = pipe_.labels_target ? cls::kNumClasses : 2;
  std::vector<Tensor> imgs, tgts;
  Batch b;
  std::optional<Sample> cached;  // consecutive 2-D items of one case share its volume
  size_t cached_case = SIZE_MAX;
  for (const auto& [ci, slice] : items) {
    if (cached_case != ci) {
      const uint64_t aug_seed = mix64(opt_.seed ^ mix64(static_cast<uint64_t>(epoch) * 0x9e37ull + ci));
      cached = preprocess(ds_.load(ci), pipe_, aug_seed);
      cached_case = ci;
    }
    if (!opt_.slices_2d) {
      imgs.push_back(sample_tensor(*cached));
      tgts.push_back(one_hot(cached->target, classes));
      b.ids.push_back(cached->id);
    } else {
      Sample one{cached->id, slice_range(cached->image, slice, slice + 1), {}, {}};
      for (const Volume& v : cached->more_channels) one.more_channels.push_back(slice_range(v, slice, slice + 1));
      const LabelVolume tg = slice_range(cached->target, slice, slice + 1);
      const int64_t channels = 1 + static_cast<int64_t>(one.more_channels.size());
      imgs.push_back(sample_tensor(one).reshape({channels, tg.dims[1], tg.dims[0]}));
      tgts.push_back(one_hot(tg, classes).reshape({classes, tg.dims[1], tg.dims[0]}));
      b.ids.push_back(fmt::format("{}:{}", cached->id, slice));
    }
  }
  b.image = stack(imgs);
  b.target = stack(tgts);
  return b;
}

void BatchLoader::produce(int epoch, int64_t first_batch) {
  try {
    // Items in a seeded order: cases shuffled; in 2-D mode each case's slices follow it
    // in a shuffled order (so that a case is loaded once per epoch).
    std::vector<size_t> cases(ds_.size());
    std::iota(cases.begin(), cases.end(), size_t{0});
    const uint64_t order_seed = mix64(opt_.seed * 31 + static_cast<uint64_t>(epoch));
    uint64_t n = 0;
    auto shuffle = [&](auto& v) {
      for (size_t i = v.size(); i > 1; --i) {
        const auto j = static_cast<size_t>(math::philox_uniform(order_seed, n++) * static_cast<double>(i)) % i;
        std::swap(v[i - 1], v[j]);
      }
    };
    if (order_) {
      cases = order_(epoch);
      for (size_t c : cases) PN_CHECK(c < ds_.size(), "batch loader: case {} of an epoch order, the dataset has {}", c, ds_.size());
    } else if (opt_.shuffle) {
      shuffle(cases);
    }
    std::vector<std::pair<size_t, int64_t>> items;
    for (size_t c : cases) {
      if (!opt_.slices_2d) { items.emplace_back(c, 0); continue; }
      std::vector<int64_t> sl(static_cast<size_t>(slices_));
      std::iota(sl.begin(), sl.end(), first_slice_);
      if (opt_.shuffle) shuffle(sl);
      for (int64_t s : sl) items.emplace_back(c, s);
    }
    for (size_t start = static_cast<size_t>(first_batch) * opt_.batch; start < items.size(); start += opt_.batch) {
      const size_t end = std::min(items.size(), start + opt_.batch);
      if (opt_.drop_last && end - start < static_cast<size_t>(opt_.batch)) break;
      Batch b = make_batch({items.begin() + static_cast<std::ptrdiff_t>(start), items.begin() + static_cast<std::ptrdiff_t>(end)}, epoch);
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || queue_.size() < static_cast<size_t>(opt_.prefetch); });
      if (stop_) return;
      queue_.push_back(std::move(b));
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  cv_.notify_all();
}

}  // namespace pn::data
