#!/usr/bin/env bash
# Installs the Debian packages Loom builds against, only those missing; safe to run again.
# README.md lists each package and why it is there.
set -euo pipefail
pkgs=(
  make                                  # the README's two commands (installed by hand first)
  cmake ninja-build g++ clang           # build; clang for the libFuzzer targets
  pkgconf                               # pkg-config: CMake finds PCRE2 through it
  libclang-rt-14-dev                    # clang's ASan/UBSan/libFuzzer runtimes
  libomp-14-dev                         # clang's OpenMP (omp.h, libomp) for the sanitizer build
  libopenblas-dev                       # f32 GEMM
  libdnnl-dev                           # bf16 and int8 GEMM (oneDNN)
  ocl-icd-opencl-dev                    # dnnl-config.cmake calls find_package(OpenCL); libdnnl-dev only recommends it
  libpcre2-dev                          # tokenizer split patterns (Unicode classes, lookahead), JIT
  libicu-dev                            # Unicode normalisation (NFC/NFKC/NFD), categories, case
  nlohmann-json3-dev                    # JSON: tokenizer.json, config.json, safetensors headers
  zlib1g-dev                            # deflate for loom train's loss-curve PNG; index CRC-32
  libgtest-dev libbenchmark-dev         # tests and benchmarks
  python3 python3-numpy                 # CLI tests read JSON goldens and write .npy inputs
  bc bsdextrautils                      # `make run` prints ratios (bc) and tables (column)
  libopenmpi-dev openmpi-bin            # data-parallel training: `mpirun -np 2 loom train`
  libsqlite3-dev                        # the document store (collections, chunks, metadata), WAL mode
  libcpp-httplib-dev                    # the HTTP server (`loom serve`, apps/server)
  curl                                  # the server's CLI tests talk to it over HTTP
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  # A Debian installed with a root password has no sudo: say so instead of "sudo: command not found".
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo) to install them" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
