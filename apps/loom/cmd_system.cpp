// `loom system`: what this build and machine offer (CPU features, GEMM backends, threads).
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "cli.h"
#include "core/gemm.h"

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  }
  return "unknown";
}

std::string simd_features() {
  std::string s;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) s += "avx2 ";
  if (__builtin_cpu_supports("fma")) s += "fma ";
  if (__builtin_cpu_supports("avx512f")) s += "avx512f ";
  if (__builtin_cpu_supports("avx512bw")) s += "avx512bw ";
  if (__builtin_cpu_supports("avx512vnni")) s += "avx512vnni ";
  if (!s.empty()) s.pop_back();
  return s;
}

int run_system(const loom::cli::Args& args) {
  std::string cpu = cpu_model(), simd = simd_features();
  unsigned hw = std::thread::hardware_concurrency();
  if (args.json()) {
    std::printf("{\"cpu\": %s, \"cores\": %u, \"simd\": %s, \"gemm\": %s}\n",
                loom::cli::json_quote(cpu).c_str(), hw, loom::cli::json_quote(simd).c_str(),
                loom::cli::json_quote(loom::gemm_backends()).c_str());
  } else {
    std::printf("cpu\t%s\ncores\t%u\nsimd\t%s\ngemm\t%s\n", cpu.c_str(), hw, simd.c_str(),
                loom::gemm_backends().c_str());
  }
  return 0;
}

}  // namespace

LOOM_COMMAND("system", "show the CPU, its SIMD features and the GEMM backends in use", {}, run_system);
