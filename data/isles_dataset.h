// The ISLES 2022 layout as distributed (BIDS):
//   <root>/rawdata/sub-strokecaseNNNN/ses-0001/dwi/sub-strokecaseNNNN_ses-0001_dwi.nii.gz
//                                          .../dwi/..._adc.nii.gz
//                                         .../anat/..._FLAIR.nii.gz
//   <root>/derivatives/sub-strokecaseNNNN/ses-0001/sub-strokecaseNNNN_ses-0001_msk.nii.gz
// Scanning gives the same case list as a folder of pairs (CaseFiles), for the chosen
// modality, and lists every subject whose image or mask is missing as a problem. The
// masks lie on the DWI/ADC grid; FLAIR in ISLES 2022 is not resampled onto it, so
// loading FLAIR with a mask reports the grid mismatch.
#pragma once
#include <string>

#include "data/folder_dataset.h"

namespace pn::data {

enum class IslesModality { DWI, ADC, FLAIR };
IslesModality parse_isles_modality(const std::string& name);  // "dwi", "adc", "flair"

// True when `root` holds rawdata/ and derivatives/ folders.
bool looks_like_isles(const std::string& root);
FolderScan scan_isles(const std::string& root, IslesModality modality = IslesModality::DWI);

}  // namespace pn::data
