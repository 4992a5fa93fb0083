#include "experiments/train/training_loop.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "autograd/error.h"
#include "experiments/run/compute_device.h"
#include "experiments/run/run_threads.h"
#include "nn/data_parallel.h"

namespace pn::experiments {

namespace {

// Rank 0's string on every rank.
std::string broadcast_string(nn::Communicator& comm, std::string s) {
  int64_t n = static_cast<int64_t>(s.size());
  comm.broadcast(&n, sizeof n, 0);
  s.resize(static_cast<size_t>(n));
  if (n > 0) comm.broadcast(s.data(), n, 0);
  return s;
}

// Doubles as exact hexadecimal floats ("0x1.8p-2 0x1p+0"), and back.
std::string hex_doubles(const std::vector<double>& v) {
  std::string s;
  for (double x : v) {
    if (!s.empty()) s += ' ';
    s += fmt::format("{:a}", x);
  }
  return s;
}

std::vector<double> parse_doubles(const std::string& s, size_t n, const std::string& what) {
  std::vector<double> out;
  const char* p = s.c_str();
  char* end = nullptr;
  for (double x = std::strtod(p, &end); end != p; x = std::strtod(p, &end)) out.push_back(x), p = end;
  PN_CHECK(out.size() == n, "{}: {} numbers where {} were expected ('{}')", what, out.size(), n, s);
  return out;
}

int64_t meta_int(const nn::CheckpointState& st, const std::string& key) {
  auto it = st.extra.find(key);
  PN_CHECK(it != st.extra.end(), "the checkpoint has no '{}' (written by an older Penumbra): start over with --restart",
           key);
  return std::stoll(it->second);
}

std::string named_values(const std::vector<std::string>& names, const std::vector<double>& values) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    s += fmt::format("{}{} {:.4f}", s.empty() ? "" : ", ", names[i], values[i]);
  return s;
}

}  // namespace

TrainingLoop::TrainingLoop(const Config& cfg, LoopSpec spec, const RunDirOptions& opt)
    : spec_(std::move(spec)), opt_(opt), host_(nn::world_communicator()), tensors_(host_),
      device_(Device::cpu()), fault_(fault_plan_from_env()) {
  PN_CHECK(spec_.epochs >= 1 && spec_.batch >= 1, "{}: epochs ({}) and batch ({}) must be >= 1", spec_.command,
           spec_.epochs, spec_.batch);
  const int threads = apply_thread_setting(cfg);
  nn::check_same_on_all_ranks(*host_, "the resolved configuration",
                              spec_.command + "\n" + spec_.default_name + "\n" + cfg.to_toml());
  // run.device: this rank's device (made current before anything is allocated); tensors
  // then go through NCCL on GPUs with several ranks, through the host communicator otherwise.
  const ComputeDevice where = select_device(cfg, *host_);
  device_ = where.device;
  precision_ = where.precision;
  if (device_.is_cuda() && ranks() > 1) tensors_.device = nn::device_communicator(host_, device_);
  if (root()) {
    std::vector<std::string> columns = spec_.step_metrics;
    columns.insert(columns.end(), spec_.epoch_metrics.begin(), spec_.epoch_metrics.end());
    run_ = std::make_unique<TrainingRun>(cfg, spec_.default_name, opt_, columns);
    done_ = run_->done();
  }
  if (root())
    std::printf("%s: computing on %s; %d CPU thread%s per rank (run.threads)\n", spec_.command.c_str(),
                where.summary.c_str(), threads, threads == 1 ? "" : "s");
  run_dir_ = broadcast_string(*host_, root() ? run_->dir().path().string() : "");
  int64_t done = done_;
  host_->broadcast(&done, sizeof done, 0);
  done_ = done != 0;
  epoch_sums_.assign(spec_.step_metrics.size(), 0.0);
}

TrainingLoop::~TrainingLoop() = default;

void TrainingLoop::place(nn::Module& module) const {
  if (!device_.is_cpu()) module.to(device_);
}

Tensor TrainingLoop::to_device(const Tensor& host_tensor) const {
  return host_tensor.device() == device_ ? host_tensor : host_tensor.to(device_);
}

int64_t TrainingLoop::plan(int64_t samples, int64_t fixed_steps, const std::string& samples_what) {
  const int64_t global = spec_.batch * ranks();
  PN_CHECK(samples > 0, "{}: no training {}", spec_.command, samples_what);
  PN_CHECK(global <= samples, "{}: the global batch, {} rank(s) x {} {} = {}, is larger than the {} training {}: {}. "
           "Use fewer ranks or a smaller {}", spec_.command, ranks(), spec_.batch_key, spec_.batch, global, samples,
           samples_what, fixed_steps > 0 ? "every step would repeat samples" : "an epoch (one pass) would have no step",
           spec_.batch_key);
  const int64_t steps = fixed_steps > 0 ? fixed_steps : samples / global;
  PN_CHECK(steps >= 1, "{}: an epoch has no step ({} training {}, global batch {}, fixed steps {})", spec_.command,
           samples, samples_what, global, fixed_steps);
  samples_ = samples;
  samples_what_ = samples_what;
  steps_per_epoch_ = steps;
  return steps;
}

void TrainingLoop::track(const nn::CheckpointParts& parts) {
  parts_.modules.insert(parts_.modules.end(), parts.modules.begin(), parts.modules.end());
  parts_.optimizers.insert(parts_.optimizers.end(), parts.optimizers.begin(), parts.optimizers.end());
  parts_.generators.insert(parts_.generators.end(), parts.generators.begin(), parts.generators.end());
  parts_.scalers.insert(parts_.scalers.end(), parts.scalers.begin(), parts.scalers.end());
}

void TrainingLoop::check_resumed(const nn::CheckpointState& st) const {
  const int64_t ranks_then = meta_int(st, "loop.ranks"), batch_then = meta_int(st, "loop.batch");
  PN_CHECK(ranks_then == ranks() && batch_then == spec_.batch,
           "{}: {} was trained on {} rank(s) x batch {} (global batch {}), and is now started on {} rank(s) x batch {} "
           "(global batch {}): resuming would change the trajectory. Resume it on {} rank(s){}, or pass --restart to "
           "start over", spec_.command, run_dir_.string(), ranks_then, batch_then, ranks_then * batch_then, ranks(),
           spec_.batch, ranks() * spec_.batch, ranks_then, ranks_then > 1 ? fmt::format(" (mpirun -np {})", ranks_then) : "");
  const int64_t steps_then = meta_int(st, "loop.steps_per_epoch");
  PN_CHECK(steps_then == steps_per_epoch_, "{}: {} was trained with {} steps per epoch, the data now give {} ({} "
           "training {}): the training data changed. Restore them, or pass --restart to start over", spec_.command,
           run_dir_.string(), steps_then, steps_per_epoch_, samples_, samples_what_);
  PN_CHECK(st.step == st.epoch * steps_per_epoch_ + meta_int(st, "loop.epoch_steps"),
           "{}: the checkpoint's step {} does not match its epoch {} and epoch step {}", spec_.command, st.step, st.epoch,
           meta_int(st, "loop.epoch_steps"));
}

void TrainingLoop::resume() {
  PN_CHECK(steps_per_epoch_ > 0, "{}: plan() must come before resume()", spec_.command);
  if (root() && !done_) {
    if (auto r = run_->resume(parts_)) {
      check_resumed(r->state);
      epochs_done_ = r->state.epoch;
      global_step_ = r->state.step;
      epoch_steps_ = meta_int(r->state, "loop.epoch_steps");
      epoch_sums_ = parse_doubles(r->state.extra.at("loop.epoch_sums"), spec_.step_metrics.size(),
                                  r->path.string() + ": metadata loop.epoch_sums");
      // Absent from checkpoints written before steps could be left out: none were.
      epoch_left_out_ = r->state.extra.count("loop.epoch_left_out") ? meta_int(r->state, "loop.epoch_left_out") : 0;
    }
  }
  if (done_) epochs_done_ = spec_.epochs;
  sync_position();
  nn::broadcast_training_state(tensors_, parts_);
  if (root() && !done_)
    std::printf("%s: %lld epochs of %lld steps, %d rank(s) x batch %lld (global batch %lld), on %s%s\n",
                spec_.command.c_str(), (long long)spec_.epochs, (long long)steps_per_epoch_, ranks(),
                (long long)spec_.batch, (long long)(spec_.batch * ranks()), device_.str().c_str(),
                epoch_steps_ ? fmt::format("; continuing epoch {} at step {}", epochs_done_ + 1, epoch_steps_ + 1).c_str()
                             : "");
}

void TrainingLoop::sync_position() {
  int64_t pos[4] = {epochs_done_, epoch_steps_, global_step_, epoch_left_out_};
  host_->broadcast(pos, sizeof pos, 0);
  epochs_done_ = pos[0], epoch_steps_ = pos[1], global_step_ = pos[2], epoch_left_out_ = pos[3];
  if (!epoch_sums_.empty())
    host_->broadcast(epoch_sums_.data(), static_cast<int64_t>(epoch_sums_.size() * sizeof(double)), 0);
}

void TrainingLoop::run(const TrainerHooks& hooks) {
  if (done_ || epochs_done_ >= spec_.epochs) return;
  PN_CHECK(hooks.step != nullptr, "{}: no step function", spec_.command);
  cli::Progress prog(spec_.command, spec_.epochs * steps_per_epoch_, "step", global_step_);
  for (int64_t e = epochs_done_ + 1; e <= spec_.epochs; ++e) run_epoch(hooks, e, epoch_steps_, prog);
  if (root()) prog.finish();
}

void TrainingLoop::run_epoch(const TrainerHooks& hooks, int64_t epoch, int64_t first_step, cli::Progress& prog) {
  if (hooks.start_epoch) hooks.start_epoch(epoch, first_step);
  int stop_signal = 0;
  for (int64_t s = first_step; s < steps_per_epoch_; ++s) {
    bool left_out = false;
    const std::vector<double> v = step_values(hooks, {epoch, s, global_step_}, &stop_signal, &left_out);
    if (left_out) ++epoch_left_out_;
    else
      for (size_t i = 0; i < v.size(); ++i) epoch_sums_[i] += v[i];
    ++global_step_;
    epoch_steps_ = s + 1;
    if (root()) {
      std::vector<double> means = epoch_sums_;
      for (double& m : means) m /= static_cast<double>(std::max<int64_t>(1, epoch_steps_ - epoch_left_out_));
      prog.advance(1, fmt::format("epoch {}/{} | {}", epoch, spec_.epochs, named_values(spec_.step_metrics, means)));
    }
    if (stop_signal && epoch_steps_ < steps_per_epoch_) stop(stop_signal);
  }
  end_epoch(hooks, epoch, prog);
  if (!stop_signal) {  // a stop asked for during rank 0's evaluation: stop before the next epoch
    double asked = StopSignals::pending() ? 1.0 : 0.0;
    host_->allreduce_sum(&asked, 1);
    if (asked > 0) stop_signal = agreed_signal();
  }
  if (stop_signal) stop(stop_signal);
}

int TrainingLoop::agreed_signal() {
  double sig = StopSignals::pending();
  host_->allreduce_max(&sig, 1);
  return static_cast<int>(sig);
}

int64_t TrainingLoop::scaler_skips() const {
  int64_t n = 0;
  for (const auto& [name, sc] : parts_.scalers) n += sc->skipped();
  return n;
}

std::vector<double> TrainingLoop::step_values(const TrainerHooks& hooks, const StepContext& ctx, int* stop_signal,
                                              bool* left_out) {
  const int64_t b = spec_.batch, skips_before = scaler_skips();
  for (Generator* g : noise_) g->set_batch_slice(rank() * b, b, ranks() * b);
  std::vector<double> v;
  try {
    v = hooks.step(ctx);
  } catch (...) {
    for (Generator* g : noise_) g->clear_batch_slice();
    throw;
  }
  for (Generator* g : noise_) g->clear_batch_slice();
  PN_CHECK(v.size() == spec_.step_metrics.size(), "{}: a step returned {} values for {} step metrics", spec_.command,
           v.size(), spec_.step_metrics.size());
  const int64_t done_steps = ctx.global_step + 1;
  if (opt_.after_step) opt_.after_step(done_steps);
  if (fault_) apply_fault(*fault_, done_steps, rank());
  // One host collective per step: the step's values and whether any rank was asked to stop.
  v.push_back(StopSignals::pending() ? 1.0 : 0.0);
  host_->allreduce_sum(v.data(), static_cast<int64_t>(v.size()));
  const bool stop_asked = v.back() > 0;
  v.pop_back();
  for (double& x : v) x /= ranks();
  if (stop_asked) *stop_signal = agreed_signal();
  // Every rank's scaler saw the same averaged gradients, so all agree on a skip.
  const bool skipped = scaler_skips() > skips_before;
  *left_out = skipped && !std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  for (size_t i = 0; i < v.size() && !*left_out; ++i)
    PN_CHECK(std::isfinite(v[i]), "{}: the {} is {} at epoch {}, step {} (the training diverged; lower the learning "
             "rate)", spec_.command, spec_.step_metrics[i], v[i], ctx.epoch, ctx.step + 1);
  return v;
}

void TrainingLoop::end_epoch(const TrainerHooks& hooks, int64_t epoch, const cli::Progress& prog) {
  // Means over the steps not left out (NaN if every step of the epoch was).
  std::vector<double> row = epoch_sums_;
  const int64_t counted = steps_per_epoch_ - epoch_left_out_;
  for (double& m : row) m = counted > 0 ? m / static_cast<double>(counted) : std::nan("");
  const int64_t left_out = epoch_left_out_;
  epochs_done_ = epoch;
  epoch_steps_ = 0;
  epoch_left_out_ = 0;
  std::fill(epoch_sums_.begin(), epoch_sums_.end(), 0.0);
  if (!root()) return;
  if (hooks.evaluate) {
    const std::vector<double> more = hooks.evaluate(epoch);
    PN_CHECK(more.size() == spec_.epoch_metrics.size(), "{}: evaluate returned {} values for {} epoch metrics",
             spec_.command, more.size(), spec_.epoch_metrics.size());
    row.insert(row.end(), more.begin(), more.end());
  }
  std::vector<std::string> names = spec_.step_metrics;
  names.insert(names.end(), spec_.epoch_metrics.begin(), spec_.epoch_metrics.end());
  std::string scaling;  // fp16 loss scalers: the scale now and the steps skipped so far
  for (const auto& [name, sc] : parts_.scalers)
    if (sc->enabled())
      scaling += fmt::format(" | {} loss scale {:g}, {} step(s) skipped", name, sc->scale(), sc->skipped());
  if (left_out) scaling += fmt::format(" | {} skipped step(s) with inf/NaN values left out of these means", left_out);
  std::printf("epoch %lld/%lld: %s%s | run %d%%, %s elapsed, ETA %s\n", (long long)epoch, (long long)spec_.epochs,
              named_values(names, row).c_str(), scaling.c_str(),
              static_cast<int>(100 * global_step_ / std::max<int64_t>(1, spec_.epochs * steps_per_epoch_)),
              cli::format_duration(prog.elapsed_seconds()).c_str(), cli::format_duration(prog.eta_seconds()).c_str());
  run_->end_epoch(epoch, spec_.epochs, row, parts_, state_now());
}

nn::CheckpointState TrainingLoop::state_now() const {
  nn::CheckpointState st;
  st.step = global_step_;
  st.epoch = epochs_done_;
  st.extra["loop.ranks"] = std::to_string(ranks());
  st.extra["loop.batch"] = std::to_string(spec_.batch);
  st.extra["loop.steps_per_epoch"] = std::to_string(steps_per_epoch_);
  st.extra["loop.epoch_steps"] = std::to_string(epoch_steps_);
  st.extra["loop.epoch_sums"] = hex_doubles(epoch_sums_);
  st.extra["loop.epoch_left_out"] = std::to_string(epoch_left_out_);
  return st;
}

void TrainingLoop::stop(int signal) {
  std::string msg;
  if (root()) {
    const auto path = run_->save(parts_, state_now(), RunPosition{epochs_done_, epoch_steps_});
    const std::string where = epoch_steps_ == 0 ? fmt::format("after epoch {}", epochs_done_)
                                                : fmt::format("after step {} of {} of epoch {}", epoch_steps_,
                                                              steps_per_epoch_, epochs_done_ + 1);
    msg = fmt::format("{}: stopped by {} {} (step {} of {} of the run); state saved to {}\nto resume, run the same "
                      "command again:\n  {}", spec_.command, signal_name(signal), where, global_step_,
                      spec_.epochs * steps_per_epoch_, path.string(), resume_command(ranks()));
    std::printf("%s\n", msg.c_str());
    run_->close_log();
  }
  host_->barrier();  // rank 0's checkpoint and log are complete before any rank exits
  throw Interrupted(signal, msg);
}

void TrainingLoop::check_stop(const std::string& during) {
  if (const int signal = StopSignals::pending())
    interrupt(signal, fmt::format("{}: stopped by {} during {}; that work is redone on resume. To resume, run the same "
                                  "command again:\n  {}", spec_.command, signal_name(signal), during,
                                  resume_command(ranks())));
}

void TrainingLoop::interrupt(int signal, const std::string& message) {
  if (root()) {
    std::printf("%s\n", message.c_str());
    run_->close_log();
  }
  throw Interrupted(signal, message);
}

std::vector<double> TrainingLoop::last_metrics() const {
  if (!root()) return {};
  return run_->last_metrics().value_or(std::vector<double>{});
}

void TrainingLoop::finish(const std::string& summary) {
  if (!root()) return;
  if (!done_ && !run_->done()) run_->finish(summary);
  // A stop asked for during the last epoch's evaluation or rank 0's final work: the run is
  // complete, but what comes after it (the next step of a study) must not start.
  if (const int signal = StopSignals::pending())
    interrupt(signal, fmt::format("{}: stopped by {}; the run is complete. To go on, run the same command again:\n  {}",
                                  spec_.command, signal_name(signal), resume_command(ranks())));
}

void TrainingLoop::log_fatal(const std::string& message) {
  if (root() && run_) run_->log_line("error", message);
  else if (!run_dir_.empty())
    append_to_log(run_dir_ / run_files::kLog, fmt::format("=== {} error on rank {}: {}", utc_now(), rank(), message));
}

}  // namespace pn::experiments
