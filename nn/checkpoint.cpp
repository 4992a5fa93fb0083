#include "nn/checkpoint.h"

#include "autograd/grad_mode.h"
#include "nn/safetensors.h"

namespace pn::nn {

namespace {

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

}  // namespace

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointState& state) {
  std::map<std::string, std::string> meta = state.extra;
  meta["format"] = "penumbra-checkpoint-1";
  meta["step"] = std::to_string(state.step);
  meta["epoch"] = std::to_string(state.epoch);
  meta["rng_seed"] = std::to_string(state.rng_seed);
  meta["rng_offset"] = std::to_string(state.rng_offset);
  for (const auto& [prefix, o] : parts.optimizers) {
    meta[prefix + ".steps"] = std::to_string(o->steps());
    meta[prefix + ".base_lr"] = fmt::format("{:.17g}", o->base_lr());
  }
  save_safetensors(path, gather(parts), meta);
}

CheckpointState load_checkpoint(const std::string& path, const CheckpointParts& parts) {
  SafetensorsFile file = load_safetensors(path);
  NamedTensors want = gather(parts);
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
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size() && i < 20; ++i) s += "\n    " + v[i];
      if (v.size() > 20) s += fmt::format("\n    ... and {} more", v.size() - 20);
      return s;
    };
    PN_FAIL("{}: checkpoint does not fit the model: {} missing, {} unexpected, {} mismatched{}{}{}{}{}{}", path,
            missing.size(), unexpected.size(), mismatched.size(), missing.empty() ? "" : "\n  missing:", list(missing),
            unexpected.empty() ? "" : "\n  unexpected:", list(unexpected), mismatched.empty() ? "" : "\n  mismatched:",
            list(mismatched));
  }
  {
    NoGrad ng;
    for (auto& [n, t] : want) {
      Tensor dst = t;
      dst.copy_(*file.find(n));
    }
  }
  auto get = [&](const std::string& key) -> std::string {
    auto it = file.metadata.find(key);
    PN_CHECK(it != file.metadata.end(), "{}: checkpoint metadata has no '{}'", path, key);
    return it->second;
  };
  CheckpointState st;
  st.step = std::stoll(get("step"));
  st.epoch = std::stoll(get("epoch"));
  st.rng_seed = std::stoull(get("rng_seed"));
  st.rng_offset = std::stoull(get("rng_offset"));
  for (const auto& [prefix, o] : parts.optimizers) {
    o->set_steps(std::stoll(get(prefix + ".steps")));
    o->set_base_lr(std::stod(get(prefix + ".base_lr")));
  }
  for (const auto& [k, v] : file.metadata) st.extra[k] = v;
  return st;
}

}  // namespace pn::nn
