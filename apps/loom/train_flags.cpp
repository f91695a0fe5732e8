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

void train_mode_flags(const Args& a, train::TrainMode& mode,
                      std::optional<train::LoraOptions>& lora) {
  mode = train::parse_train_mode(a.str("train", "all"));
  if (mode.lora) {
    train::LoraOptions l;
    l.rank = a.integer("lora-rank", 8);
    if (l.rank <= 0) throw UsageError{"flag --lora-rank: expected > 0"};
    if (a.has("lora-alpha")) l.alpha = static_cast<float>(a.number("lora-alpha", 0));
    l.targets = split_commas(a.str("lora-targets"));
    lora = l;
  } else if (a.has("lora-rank") || a.has("lora-alpha") || a.has("lora-targets")) {
    throw UsageError{"--lora-* flags need --train lora or new-embeddings,lora"};
  }
}

void train_config_flags(const Args& a, train::TrainConfig& tc, int64_t batch, double lr,
                        int64_t warmup, double wd) {
  tc.batch = a.integer("batch", batch);
  tc.grad_accum = a.integer("accum", 1);
  tc.schedule = schedule_flags(a, lr, warmup);
  tc.adamw.weight_decay = static_cast<float>(a.number("wd", wd));
  tc.clip = static_cast<float>(a.number("clip", 1.0));
  tc.seed = static_cast<uint64_t>(a.integer("seed", 1));
  tc.compute = a.flag("bf16") ? nn::Compute::BF16 : nn::Compute::F32;
}

}  // namespace loom::cli
