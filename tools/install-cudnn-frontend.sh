#!/usr/bin/env bash
# tools/install-cudnn-frontend.sh: makes cudnn-frontend's header-only C++ API (cudnn_frontend.h and
# the headers it includes) available for the cuDNN graph path (issue 18 item 4), if absent.
# It looks, in order, in $CUDNN_FRONTEND_INCLUDE_DIR, <prefix>/include, the CUDA toolkit's include
# directory and /usr/include; if no cudnn_frontend.h is there, it downloads NVIDIA's PyPI wheel
# nvidia-cudnn-frontend (pip download, no dependencies; the wheel carries the headers under
# include/) and extracts its include/ into <prefix>/include. Prints the include directory found
# or made on its last line; exit 0 then, 1 when the download or extraction fails, 2 for bad
# arguments. Needs python3 with pip only when it downloads.
#
#   tools/install-cudnn-frontend.sh [--prefix DIR] [--version V] [--check]
#
# --prefix   where to install (default: .deps/cudnn-frontend in the repository, ignored by git)
# --version  the wheel's version (default 1.32.0, the release the graph path is written against)
# --check    only look: exit 1 (and print nothing on stdout) when the headers are absent
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
prefix="$repo/.deps/cudnn-frontend"
version=1.32.0
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install-cudnn-frontend: --prefix needs a directory" >&2; exit 2; }
              prefix=$2; shift 2 ;;
    --version) [ $# -ge 2 ] || { echo "install-cudnn-frontend: --version needs a version" >&2; exit 2; }
               version=$2; shift 2 ;;
    --check) check=1; shift ;;
    *) echo "install-cudnn-frontend: unknown argument '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done

cuda_include=/usr/local/cuda/include
if command -v nvcc >/dev/null; then cuda_include=$(dirname "$(dirname "$(command -v nvcc)")")/include; fi
for dir in "${CUDNN_FRONTEND_INCLUDE_DIR:-}" "$prefix/include" "$cuda_include" /usr/include; do
  if [ -n "$dir" ] && [ -f "$dir/cudnn_frontend.h" ]; then
    echo "$dir"
    exit 0
  fi
done
if [ "$check" = 1 ]; then
  echo "install-cudnn-frontend: cudnn_frontend.h not found (run without --check to install it)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-cudnn-frontend: downloading nvidia-cudnn-frontend==$version from PyPI" >&2
if ! python3 -m pip download --quiet --no-deps --only-binary=:all: "nvidia-cudnn-frontend==$version" -d "$work" >&2; then
  echo "install-cudnn-frontend: pip download failed (no network, or no wheel of $version for this Python);" \
       "install the headers by hand and set CUDNN_FRONTEND_INCLUDE_DIR" >&2
  exit 1
fi
mkdir -p "$prefix/include"
python3 - "$work" "$prefix/include" <<'PY' >&2 || exit 1
import pathlib, sys, zipfile
wheels = sorted(pathlib.Path(sys.argv[1]).glob("*.whl"))
if not wheels:
    sys.exit("install-cudnn-frontend: the download holds no wheel")
out = pathlib.Path(sys.argv[2])
n = 0
with zipfile.ZipFile(wheels[0]) as z:
    for name in z.namelist():
        if name.startswith("include/") and not name.endswith("/"):
            target = out / name[len("include/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
            n += 1
if not (out / "cudnn_frontend.h").is_file():
    sys.exit(f"install-cudnn-frontend: {wheels[0].name} has no include/cudnn_frontend.h")
print(f"install-cudnn-frontend: {n} headers from {wheels[0].name} into {out}")
PY
echo "$prefix/include"
