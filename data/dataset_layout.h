// Opening a dataset folder whatever its layout: `data.layout = auto | pairs | isles2022`.
// Auto-detection: a folder with sub-*/ses-* folders (directly or under rawdata/) is ISLES
// 2022, anything else a folder of pairs; the scan says which layout it found and why, so
// every command can name it. Every command (train, predict, eval, montage, check,
// synthesize, study) opens its folders here.
#pragma once
#include <string>

#include "data/folder_dataset.h"

namespace pn::data {

Layout parse_layout(const std::string& name);  // "auto", "pairs", "isles2022"
const char* layout_name(Layout layout);        // the config word

// The layout `asked` resolves to for `dir` (Auto: detected).
Layout resolve_layout(const std::string& dir, Layout asked);

// Lists the cases and every problem of spec.dir in its layout; never throws for problems
// with files. The scan's layout_description names the layout and, when it was detected,
// says so ("ISLES 2022 (...), detected").
FolderScan scan_dataset(const DatasetSpec& spec);

// Scans and throws a pn::Error listing every problem (or "no case"), naming the layout.
FolderDataset open_dataset(const DatasetSpec& spec, LoadOptions load = {});

}  // namespace pn::data
