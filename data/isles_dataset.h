// The ISLES 2022 layout (BIDS), in the forms it is distributed:
//   official:  <root>/[rawdata/]sub-strokecaseNNNN/ses-0001/dwi/sub-..._ses-0001_dwi.nii.gz
//                                                   .../dwi/..._adc.nii.gz
//                                                  .../anat/..._FLAIR.nii.gz
//   flat (the challenge's example data): the same files directly in ses-0001/
//   masks:     <root>/derivatives/sub-strokecaseNNNN/ses-0001/..._msk.nii.gz
//   optional anatomy label maps (not part of ISLES; for the translation models), on the
//   DWI grid in the study's classes: <root>/derivatives/.../..._labels.nii.gz
// Subjects lie under rawdata/ or directly in the root (the Zenodo archive); modality names
// match case-insensitively (FLAIR, flair), .nii or .nii.gz. A case is one session
// ("sub-strokecase0001_ses-0001"); its grid is the DWI's, on which the masks lie, so ADC
// and FLAIR (on their own grid in ISLES 2022) are resampled onto it when loaded
// (folder_dataset.h). Every subject whose images or mask are missing is a problem, masks
// only where the spec requires them (prediction needs none).
#pragma once
#include <string>

#include "data/folder_dataset.h"

namespace pn::data {

enum class IslesModality { DWI, ADC, FLAIR };
IslesModality parse_isles_modality(const std::string& name);  // "dwi", "adc", "flair" (any case)
const char* isles_modality_name(IslesModality m);             // "dwi", "adc", "flair"

// True when `root` holds rawdata/ or derivatives/ beside sub-* folders, or sub-* folders
// with ses-* folders in them.
bool looks_like_isles(const std::string& root);
// spec.channels: modality names (empty: dwi); spec.suffixes are not used.
FolderScan scan_isles(const DatasetSpec& spec);
FolderScan scan_isles(const std::string& root, IslesModality modality = IslesModality::DWI);

}  // namespace pn::data
