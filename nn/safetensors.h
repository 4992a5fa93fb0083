// The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, optional
// "__metadata__": {str: str}}, then the raw little-endian tensor bytes. Python and PyTorch
// read these files directly. Writes are atomic: a temporary file renamed into place.
#pragma once
#include <map>
#include <string>

#include "nn/module.h"

namespace pn::nn {

struct SafetensorsFile {
  NamedTensors tensors;  // in file order, on the CPU
  std::map<std::string, std::string> metadata;
  const Tensor* find(const std::string& name) const;
};

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Throws pn::Error naming the file and the problem (missing, truncated, bad header...).
SafetensorsFile load_safetensors(const std::string& path);

// Writes bytes to path through path + ".tmp" and a rename, so a crash never leaves a
// half-written file under the final name.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace pn::nn
