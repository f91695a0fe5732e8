#include "train_flags.h"

#include <sstream>

#include "cli.h"

namespace loom::cli {

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

nn::Schedule schedule_flags(const Args& a, double lr, int64_t warmup) {
  nn::Schedule s;
  s.lr = static_cast<float>(a.number("lr", lr));
  s.min_lr = static_cast<float>(a.number("min-lr", s.lr / 10));
  s.warmup = a.integer("warmup", warmup);
  s.decay = decay_of(a.str("decay", "cosine"));
  return s;
}

}  // namespace loom::cli
