#!/usr/bin/env bash
# Installs the Debian packages Penumbra builds against, if any is missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(cmake ninja-build g++ doctest-dev libnifti2-dev libopenblas-openmp-dev libdnnl-dev
      libomp-dev openmpi-bin libopenmpi-dev libtomlplusplus-dev libcli11-dev
      nlohmann-json3-dev libfmt-dev libpng-dev zlib1g-dev libcairo2-dev pkg-config
      fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
