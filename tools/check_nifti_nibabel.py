#!/usr/bin/env python3
"""Independent check of Penumbra's NIfTI files with nibabel (not part of the test suite).

  python3 tools/check_nifti_nibabel.py data/fuzz/corpus PHANTOM_DIR

1. The seed files in data/fuzz/corpus (written by Penumbra's writer: a 4x3x2 grid holding
   0..23 with i fastest, spacing 2 x 2 x 3.6 mm, centred on the origin) in NIfTI-1 and -2,
   .nii and .nii.gz, five datatypes.
2. A phantom folder (`penumbra data phantom --out DIR`): image, mask and label map of each
   case share shape and affine, spacing 2 x 2 x 3.6, labels in [0, 29), mask == (labels == 28).
"""
import glob
import os
import sys

import nibabel as nib
import numpy as np


def check_seeds(folder):
    expect = np.arange(24, dtype=np.float64).reshape((2, 3, 4)).transpose(2, 1, 0)  # [i, j, k]
    aff = np.diag([2.0, 2.0, 3.6, 1.0])
    aff[:3, 3] = [-2.0 * 1.5, -2.0 * 1.0, -3.6 * 0.5]
    n = 0
    for path in sorted(glob.glob(os.path.join(folder, "seed_*.nii*"))):
        img = nib.load(path)
        version = 2 if isinstance(img, nib.Nifti2Image) else 1
        assert f"_v{version}_" in os.path.basename(path), (path, version)
        assert np.array_equal(img.get_fdata(), expect), path
        assert np.allclose(img.affine, aff, atol=1e-5), (path, img.affine)
        q, qc = img.get_qform(coded=True)
        s, sc = img.get_sform(coded=True)
        assert qc == 1 and sc == 1 and np.allclose(q, aff, atol=1e-5) and np.allclose(s, aff, atol=1e-5), path
        n += 1
    assert n >= 5, f"expected the seed files in {folder}"
    print(f"seeds: {n} files read by nibabel {nib.__version__} with the expected data, spacing and affine")


def check_phantom(folder):
    n = 0
    for img_path in sorted(glob.glob(os.path.join(folder, "*", "*_dwi.nii.gz"))):
        base = img_path[: -len("_dwi.nii.gz")]
        img, msk, lab = (nib.load(base + s) for s in ("_dwi.nii.gz", "_msk.nii.gz", "_labels.nii.gz"))
        assert img.shape == msk.shape == lab.shape, base
        assert np.allclose(img.affine, msk.affine) and np.allclose(img.affine, lab.affine), base
        assert np.allclose(img.header.get_zooms(), (2.0, 2.0, 3.6), atol=1e-5), base
        m, lb = np.asarray(msk.dataobj), np.asarray(lab.dataobj)
        assert lb.min() >= 0 and lb.max() < 29, base
        assert np.array_equal(m == 1, lb == 28) and set(np.unique(m)) <= {0, 1}, base
        n += 1
    assert n > 0, f"no phantom cases under {folder}"
    print(f"phantom: {n} cases consistent in nibabel (shape, affine, spacing, labels, mask)")


if __name__ == "__main__":
    check_seeds(sys.argv[1])
    if len(sys.argv) > 2:
        check_phantom(sys.argv[2])
