#include "train_flags.h"

#include <sys/stat.h>

#include <sstream>

#include "cli.h"

namespace loom::cli {

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string base_name(const std::string& p) {
  const size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

nn::Decay decay_of(const std::string& s) {
  if (s == "cosine") return nn::Decay::Cosine;
  if (s == "linear") return nn::Decay::Linear;
  if (s == "constant") return nn::Decay::Constant;
  throw UsageError{"flag --decay: expected cosine, linear or constant, got '" + s + "'"};
}

}  // namespace loom::cli
