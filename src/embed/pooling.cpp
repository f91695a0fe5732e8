#include "embed/pooling.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/kernels.h"

namespace loom::embed {

std::string EmbedConfig::to_json() const {
  auto b = [](bool v) { return v ? "true" : "false"; };
  std::string s = "{\n";
  s += std::string("  \"pooling_mode_cls_token\": ") + b(pooling == Pooling::Cls) + ",\n";
  s += std::string("  \"pooling_mode_mean_tokens\": ") + b(pooling == Pooling::Mean) + ",\n";
  s += std::string("  \"pooling_mode_lasttoken\": ") + b(pooling == Pooling::Last) + ",\n";
  s += std::string("  \"pooling_mode_weightedmean_tokens\": ") +
       b(pooling == Pooling::WeightedMean) + ",\n";
  s += std::string("  \"normalize\": ") + b(normalize) + ",\n";
  s += "  \"truncate_dim\": " + std::to_string(dims) + "\n}\n";
  return s;
}

EmbedConfig EmbedConfig::from_json(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(source + ": not valid JSON at byte " + std::to_string(e.byte) +
                ": expected a pooling config object");
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": invalid JSON value (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  auto boolean = [&](const char* key, bool def) {
    auto it = j.find(key);
    if (it == j.end()) return def;
    if (!it->is_boolean()) throw Error(source + ": field \"" + key + "\": expected true or false");
    return it->get<bool>();
  };
  EmbedConfig c;
  int chosen = 0;
  const std::pair<const char*, Pooling> modes[] = {
      {"pooling_mode_cls_token", Pooling::Cls},
      {"pooling_mode_mean_tokens", Pooling::Mean},
      {"pooling_mode_lasttoken", Pooling::Last},
      {"pooling_mode_weightedmean_tokens", Pooling::WeightedMean}};
  for (const auto& [key, p] : modes) {
    if (boolean(key, false)) {
      c.pooling = p;
      ++chosen;
    }
  }
  for (const char* unsupported : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"}) {
    if (boolean(unsupported, false))
      throw Error(source + ": field \"" + std::string(unsupported) +
                  "\": this pooling is not supported");
  }
  if (chosen > 1)
    throw Error(source + ": more than one pooling_mode_* is true; Loom pools one way");
  c.normalize = boolean("normalize", true);
  if (auto it = j.find("truncate_dim"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      throw Error(source + ": field \"truncate_dim\": expected an integer >= 0");
    }
    c.dims = it->get<int64_t>();
  }
  return c;
}

void l2_normalize(float* x, int64_t d) {
  float n = std::sqrt(dot(x, x, d));
  if (n > 0) scale(x, 1.0f / n, d);
}

int64_t finish(const EmbedConfig& cfg, float* x, int64_t d) {
  int64_t m = cfg.dims > 0 && cfg.dims < d ? cfg.dims : d;
  if (cfg.normalize) l2_normalize(x, m);
  return m;
}

}  // namespace loom::embed
