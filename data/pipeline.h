// The preprocessing pipeline from a loaded case to a training sample on the study's grid,
// and the batch loader that hands samples to the engine as tensors.
// Pipeline order: resample to a spacing (optional; linear / nearest), slice range
// (optional), crop or pad to the size, intensity normalisation (each input channel on its
// own), augmentation (optional, seeded per sample; one geometry for every channel and the
// target). Targets are the lesion mask (2 classes) or the 29-class label map. A batch's
// image has one tensor channel per input channel.
#pragma once
#include <condition_variable>
#include <functional>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "autograd/tensor.h"
#include "data/augment.h"
#include "data/folder_dataset.h"
#include "data/intensity.h"

namespace pn::data {

struct PipelineOptions {
  Dims3 size{128, 128, 32};
  std::optional<Vec3> spacing;          // resample first when set
  int64_t slice_begin = 0, slice_end = 0;  // keep [begin, end) when end > begin
  Normalisation normalisation = Normalisation::Paper;
  double clip_percentile = 99.5;        // the paper's upper clip (Normalisation::Paper)
  bool labels_target = false;           // false: mask (2 classes); true: label map (29)
  bool augment = false;
  AugmentOptions augmentation;
};

// The slices [first, second) of the preprocessed grid (size[2] slices) that hold data: with
// a slice range narrower than the grid, crop_or_pad centres the kept slices and pads around
// them, and the padding is no training data for a 2-D model; otherwise every slice.
std::pair<int64_t, int64_t> data_slices(const PipelineOptions& opt);

struct Sample {
  std::string id;
  Volume image;                       // the first input channel
  std::vector<Volume> more_channels;  // the others, on the same grid
  LabelVolume target;
};

// The sample's input channels as one tensor [C, D, H, W].
Tensor sample_tensor(const Sample& s);

Sample preprocess(const Case& c, const PipelineOptions& opt, uint64_t augment_seed);

struct Batch {
  Tensor image;   // [N, C, D, H, W] (3-D) or [N, C, H, W] (2-D slices)
  Tensor target;  // one-hot [N, C, D, H, W] or [N, C, H, W]
  std::vector<std::string> ids;  // "case" or "case:slice"
};

// Iterates epochs over a dataset in a seeded order; a background thread loads and
// preprocesses the next batches (up to `prefetch`) while the caller trains. The order and
// the augmentation depend only on (seed, epoch), not on timing.
class BatchLoader {
 public:
  struct Options {
    int batch = 1;
    bool slices_2d = false;
    bool shuffle = true;
    bool drop_last = false;
    int prefetch = 2;
    uint64_t seed = 1;
  };
  // The cases of epoch e, in order (repeats allowed, the same count every epoch).
  using CaseOrder = std::function<std::vector<size_t>(int epoch)>;
  // `order`, when given, replaces the shuffled pass over the dataset (mixing sets at a
  // fixed ratio and fixed step budgets use it).
  BatchLoader(const FolderDataset& dataset, PipelineOptions pipeline, Options options, CaseOrder order = {});
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Starts epoch `epoch` at its batch `first_batch` (stopping any epoch in flight); the
  // batches before it are skipped without loading (resuming in the middle of an epoch).
  void start_epoch(int epoch, int64_t first_batch = 0);
  // The next batch of the epoch, or nothing at its end. Rethrows a loading error.
  std::optional<Batch> next();
  int64_t batches_per_epoch() const;
  // 2-D mode: the slices of each volume an epoch visits (data_slices: padding left out).
  int64_t slices_per_volume() const { return slices_; }

 private:
  void produce(int epoch, int64_t first_batch);
  void stop();
  Batch make_batch(const std::vector<std::pair<size_t, int64_t>>& items, int epoch);

  const FolderDataset& ds_;
  PipelineOptions pipe_;
  Options opt_;
  CaseOrder order_;
  int64_t first_slice_ = 0, slices_ = 0;  // 2-D mode: the data slices of each volume (data_slices)
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool done_ = true, stop_ = false;
  std::exception_ptr error_;
};

}  // namespace pn::data
