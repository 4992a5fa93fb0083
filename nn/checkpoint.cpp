#include "nn/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/grad_mode.h"

namespace pn::nn {

namespace {

constexpr const char* kChecksumKey = "checksum";

// Every tensor of the parts, under its checkpoint key.
NamedTensors gather(const CheckpointParts& parts) {
  NamedTensors all;
  for (const auto& [prefix, m] : parts.modules) {
    for (auto& [n, t] : m->named_parameters()) all.emplace_back(prefix + "." + n, t);
    for (auto& [n, t] : m->named_buffers()) all.emplace_back(prefix + "." + n, t);
  }
  for (const auto& [prefix, o] : parts.optimizers)
    for (auto& [n, t] : o->named_state()) all.emplace_back(prefix + "." + n, t);
  return all;
}

// A 64-bit checksum of the tensors' names and bytes, in name order (FNV-1a over 8-byte
// words): it tells a file altered after writing from the one written.
std::string checksum(const NamedTensors& host) {
  std::vector<const std::pair<std::string, Tensor>*> sorted;
  for (const auto& e : host) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const unsigned char* p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = (h ^ w) * 1099511628211ull;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ n) * 1099511628211ull;  // the length closes each piece
  };
  for (const auto* e : sorted) {
    mix(reinterpret_cast<const unsigned char*>(e->first.data()), e->first.size());
    mix(static_cast<const unsigned char*>(e->second.raw()),
        static_cast<size_t>(e->second.numel()) * dtype_size(e->second.dtype()));
  }
  return fmt::format("{:016x}", h);
}

// "a.weight (3 NaN or infinite of 40)" for each tensor that holds such values, at most 10.
std::string non_finite_report(const NamedTensors& tensors) {
  std::string out;
  int listed = 0, more = 0;
  for (const auto& [n, t] : tensors) {
    const int64_t bad = count_non_finite(t);
    if (!bad) continue;
    if (listed++ < 10) out += fmt::format("\n    {} ({} NaN or infinite of {})", n, bad, t.numel());
    else ++more;
  }
  if (more) out += fmt::format("\n    ... and {} more tensors", more);
  return out;
}

std::string list(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < 20; ++i) s += "\n    " + v[i];
  if (v.size() > 20) s += fmt::format("\n    ... and {} more", v.size() - 20);
  return s;
}

// Every tensor the parts want, checked against the file: nothing missing, unexpected or
// reshaped, every value finite.
void check_fit(const SafetensorsFile& file, const std::string& path, const NamedTensors& want) {
  std::vector<std::string> missing, mismatched, unexpected;
  std::map<std::string, const Tensor*> have;
  for (const auto& [n, t] : file.tensors) have[n] = &t;
  for (const auto& [n, t] : want) {
    auto it = have.find(n);
    if (it == have.end()) missing.push_back(n);
    else {
      if (it->second->shape() != t.shape() || it->second->dtype() != t.dtype())
        mismatched.push_back(fmt::format("{} (file {}, model {})", n, it->second->desc(), t.desc()));
      have.erase(it);
    }
  }
  for (const auto& [n, t] : have) unexpected.push_back(n);
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty())
    PN_FAIL("{}: checkpoint does not fit the model: {} missing, {} unexpected, {} mismatched{}{}{}{}{}{}", path,
            missing.size(), unexpected.size(), mismatched.size(), missing.empty() ? "" : "\n  missing:", list(missing),
            unexpected.empty() ? "" : "\n  unexpected:", list(unexpected), mismatched.empty() ? "" : "\n  mismatched:",
            list(mismatched));
  const std::string bad = non_finite_report(file.tensors);
  PN_CHECK(bad.empty(), "{}: the checkpoint holds NaN or infinite values (the training had diverged when it was "
           "written); it is not loaded. Resume from an older checkpoint (move this one away), or start over with "
           "--restart and a lower learning rate. Tensors:{}", path, bad);
}

}  // namespace

int64_t count_non_finite(const Tensor& t) {
  if (!t.defined()) return 0;
  int64_t bad = 0;
  for (double v : t.to_vector()) bad += !std::isfinite(v);
  return bad;
}

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointState& state) {
  NamedTensors host;
  for (auto& [n, t] : gather(parts)) host.emplace_back(n, t.device().is_cpu() ? t.detach() : t.detach().to(Device::cpu()));
  const std::string bad = non_finite_report(host);
  PN_CHECK(bad.empty(), "{}: not written: the model holds NaN or infinite values at step {} (the training "
           "diverged; lower the learning rate). Tensors:{}", path, state.step, bad);
  std::map<std::string, std::string> meta = state.extra;
  meta["format"] = "penumbra-checkpoint-2";
  meta["step"] = std::to_string(state.step);
  meta["epoch"] = std::to_string(state.epoch);
  for (const auto& [prefix, o] : parts.optimizers) {
    meta[prefix + ".steps"] = std::to_string(o->steps());
    meta[prefix + ".base_lr"] = fmt::format("{:.17g}", o->base_lr());
  }
  for (const auto& [name, g] : parts.generators) meta["rng." + name] = fmt::format("{} {}", g->seed(), g->offset());
  for (const auto& [name, sc] : parts.scalers) meta["scaler." + name] = sc->state();
  meta[kChecksumKey] = checksum(host);
  save_safetensors(path, host, meta);
}

SafetensorsFile read_checkpoint(const std::string& path) {
  SafetensorsFile file = load_safetensors(path);
  auto it = file.metadata.find(kChecksumKey);
  if (it != file.metadata.end()) {
    const std::string have = checksum(file.tensors);
    PN_CHECK(have == it->second, "{}: corrupt: the tensors' checksum is {}, the file says {} (altered after it was "
             "written)", path, have, it->second);
  }
  return file;
}

CheckpointState restore_checkpoint(const SafetensorsFile& file, const std::string& path, const CheckpointParts& parts) {
  NamedTensors want = gather(parts);
  check_fit(file, path, want);
  auto get = [&](const std::string& key) -> std::string {
    auto it = file.metadata.find(key);
    PN_CHECK(it != file.metadata.end(), "{}: checkpoint metadata has no '{}' (written by another program or an "
             "older Penumbra: start over with --restart)", path, key);
    return it->second;
  };
  CheckpointState st;
  st.step = std::stoll(get("step"));
  st.epoch = std::stoll(get("epoch"));
  std::vector<std::pair<Generator*, std::pair<uint64_t, uint64_t>>> rng;
  for (const auto& [name, g] : parts.generators) {
    unsigned long long seed = 0, offset = 0;
    const std::string v = get("rng." + name);
    PN_CHECK(std::sscanf(v.c_str(), "%llu %llu", &seed, &offset) == 2, "{}: metadata rng.{} = '{}' is not "
             "'<seed> <offset>'", path, name, v);
    rng.push_back({g, {seed, offset}});
  }
  std::vector<std::string> scaler_states;
  for (const auto& [name, sc] : parts.scalers) {
    scaler_states.push_back(get("scaler." + name));
    GradScaler probe;
    probe.set_state(scaler_states.back(), path + ": metadata scaler." + name);  // checks before anything is copied
  }
  std::vector<std::pair<int64_t, double>> opt;
  for (const auto& [prefix, o] : parts.optimizers)
    opt.emplace_back(std::stoll(get(prefix + ".steps")), std::stod(get(prefix + ".base_lr")));
  // Everything is checked: now copy.
  {
    NoGrad ng;
    for (auto& [n, t] : want) {
      Tensor dst = t;
      dst.copy_(*file.find(n));
    }
  }
  for (size_t i = 0; i < parts.optimizers.size(); ++i) {
    parts.optimizers[i].second->set_steps(opt[i].first);
    parts.optimizers[i].second->set_base_lr(opt[i].second);
  }
  for (auto& [g, state] : rng) g->set_state(state.first, state.second);
  for (size_t i = 0; i < parts.scalers.size(); ++i)
    parts.scalers[i].second->set_state(scaler_states[i], path + ": metadata scaler." + parts.scalers[i].first);
  for (const auto& [k, v] : file.metadata) st.extra[k] = v;
  return st;
}

CheckpointState load_checkpoint(const std::string& path, const CheckpointParts& parts) {
  return restore_checkpoint(read_checkpoint(path), path, parts);
}

}  // namespace pn::nn
