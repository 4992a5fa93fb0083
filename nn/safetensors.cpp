#include "nn/safetensors.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace pn::nn {

namespace {

const char* st_dtype(DType t) { return t == DType::Float32 ? "F32" : "F64"; }

DType parse_dtype(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return DType::Float32;
  if (s == "F64") return DType::Float64;
  PN_FAIL("{}: tensor '{}' has dtype {}, which Penumbra does not read (F32 and F64 only)", path, name, s);
}

}  // namespace

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  PN_CHECK(f != nullptr, "{}: cannot open for writing: {}", tmp, std::strerror(errno));
  size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  bool ok = written == bytes.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) {
    std::remove(tmp.c_str());
    PN_FAIL("{}: write failed (disk full?)", tmp);
  }
  std::filesystem::rename(tmp, path);
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  std::vector<Tensor> host;
  for (const auto& [name, t] : tensors) {
    PN_CHECK(t.defined(), "save_safetensors {}: tensor '{}' is undefined", path, name);
    PN_CHECK(!header.contains(name), "save_safetensors {}: duplicate tensor name '{}'", path, name);
    Tensor h = t.device().is_cpu() ? t.detach() : t.detach().to(Device::cpu());
    size_t bytes = static_cast<size_t>(h.numel()) * dtype_size(h.dtype());
    header[name] = {{"dtype", st_dtype(h.dtype())}, {"shape", h.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    host.push_back(h);
  }
  std::string hjson = header.dump();
  while (hjson.size() % 8) hjson.push_back(' ');  // the format pads the header to 8 bytes
  std::string out(8, '\0');
  uint64_t n = hjson.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += hjson;
  out.reserve(out.size() + offset);
  for (const auto& h : host)
    out.append(static_cast<const char*>(h.raw()), static_cast<size_t>(h.numel()) * dtype_size(h.dtype()));
  write_file_atomic(path, out);
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PN_CHECK(in.good(), "{}: cannot open (missing file?)", path);
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  PN_CHECK(size >= 8, "{}: not a safetensors file (only {} bytes)", path, size);
  unsigned char lenbuf[8];
  in.read(reinterpret_cast<char*>(lenbuf), 8);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= static_cast<uint64_t>(lenbuf[i]) << (8 * i);
  PN_CHECK(hlen <= size - 8, "{}: header length {} exceeds the file size {} (truncated or not safetensors)",
           path, hlen, size);
  std::string hjson(hlen, '\0');
  in.read(hjson.data(), static_cast<std::streamsize>(hlen));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(hjson);
  } catch (const std::exception& e) {
    PN_FAIL("{}: the header is not valid JSON ({})", path, e.what());
  }
  PN_CHECK(header.is_object(), "{}: the header is not a JSON object", path);
  const uint64_t data_start = 8 + hlen, data_size = size - data_start;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, std::string>> order;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      for (auto m = it->begin(); m != it->end(); ++m) file.metadata[m.key()] = m->get<std::string>();
      continue;
    }
    order.emplace_back((*it)["data_offsets"][0].get<uint64_t>(), it.key());
  }
  std::sort(order.begin(), order.end());
  for (const auto& [off, name] : order) {
    const auto& e = header[name];
    try {
      DType dt = parse_dtype(e.at("dtype").get<std::string>(), path, name);
      Shape shape = e.at("shape").get<Shape>();
      uint64_t b = e.at("data_offsets")[0].get<uint64_t>(), en = e.at("data_offsets")[1].get<uint64_t>();
      uint64_t want = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(dt);
      PN_CHECK(en >= b && en - b == want, "{}: tensor '{}' spans {} bytes but shape {} needs {}", path, name,
               en - b, shape_str(shape), want);
      PN_CHECK(en <= data_size, "{}: tensor '{}' ends at byte {} past the data ({} bytes): truncated file",
               path, name, en, data_size);
      Tensor t = Tensor::empty(shape, dt);
      in.seekg(static_cast<std::streamoff>(data_start + b));
      in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(want));
      PN_CHECK(in.good(), "{}: read of tensor '{}' failed", path, name);
      file.tensors.emplace_back(name, t);
    } catch (const nlohmann::json::exception& ex) {
      PN_FAIL("{}: malformed header entry for '{}' ({})", path, name, ex.what());
    }
  }
  return file;
}

}  // namespace pn::nn
