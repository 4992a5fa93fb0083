// The training loop the trainers share (segment, maskgan, translate, and whatever trains
// next), so that they synchronise ranks, resume, draw noise and check their inputs the
// same way. A trainer builds its models, optimisers and data, registers its state, and
// hands the loop one function per step; the loop owns the rest:
//  - the run folder on rank 0 (TrainingRun: config, log.txt, metrics.csv, checkpoints, DONE),
//    known to every rank, and fatal errors written to its log (guard);
//  - the training precision (run.precision): trainers run their forward passes and losses
//    in autocast() and step each optimiser through a GradScaler made from
//    scaler_options() (fp16 loss scaling; a pass-through otherwise), tracked for checkpoints;
//  - where a rank trains: the device run.device gives it (experiments/run/compute_device.h; the
//    log's first lines name every rank's), the host communicator (counts, losses, flags,
//    fingerprints), the collectives for tensors of that device (NCCL on GPUs with several
//    ranks) and the one function batches built on the host go through (to_device);
//  - the plan of the run (steps per epoch from the data, the per-rank batch and the
//    ranks) and its guards: no data, a global batch larger than the data, an epoch of no
//    step;
//  - state: modules, optimisers (moments, step counts, learning rates) and every random
//    generator, checkpointed together with the position in the run and the partial sums of
//    an unfinished epoch; after a resume rank 0 alone reads the newest readable checkpoint
//    and every rank receives its state; a resume with another rank count, batch or data
//    size is refused;
//  - per-rank noise streams: during a step each noise generator draws this rank's samples of
//    the global batch (Generator::set_batch_slice), so N ranks x batch b draw what 1 process
//    x batch N*b draws;
//  - the epochs: steps (their values averaged over ranks), one progress line with the ETA
//    of the whole run, the epoch's metrics row and checkpoint;
//  - SIGINT/SIGTERM (stop_signals.h): every rank stops after the same step, rank 0 writes a
//    checkpoint there and prints how to resume, and Interrupted is thrown on every rank.
//
//   TrainingLoop loop(cfg, {"segment train", "segment", {"train_loss"}, {"test_dice"}, epochs,
//                           batch, "segment.batch"}, run_opt);
//   return loop.guard([&] {
//     ... models, optimisers, data ...
//     loop.track({{{"unet", &net}}, {{"adam", &opt}}, {}});
//     loop.plan(n_volumes, steps_key_value, "training volumes");
//     loop.resume();
//     loop.run({.start_epoch = ..., .step = ..., .evaluate = ...});
//     loop.finish("summary");
//   });
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autograd/autocast.h"
#include "experiments/run/progress.h"
#include "experiments/run/stop_signals.h"
#include "experiments/run/training_run.h"
#include "nn/checkpoint.h"
#include "nn/communicator.h"
#include "nn/grad_scaler.h"

namespace pn::experiments {

struct LoopSpec {
  std::string command;                     // "segment train": names the run in messages
  std::string default_name;                // run folder name when neither run.name nor --out is given
  std::vector<std::string> step_metrics;   // per step, averaged over ranks and the epoch's steps
  std::vector<std::string> epoch_metrics;  // from TrainerHooks::evaluate (rank 0), after those
  int64_t epochs = 1;
  int64_t batch = 1;                       // per rank
  std::string batch_key;                   // the config key of `batch`, for messages
};

struct StepContext {
  int64_t epoch = 1;        // 1-based
  int64_t step = 0;         // within the epoch, 0-based
  int64_t global_step = 0;  // steps of the run before this one
};

struct TrainerHooks {
  // Positions the data at step `first_step` of `epoch` (> 0 after a stop mid-epoch).
  std::function<void(int64_t epoch, int64_t first_step)> start_epoch;
  // One optimisation step on this rank's share of the global batch; returns this rank's
  // values of the step metrics.
  std::function<std::vector<double>(const StepContext&)> step;
  // Rank 0, after an epoch's steps: the epoch metrics (test Dice...). Optional.
  std::function<std::vector<double>(int64_t epoch)> evaluate;
};

class TrainingLoop {
 public:
  TrainingLoop(const Config& cfg, LoopSpec spec, const RunDirOptions& opt);
  ~TrainingLoop();
  TrainingLoop(const TrainingLoop&) = delete;
  TrainingLoop& operator=(const TrainingLoop&) = delete;

  // --- where this rank trains
  bool root() const { return host_->is_root(); }
  int rank() const { return host_->rank(); }
  int ranks() const { return host_->size(); }
  nn::Communicator& host() const { return *host_; }
  const nn::Collectives& tensors() const { return tensors_; }
  Device device() const { return device_; }
  // run.precision (with run.tf32: compute_device.h); autocast() scopes a forward pass in it.
  Precision precision() const { return precision_; }
  AutocastScope autocast() const { return AutocastScope(precision_); }
  // A loss scaler for it: enabled for fp16 (nn/grad_scaler.h).
  nn::GradScalerOptions scaler_options() const { return {.enabled = precision_ == Precision::FP16}; }
  // Moves a module to the training device (before its optimiser is built).
  void place(nn::Module& module) const;
  // A tensor built on the host (a batch), on the training device.
  Tensor to_device(const Tensor& host_tensor) const;
  const std::filesystem::path& run_dir() const { return run_dir_; }
  // The run had finished before this start (DONE): nothing to train.
  bool done() const { return done_; }
  TrainingRun& training_run() { return *run_; }  // rank 0 only: the run folder

  // --- the plan and the state
  // Steps per epoch: `fixed_steps` when > 0, else one pass (samples / global batch). Errors
  // when there are no samples, when the global batch exceeds them, or an epoch has no step.
  int64_t plan(int64_t samples, int64_t fixed_steps, const std::string& samples_what);
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // Checkpointed and synchronised from rank 0; may be called more than once.
  void track(const nn::CheckpointParts& parts);
  // A generator whose draws in a step are per sample (latents, dropout, instance noise).
  void add_noise(Generator& gen) { noise_.push_back(&gen); }

  // --- running
  // Rank 0 loads the newest readable checkpoint (when resuming) and every rank receives its
  // state and position; prints the plan. Call after plan() and track().
  void resume();
  int64_t completed_epochs() const { return epochs_done_; }
  // Trains the remaining steps; throws Interrupted after a stop signal (state saved).
  void run(const TrainerHooks& hooks);
  // Throws Interrupted when a stop signal arrived (for long work after the epochs: rank 0's
  // held-out evaluation); nothing is saved, the run redoes that work when resumed.
  void check_stop(const std::string& during);
  // Rank 0: the newest metrics row without its epoch (empty when none); others: empty.
  std::vector<double> last_metrics() const;
  // Rank 0 marks the run finished (DONE) unless it already was; then, if a stop signal
  // arrived meanwhile, throws Interrupted (the run is complete, nothing after it starts).
  void finish(const std::string& summary);

  // Runs body; a fatal error it throws is first written to the run's log.txt (by the rank
  // that raised it), then rethrown.
  template <class F>
  decltype(auto) guard(F&& body) {
    try {
      return body();
    } catch (const Interrupted&) {
      throw;
    } catch (const std::exception& e) {
      log_fatal(e.what());
      throw;
    }
  }

 private:
  void log_fatal(const std::string& message);
  void check_resumed(const nn::CheckpointState& st) const;
  void sync_position();
  void run_epoch(const TrainerHooks& hooks, int64_t epoch, int64_t first_step, cli::Progress& prog);
  // The step's metrics (averaged over the ranks); *left_out is set when a loss scaler skipped
  // the step and a value is inf / NaN (fp16: an overflow, not a divergence).
  std::vector<double> step_values(const TrainerHooks& hooks, const StepContext& ctx, int* stop_signal, bool* left_out);
  int64_t scaler_skips() const;  // steps skipped so far, over every tracked loss scaler
  void end_epoch(const TrainerHooks& hooks, int64_t epoch, const cli::Progress& prog);
  nn::CheckpointState state_now() const;
  [[noreturn]] void stop(int signal);
  [[noreturn]] void interrupt(int signal, const std::string& message);
  int agreed_signal();  // the largest pending signal number over the ranks

  LoopSpec spec_;
  RunDirOptions opt_;
  std::shared_ptr<nn::Communicator> host_;
  nn::Collectives tensors_;
  Device device_;
  Precision precision_ = Precision::FP32;
  StopSignals signals_;
  std::optional<FaultPlan> fault_;
  std::unique_ptr<TrainingRun> run_;
  std::filesystem::path run_dir_;
  bool done_ = false;
  nn::CheckpointParts parts_;
  std::vector<Generator*> noise_;
  int64_t samples_ = 0, steps_per_epoch_ = 0;
  std::string samples_what_;
  // The position: epochs done, steps of the next epoch done, steps of the run done, and
  // the step metrics summed over those steps of the unfinished epoch but the ones left out
  // of its means (epoch_left_out_: skipped fp16 steps with non-finite values).
  int64_t epochs_done_ = 0, epoch_steps_ = 0, global_step_ = 0, epoch_left_out_ = 0;
  std::vector<double> epoch_sums_;
};

}  // namespace pn::experiments
