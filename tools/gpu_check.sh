#!/usr/bin/env bash
# shellcheck disable=SC2317  # the step_* functions run through `gpu_check.sh --step NAME`
# tools/gpu_check.sh: the first run on a real GPU, in at most 10 minutes on one H100 (issue 13).
# Each step is timed and bounded by `timeout`; together they stay inside --budget seconds:
#   env        driver, toolkit, compute-sanitizer, nvidia-smi, PyTorch (python3 must have torch)
#   build      Release, CUDA, sm_90 only, into --build-dir (reused when it already is a CUDA
#              build of this checkout, or a bundle made by --bundle)
#   libs       every shared library the binaries resolve (ldd), `penumbra info`
#   ctest      ctest -L gpu: every suite must pass; a skip (no device) is a failure
#   memcheck   compute-sanitizer memcheck and racecheck on test_gpu_kernels (our kernels),
#   racecheck  where compute-sanitizer is installed
#   bigsum     fill and sums past 2^31 float32 elements against exact values
#   conv(_torch)         the U-Net's 3x3x3 convolutions, ours vs PyTorch, float32 with TF32 off
#                        and on, and bf16 and fp16 storage (fp32 accumulation)
#   igemm                our implicit-GEMM convolution (run.conv = "implicit_gemm") vs cuDNN, forward,
#                        backward data and backward weight, float32 and bf16 (tensor cores), at the
#                        U-Net's first and second level
#   steps_<net>(_torch)  one training iteration of each network, ours vs PyTorch
#   steps_<net>_<bf16|fp16>(_torch)  the same in mixed precision, ours (run.precision's
#                        rules) vs PyTorch autocast: ms, peak memory, loss and gradient agreement
# then the Markdown report (tools/gpu_check/report.py) and its verdict as the exit status:
# 0 when every check passed, 1 otherwise, 2 for bad arguments.
#
#   tools/gpu_check.sh [--report FILE] [--build-dir DIR] [--size paper|small|tiny] [--budget S]
#                      [--work DIR] [--python PYTHON] [--dry-run]
#   tools/gpu_check.sh --bundle DIR [--build-dir DIR]   (here: a sm_90 build to carry to a GPU)
#
# --dry-run runs the same procedure without a GPU: the emulated variant (build/gpu_check_emu,
# the CPU emulator of the CUDA backend) at tiny sizes, against PyTorch on the CPU from the
# virtual env of tools/golden/torch_venv.sh; the gpu suites then skip, which a dry run allows.
# --python: the interpreter of the PyTorch halves (default python3 on a GPU, the virtual
# env's in a dry run); --work: where logs and intermediate files go (default: a new folder
# in $TMPDIR); --budget: seconds for all steps (default 570, 15 of them kept for the report).
set -uo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
caller=$PWD
cd "$(dirname "$0")/.." || exit 2

usage() { sed -n '/^#   tools\/gpu_check.sh \[/,/^#   tools\/gpu_check.sh --bundle/p' "$self" | sed 's/^#  //'; }

# ---- the steps (run as `gpu_check.sh --step NAME` under timeout, settings in GC_*) ----------
step_env() {
  local rc=0 s nvcc
  echo "host: $(uname -srm), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2 " GiB"}') memory"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,name,driver_version,memory.total,memory.used,compute_cap,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu,persistence_mode,mig.mode.current --format=csv
    nvidia-smi || rc=1
  else
    echo "nvidia-smi: not found"
    [ "$GC_MODE" = dry-run ] || rc=1
  fi
  nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  if [ -x "$nvcc" ]; then echo "nvcc: $("$nvcc" --version | tail -1)"; else echo "nvcc: not found"; fi
  if s=$(sanitizer); then echo "compute-sanitizer: $("$s" --version | tail -1)"; else echo "compute-sanitizer: not found"; fi
  echo "cmake: $(cmake --version | head -1), ninja: $(ninja --version 2>/dev/null || echo 'not found')"
  "$GC_PY" - "$GC_MODE" <<'EOF' || rc=1
import sys
try:
    import torch
except ImportError as e:
    sys.exit(f"PyTorch: not importable by {sys.executable} ({e}); the comparisons need it")
cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else "none"
nccl = ".".join(map(str, torch.cuda.nccl.version())) if torch.cuda.is_available() else "none"
print(f"PyTorch {torch.__version__} ({sys.executable}): CUDA {torch.version.cuda}, cuDNN {cudnn}, NCCL {nccl}, "
      f"devices {torch.cuda.device_count()}" + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""))
if sys.argv[1] == "real" and not torch.cuda.is_available():
    sys.exit("PyTorch sees no GPU")
EOF
  return $rc
}

# Our programs run with the bundle's libraries first and PyTorch's CUDA libraries last on
# the library path (GC_LIBS); Python runs with the path it came with.
ours() { LD_LIBRARY_PATH=$GC_LIBS "$@"; }

sanitizer() {
  local s
  s=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  [ -x "$s" ] && echo "$s"
}

# The targets the later steps run, of those this build defines.
gpu_targets() {
  local all want=(penumbra gpu_check test_gpu_kernels test_gpu_models cuda_device_count test_nccl)
  [ "$GC_MODE" = dry-run ] && want=(gpu_check_emu penumbra test_gpu_kernels test_gpu_models)
  if [ -f "$GC_BUILD/build.ninja" ]; then
    all=$(cmake --build "$GC_BUILD" -- -t targets all 2>/dev/null | sed 's/:.*//; s|.*/||')
  else
    all=$(cmake --build "$GC_BUILD" --target help 2>/dev/null | sed -n 's/^\.\.\. \([^ ]*\).*/\1/p')
  fi
  for t in "${want[@]}"; do grep -qx "$t" <<<"$all" && echo "$t"; done
}

step_build() {
  if [ -f "$GC_BUILD/gpu_check_bundle.txt" ]; then
    echo "build: $GC_BUILD is a bundle made by --bundle ($(head -1 "$GC_BUILD/gpu_check_bundle.txt")); not rebuilt"
    write_bundle_ctest
    return
  fi
  local cache=$GC_BUILD/CMakeCache.txt
  if [ -f "$cache" ] && ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$PWD\$" "$cache"; then
    echo "build: $GC_BUILD was configured for another checkout; use --build-dir with a fresh folder or a bundle"
    return 1
  fi
  if [ "$GC_MODE" = real ] && [ -f "$cache" ] && ! grep -q "^CMAKE_CUDA_COMPILER:" "$cache"; then
    echo "build: $GC_BUILD is not a CUDA build; configure a CUDA build there or give another --build-dir"
    return 1
  fi
  if [ ! -f "$cache" ]; then
    local launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
    local cuda=(-DPENUMBRA_CUDA=ON -DPENUMBRA_CUDA_ARCHITECTURES=90)
    [ "$GC_MODE" = dry-run ] && cuda=()
    echo "build: configuring $GC_BUILD (Release${cuda:+, CUDA, sm_90})"
    cmake -S . -B "$GC_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cuda[@]}" "${launcher[@]}" || return 1
  fi
  local targets
  mapfile -t targets < <(gpu_targets)
  [ ${#targets[@]} -gt 0 ] || { echo "build: $GC_BUILD defines none of the targets the check runs"; return 1; }
  echo "build: ${targets[*]}"
  cmake --build "$GC_BUILD" -j "$(nproc)" --target "${targets[@]}"
}

# A bundle's tests, registered for CTest at this checkout's paths (ctest_tests.txt: one line
# per test, "name<TAB>labels<TAB>command" with @BUILD@ and @ROOT@ for the two folders).
write_bundle_ctest() {
  local f=$GC_BUILD/CTestTestfile.cmake
  : >"$f"
  while IFS=$'\t' read -r name labels cmd; do
    cmd=${cmd//@BUILD@/$GC_BUILD}
    cmd=${cmd//@ROOT@/$PWD}
    printf 'add_test([=[%s]=] %s)\n' "$name" "$cmd" >>"$f"
    printf 'set_tests_properties([=[%s]=] PROPERTIES LABELS "%s" SKIP_RETURN_CODE 77 TIMEOUT 600 ENVIRONMENT "OMP_NUM_THREADS=2;PENUMBRA_SOURCE_DIR=%s")\n' \
      "$name" "$labels" "$PWD" >>"$f"
  done <"$GC_BUILD/ctest_tests.txt"
}

step_libs() {
  local bins=("$GC_BUILD/penumbra" "$GC_BIN" "$GC_BUILD/tests/gpu/test_gpu_kernels" "$GC_BUILD/tests/gpu/test_gpu_models")
  local missing=0 deps
  for b in "${bins[@]}"; do
    [ -x "$b" ] || { echo "$b: not built"; continue; }
    echo "$b:"
    deps=$(ours ldd "$b")
    sed 's/ (0x[0-9a-f]*)//; s/^\t/  /' <<<"$deps"
    [[ $deps == *"not found"* ]] && missing=1
  done >"$GC_WORK/libs.txt"
  cat "$GC_WORK/libs.txt"
  { echo; echo "\$ penumbra info"; ours "$GC_BUILD/penumbra" info 2>&1; } | tee -a "$GC_WORK/env.txt"
  [ "$missing" = 0 ] || { echo "libs: a library is not found (see above)"; return 1; }
}

step_ctest() {
  local exclude=()
  local gpus
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  if [ "${gpus:-0}" -lt 2 ] && [[ $(ctest --test-dir "$GC_BUILD" -N -R '^test_nccl$') == *test_nccl* ]]; then
    exclude=(-E '^test_nccl$')
    echo "test_nccl (2 ranks, one GPU each) not run: ${gpus:-0} GPU(s) visible; NCCL refuses two ranks on one GPU" \
      >>"$GC_WORK/notes.txt"
  fi
  ours ctest --test-dir "$GC_BUILD" -L gpu "${exclude[@]}" --output-on-failure --output-junit "$GC_WORK/ctest_gpu.xml" \
    --timeout 300
}

step_sanitizer() {
  local tool=$1 s
  s=$(sanitizer) || { echo "compute-sanitizer: not installed"; return 77; }
  local extra=()
  [ "$tool" = racecheck ] && extra=(--racecheck-report hazard)
  ours "$s" --tool "$tool" "${extra[@]}" --error-exitcode 9 --print-limit 20 \
    "$GC_BUILD/tests/gpu/test_gpu_kernels" --test-case-exclude='*cuBLAS*,*cuDNN*'
}

step_bigsum() {
  local args=(--reps 2)
  [ "$GC_SIZE" = tiny ] && args+=(--elements 4103)
  ours "$GC_BIN" bigsum "${args[@]}"
}

step_conv() {
  ours "$GC_BIN" conv --out "$GC_WORK/data" --size "$GC_SIZE" --tf32 off,on --half bf16,fp16 --reps "$GC_REPS"
}

step_conv_torch() {
  "$GC_PY" tools/gpu_check/torch_conv.py --ours "$GC_WORK/logs/conv.log" --dir "$GC_WORK/data" \
    --device "$GC_TORCH_DEVICE" --reps "$GC_REPS"
  local rc=$?
  rm -f "$GC_WORK"/data/conv*.f32
  return $rc
}

step_igemm() { ours "$GC_BIN" igemm --size "$GC_SIZE" --reps "$GC_REPS"; }

# $1: NET or NET:PRECISION (bf16, fp16; fp32 when absent).
step_steps() {
  local net=${1%%:*} precision=fp32
  [[ $1 == *:* ]] && precision=${1#*:}
  ours "$GC_BIN" steps --net "$net" --size "$GC_SIZE" --out "$GC_WORK/data" --reps "$GC_REPS" --precision "$precision"
}

step_steps_torch() {
  local net=${1%%:*} precision=fp32
  [[ $1 == *:* ]] && precision=${1#*:}
  "$GC_PY" tools/gpu_check/torch_steps.py --dir "$GC_WORK/data" --net "$net" --device "$GC_TORCH_DEVICE" \
    --reps "$GC_REPS" --precision "$precision"
}

# ---- --bundle DIR: a sm_90 CUDA build of what the check runs, carried to a GPU machine -----------
make_bundle() {
  local out=$1 build=$2
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || { echo "gpu_check.sh --bundle: needs nvcc"; return 1; }
  export GC_MODE=real GC_BUILD=$build
  step_build || return 1
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/tests/gpu" "$stage/tests/gpu_nccl" "$stage/lib"
  cp "$build/penumbra" "$build/gpu_check" "$stage/"
  cp "$build"/tests/gpu/test_gpu_* "$stage/tests/gpu/"
  [ -x "$build/tests/gpu_nccl/test_nccl" ] && cp "$build"/tests/gpu_nccl/{test_nccl,cuda_device_count} "$stage/tests/gpu_nccl/"
  # Libraries the GPU machine may lack; not the C/C++ runtime, nor CUDA's (its toolkit and
  # PyTorch's wheels bring those).
  find "$stage" -type f -executable -print0 | xargs -0 ldd 2>/dev/null | awk '/=> \//{print $3}' | sort -u |
    grep -vE '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas[^/]*|libcudnn[^/]*|libnccl)\.so' |
    xargs -r cp -L -t "$stage/lib/"
  ctest --test-dir "$build" -L gpu --show-only=json-v1 | python3 -c '
import json, shlex, sys
build, root = sys.argv[1], sys.argv[2]
for t in json.load(sys.stdin)["tests"]:
    labels = next((p["value"] for p in t.get("properties", []) if p["name"] == "LABELS"), [])
    cmd = " ".join(shlex.quote(c) for c in t["command"]).replace(build, "@BUILD@").replace(root, "@ROOT@")
    print(t["name"], ";".join(labels), cmd, sep="\t")' "$(cd "$build" && pwd)" "$PWD" >"$stage/ctest_tests.txt"
  echo "bundle of $(git rev-parse --short HEAD) built $(date -u +%Y-%m-%dT%H:%MZ), sm_90" >"$stage/gpu_check_bundle.txt"
  mkdir -p "$out"
  tar -C "$stage" -cJf "$out/bundle.tar.xz" . && rm -rf "$stage"
  echo "gpu_check.sh: $out/bundle.tar.xz ($(du -h "$out/bundle.tar.xz" | cut -f1)); on the GPU machine: tools/gpu_check.sh --build-dir $out"
}

# ---- orchestration --------------------------------------------------------------------------
# run_step NAME LIMIT [ARG]: step_NAME (or step_<NAME without _ARG>) under timeout, its output
# in logs/NAME.log, its result lines in results.txt, a row in steps.tsv; 15 s of the budget
# stay for the report. A step that exits 77 was skipped (a tool missing), not failed.
run_step() {
  local name=$1 limit=$2 fn=$3 arg=${4:-}
  local left=$((GC_DEADLINE - $(date +%s) - 15))
  local log=logs/$name.log
  if [ "$left" -lt 5 ]; then
    printf '%s\tnot-run\t0\t0\t%s\n' "$name" "$log" >>"$GC_WORK/steps.tsv"
    echo "gpu_check.sh: $name: not run (time budget spent)" >&2
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0 rc status secs
  t0=$(date +%s%N)
  local args=("$fn")
  [ -n "$arg" ] && args+=("$arg")
  timeout --kill-after=10 "$limit" "$self" --step "${args[@]}" >"$GC_WORK/$log" 2>&1
  rc=$?
  case $rc in
    0) status=ok ;; 77) status=skipped ;; 124 | 137) status=timeout ;; *) status=failed ;;
  esac
  secs=$((($(date +%s%N) - t0) / 100000000))
  secs=$((secs / 10)).$((secs % 10))
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" "$limit" "$log" >>"$GC_WORK/steps.tsv"
  grep '^GPU_CHECK ' "$GC_WORK/$log" >>"$GC_WORK/results.txt"
  printf 'gpu_check.sh: %-18s %-8s %6s s\n' "$name" "$status" "$secs" >&2
  return $rc
}

# Settings, work folder, library paths, PyTorch: everything the steps read from GC_*.
prepare() {
  local mode=$1 size=$2 budget=$3 work=$4 build=$5 python=$6
  mkdir -p "$work/logs" "$work/data" || return 2
  : >"$work/steps.tsv"; : >"$work/results.txt"; : >"$work/notes.txt"; : >"$work/env.txt"
  GC_WORK=$(realpath "$work")
  GC_BUILD=$build
  GC_LIBS=${LD_LIBRARY_PATH:-}
  # Timed repetitions after a warm-up: 5 on a GPU, 2 for the tiny sizes of a dry run.
  GC_REPS=$([ "$size" = tiny ] && echo 2 || echo 5)
  export GC_MODE=$mode GC_SIZE=$size GC_WORK GC_BUILD GC_LIBS GC_REPS GC_DEADLINE=$(($(date +%s) + budget))
  # A bundle travels as one archive: unpack it into the work folder.
  if [ -f "$GC_BUILD/bundle.tar.xz" ]; then
    mkdir -p "$GC_WORK/bundle" && tar -C "$GC_WORK/bundle" -xJf "$GC_BUILD/bundle.tar.xz" || return 1
    GC_BUILD=$GC_WORK/bundle
    GC_LIBS=$GC_BUILD/lib${GC_LIBS:+:$GC_LIBS}
  fi
  if [ "$mode" = dry-run ]; then
    export GC_BIN=$GC_BUILD/gpu_check_emu GC_TORCH_DEVICE=cpu GC_PY=$python
    if [ -z "$python" ]; then
      GC_PY=$(bash tools/golden/torch_venv.sh) || { echo "gpu_check.sh: no PyTorch venv for the dry run" >&2; return 1; }
    fi
    echo "Dry run: the emulated CUDA backend (gpu_check_emu) at tiny sizes, PyTorch on the CPU." >>"$GC_WORK/notes.txt"
  else
    export GC_BIN=$GC_BUILD/gpu_check GC_TORCH_DEVICE=cuda GC_PY=${python:-python3}
    # cuDNN, cuBLAS and NCCL where only PyTorch's wheels have them (after the system's).
    local wheel_libs
    wheel_libs=$("$GC_PY" -c 'import glob, os, nvidia; print(":".join(sorted(glob.glob(os.path.join(nvidia.__path__[0], "*", "lib")))))' 2>/dev/null)
    [ -n "$wheel_libs" ] && GC_LIBS=${GC_LIBS:+$GC_LIBS:}$wheel_libs
  fi
  {
    echo "mode: $mode, sizes: $size, build: $GC_BUILD, work: $GC_WORK"
    echo "checkout: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  } >>"$GC_WORK/env.txt"
  "$GC_PY" -c "import torch, safetensors, numpy" 2>/dev/null ||
    echo "PyTorch (with numpy and safetensors) is not importable by $GC_PY: every comparison with it fails" >>"$GC_WORK/notes.txt"
  # The paper-size convolutions leave up to 6 GB of outputs for PyTorch to read.
  local free_gb
  free_gb=$(df -Pk "$GC_WORK" | awk 'NR == 2 {print int($4 / 1048576)}')
  if [ "$size" = paper ] && [ "${free_gb:-0}" -lt 8 ]; then
    echo "only ${free_gb} GB free in $GC_WORK; the convolution step needs about 6 GB (give --work on a larger disk)" \
      >>"$GC_WORK/notes.txt"
  fi
}

run_all() {
  run_step env 60 env
  cat "$GC_WORK/logs/env.log" >>"$GC_WORK/env.txt"
  run_step build 300 build
  run_step libs 60 libs
  run_step ctest 240 ctest
  run_step memcheck 90 sanitizer memcheck
  run_step racecheck 90 sanitizer racecheck
  run_step bigsum 120 bigsum
  run_step conv 150 conv && run_step conv_torch 200 conv_torch
  run_step igemm 90 igemm
  # unet_cl: the U-Net channels-last (segment.memory_format), float32 only; its time next to
  # unet's decides whether "auto" should choose channels-last on GPUs too.
  for net in unet pix2pix spade wgan unet_cl; do
    run_step "steps_$net" 120 steps "$net" && run_step "steps_${net}_torch" 120 steps_torch "$net"
  done
  # Mixed precision after float32, so that a spent budget costs these rows first.
  for precision in bf16 fp16; do
    for net in unet pix2pix spade wgan; do
      run_step "steps_${net}_$precision" 90 steps "$net:$precision" &&
        run_step "steps_${net}_${precision}_torch" 90 steps_torch "$net:$precision"
    done
  done
  rm -rf "$GC_WORK/data"
}

main() {
  local report=gpu_check_report.md build="" size="" budget=570 work="" mode=real bundle="" python=""
  while [ $# -gt 0 ]; do
    case $1 in
      --report) report=$2; shift ;;
      --build-dir) build=$2; shift ;;
      --size) size=$2; shift ;;
      --budget) budget=$2; shift ;;
      --work) work=$2; shift ;;
      --python) python=$2; shift ;;
      --dry-run) mode=dry-run ;;
      --bundle) bundle=$2; shift ;;
      -h | --help) usage; return 0 ;;
      *) echo "gpu_check.sh: unknown argument '$1'" >&2; usage >&2; return 2 ;;
    esac
    shift
  done
  # Paths given are the caller's; the defaults (build/, build-gpu/) are in the checkout.
  if [ -n "$build" ]; then
    build=$(from_caller "$build")
  elif [ -n "$bundle" ]; then
    build=$(realpath -m build-gpu)
  else
    build=$(realpath -m build)
  fi
  if [ -n "$bundle" ]; then
    make_bundle "$(from_caller "$bundle")" "$build"
    return
  fi
  case ${size:=$([ $mode = dry-run ] && echo tiny || echo paper)} in paper | small | tiny) ;; *)
    echo "gpu_check.sh: --size must be paper, small or tiny" >&2; return 2 ;; esac
  [[ $budget =~ ^[0-9]+$ ]] || { echo "gpu_check.sh: --budget must be whole seconds" >&2; return 2; }
  report=$(from_caller "$report")
  work=$(from_caller "${work:-$(mktemp -d "${TMPDIR:-/tmp}/penumbra-gpu-check.XXXXXX")}")
  prepare "$mode" "$size" "$budget" "$work" "$build" "$python" || return $?
  echo "gpu_check.sh: $mode, sizes $size, budget ${budget}s, work folder $GC_WORK" >&2
  run_all
  local py=python3
  command -v python3 >/dev/null || py=$GC_PY
  "$py" tools/gpu_check/report.py --work "$GC_WORK" --out "$report" --mode "$mode" --size "$size" --budget "$budget"
}

from_caller() { (cd "$caller" && realpath -m "$1"); }

if [ "${1:-}" = --step ]; then
  shift
  fn=$1
  shift
  "step_$fn" "$@"
  exit $?
fi
main "$@"
