// NIfTI-1 and NIfTI-2 reading and writing (.nii and .nii.gz).
// Reading parses and validates the header here (nifti_clib prints to stderr and may exit
// on malformed input, so it never sees unchecked bytes), then takes the qform through
// nifti_clib's quaternion code; voxels of type uint8/int8/int16/uint16/int32/uint32/
// float32/float64 are converted to float with scl_slope/scl_inter applied.
// Writing goes through nifti_clib (nifti_image_write), keeping qform, sform and their codes.
// Every failure is a pn::Error that names the file and the problem.
#pragma once
#include <cstdint>
#include <string>

#include "data/volume.h"

namespace pn::data {

// Reads one 3-D volume (a 4-D file with one volume is accepted).
Volume read_nifti(const std::string& path);
// The same from bytes in memory (the fuzzer's entry); `name` is used in messages.
Volume read_nifti_bytes(const uint8_t* bytes, size_t size, const std::string& name);

// Reads a label map or mask: every voxel must be an integer in [0, num_classes).
LabelVolume read_labels(const std::string& path, int num_classes);
// Converts float voxels to labels with the same checks (`name` is used in messages).
LabelVolume to_labels(const Volume& v, int num_classes, const std::string& name);
Volume to_float(const LabelVolume& v);

struct NiftiWriteOptions {
  int version = 0;   // 1 or 2; 0 = the header's (1 for volumes made in memory)
  int datatype = 0;  // NIfTI DT_* code; 0 = the header's (float32 for volumes made in memory)
};

// Writes `v`; the file name decides .nii or .nii.gz. Integer types round and must hold
// the values (after undoing scl_slope/scl_inter when the header has them).
void write_nifti(const Volume& v, const std::string& path, const NiftiWriteOptions& opt = {});
// Writes a label map as uint8 (or int16/int32 when the labels need it) unless opt says.
void write_labels(const LabelVolume& v, const std::string& path, const NiftiWriteOptions& opt = {});

// NIfTI datatype codes the reader and writer accept, and their names ("int16").
bool nifti_datatype_supported(int datatype);
std::string nifti_datatype_name(int datatype);

}  // namespace pn::data
