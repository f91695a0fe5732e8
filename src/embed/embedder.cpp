#include "embed/embedder.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "models/model.h"

namespace loom::embed {

Embedder::Embedder(std::shared_ptr<const models::Encoder> model, EncodeFn encode,
                   EmbedConfig config, int64_t max_tokens)
    : model_(std::move(model)), encode_(std::move(encode)), config_(config) {
  LOOM_ASSERT(model_ != nullptr && encode_, "embedder needs a model and a tokenizer");
  const int64_t ctx = model_->context_length();
  if (max_tokens < 0 || max_tokens > ctx) {
    throw Error("max tokens " + std::to_string(max_tokens) + ": expected 1.." +
                std::to_string(ctx) + " (the model's context length) or 0 for all of it");
  }
  max_tokens_ = max_tokens > 0 ? max_tokens : ctx;
  if (config_.dims < 0) throw Error("embedding dims must be >= 0");
}

int64_t Embedder::model_dim() const { return model_->hidden_size(); }

int64_t Embedder::dim() const {
  const int64_t d = model_dim();
  return config_.dims > 0 && config_.dims < d ? config_.dims : d;
}

std::vector<int32_t> Embedder::tokens(std::string_view text, bool* truncated) const {
  std::vector<int32_t> ids = encode_(text);
  const bool cut = static_cast<int64_t>(ids.size()) > max_tokens_;
  if (cut) ids.resize(static_cast<size_t>(max_tokens_));
  if (truncated) *truncated = cut;
  return ids;
}

EmbedStats Embedder::embed(std::span<const std::string> texts, ThreadPool& pool, float* out,
                           const std::function<void(int64_t)>& progress) const {
  const int64_t n = static_cast<int64_t>(texts.size());
  const int64_t d = model_dim(), od = dim();
  std::atomic<int64_t> next{0}, done{0}, n_tokens{0}, truncated{0}, empty{0};
  std::mutex progress_mu;
  const int64_t workers = std::min<int64_t>(pool.size(), std::max<int64_t>(n, 1));
  pool.run(workers, [&](int64_t) {
    ThreadPool one(1);  // the model pass of one text runs on this worker alone
    const std::unique_ptr<models::Encoder::State> state = model_->new_state(max_tokens_);
    std::vector<float> pooled(static_cast<size_t>(d));
    for (int64_t i = next++; i < n; i = next++) {
      bool cut = false;
      std::vector<int32_t> ids = tokens(texts[static_cast<size_t>(i)], &cut);
      float* row = out + i * od;
      if (ids.empty()) {
        std::memset(row, 0, sizeof(float) * static_cast<size_t>(od));
        ++empty;
      } else {
        const int64_t t = static_cast<int64_t>(ids.size());
        // hidden (t, d) -> pooled (d) -> row (od)
        const float* hidden = model_->encode(*state, one, ids.data(), t);
        loom::pool_rows(hidden, t, d, config_.pooling, pooled.data());
        finish(config_, pooled.data(), d);
        std::memcpy(row, pooled.data(), sizeof(float) * static_cast<size_t>(od));
        n_tokens += t;
        truncated += cut ? 1 : 0;
      }
      const int64_t finished = ++done;
      if (progress) {
        std::lock_guard<std::mutex> lock(progress_mu);
        progress(finished);
      }
    }
  });
  EmbedStats s;
  s.texts = n;
  s.tokens = n_tokens;
  s.truncated = truncated;
  s.empty = empty;
  return s;
}

std::vector<float> Embedder::embed(std::span<const std::string> texts, ThreadPool& pool,
                                   EmbedStats* stats) const {
  std::vector<float> out(texts.size() * static_cast<size_t>(dim()));
  EmbedStats s = embed(texts, pool, out.data());
  if (stats) *stats = s;
  return out;
}

namespace {

// ids (n > 0) -> row (od): windows of at most max_tokens pooled, averaged by token count, finished.
void embed_windows(const models::Encoder& model, models::Encoder::State& state, ThreadPool& one,
                   const EmbedConfig& cfg, std::span<const int32_t> ids, int64_t max_tokens,
                   std::vector<float>& pooled, std::vector<float>& acc, float* row) {
  const int64_t d = static_cast<int64_t>(pooled.size()), n = static_cast<int64_t>(ids.size());
  std::fill(acc.begin(), acc.end(), 0.0f);
  for (int64_t b = 0; b < n; b += max_tokens) {
    const int64_t t = std::min(max_tokens, n - b);
    const float* hidden = model.encode(state, one, ids.data() + b, t);  // (t, d)
    loom::pool_rows(hidden, t, d, cfg.pooling, pooled.data());
    const float w = static_cast<float>(t) / static_cast<float>(n);
    for (int64_t j = 0; j < d; ++j)
      acc[static_cast<size_t>(j)] += w * pooled[static_cast<size_t>(j)];
  }
  finish(cfg, acc.data(), d);
  const int64_t od = cfg.dims > 0 && cfg.dims < d ? cfg.dims : d;
  std::memcpy(row, acc.data(), sizeof(float) * static_cast<size_t>(od));
}

}  // namespace

EmbedStats Embedder::embed_tokens(std::span<const std::vector<int32_t>> inputs, ThreadPool& pool,
                                  float* out, bool chunk) const {
  const int64_t n = static_cast<int64_t>(inputs.size()), d = model_dim(), od = dim();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = static_cast<int64_t>(inputs[static_cast<size_t>(i)].size());
    if (t > max_tokens_ && !chunk) {
      throw Error("input " + std::to_string(i) + ": " + std::to_string(t) +
                  " tokens exceed the model's window of " + std::to_string(max_tokens_) +
                  " tokens");
    }
  }
  std::atomic<int64_t> next{0}, n_tokens{0}, empty{0};
  const int64_t workers = std::min<int64_t>(pool.size(), std::max<int64_t>(n, 1));
  pool.run(workers, [&](int64_t) {
    ThreadPool one(1);  // as in embed(): one text's pass on this worker alone
    const std::unique_ptr<models::Encoder::State> state = model_->new_state(max_tokens_);
    std::vector<float> pooled(static_cast<size_t>(d)), acc(static_cast<size_t>(d));
    for (int64_t i = next++; i < n; i = next++) {
      const std::vector<int32_t>& ids = inputs[static_cast<size_t>(i)];
      float* row = out + i * od;
      if (ids.empty()) {
        std::memset(row, 0, sizeof(float) * static_cast<size_t>(od));
        ++empty;
        continue;
      }
      embed_windows(*model_, *state, one, config_, ids, max_tokens_, pooled, acc, row);
      n_tokens += static_cast<int64_t>(ids.size());
    }
  });
  EmbedStats s;
  s.texts = n;
  s.tokens = n_tokens;
  s.empty = empty;
  return s;
}

namespace {

namespace fs = std::filesystem;

std::optional<EmbedConfig> sentence_transformers_config(const fs::path& dir) {
  const fs::path pooling = dir / "1_Pooling" / "config.json";
  if (!fs::is_regular_file(pooling)) return std::nullopt;
  const std::string text = read_file(pooling.string());
  EmbedConfig c = EmbedConfig::from_json(text, pooling.string());
  // sentence-transformers keeps normalisation out of the pooling config, as a Normalize module
  // listed in modules.json; Loom's own "normalize" key, when present, wins.
  bool explicit_normalize = false;
  try {
    auto j = nlohmann::json::parse(text);
    explicit_normalize = j.is_object() && j.contains("normalize");
  } catch (const nlohmann::json::exception&) {
  }
  const fs::path sbert = dir / "sentence_bert_config.json";
  if (fs::is_regular_file(sbert)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(sbert.string()));
    } catch (const nlohmann::json::exception& e) {
      throw Error(sbert.string() + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw Error(sbert.string() + ": expected a JSON object");
    if (auto it = j.find("max_seq_length"); it != j.end()) {
      if (!it->is_number_integer() || it->get<int64_t>() <= 0)
        throw Error(sbert.string() + ": field \"max_seq_length\": expected a positive integer");
      c.max_tokens = it->get<int64_t>();
    }
  }
  const fs::path modules = dir / "modules.json";
  if (!explicit_normalize) {
    c.normalize = false;
    if (fs::is_regular_file(modules)) {
      nlohmann::json m;
      try {
        m = nlohmann::json::parse(read_file(modules.string()));
      } catch (const nlohmann::json::exception& e) {
        throw Error(modules.string() + ": not valid JSON (" + e.what() +
                    "): expected a list of modules");
      }
      if (!m.is_array()) throw Error(modules.string() + ": expected a JSON list of modules");
      for (const auto& mod : m) {
        if (!mod.is_object()) throw Error(modules.string() + ": expected module objects");
        auto it = mod.find("type");
        if (it != mod.end() && it->is_string() &&
            it->get<std::string>().find("Normalize") != std::string::npos) {
          c.normalize = true;
        }
      }
    }
  }
  return c;
}

}  // namespace

std::optional<EmbedConfig> config_from_model(const std::string& model_path,
                                             const models::Encoder& model) {
  std::error_code ec;
  fs::path p(model_path);
  fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path();
  if (dir.empty()) dir = ".";
  if (auto c = sentence_transformers_config(dir)) return c;
  const io::TensorMap& w = model.weights();
  const std::string key = model.architecture_name() + ".pooling_type";
  if (w.format() == "gguf" && w.has_meta(key)) {
    const int64_t t = w.meta_int(key);
    EmbedConfig c;
    switch (t) {
      case 1:
        c.pooling = Pooling::Mean;
        break;
      case 2:
        c.pooling = Pooling::Cls;
        break;
      case 3:
        c.pooling = Pooling::Last;
        break;
      default:
        w.fail(key + " = " + std::to_string(t) +
               ": expected 1 (mean), 2 (cls) or 3 (last) for embeddings");
    }
    return c;
  }
  return std::nullopt;
}

void save_config(const std::string& dir, const EmbedConfig& cfg) {
  const fs::path sub = fs::path(dir) / "1_Pooling";
  std::error_code ec;
  fs::create_directories(sub, ec);
  if (ec) throw Error(sub.string() + ": cannot create the folder (" + ec.message() + ")");
  write_file_atomic((sub / "config.json").string(), cfg.to_json());
  if (cfg.max_tokens > 0) {
    write_file_atomic((fs::path(dir) / "sentence_bert_config.json").string(),
                      "{\n  \"max_seq_length\": " + std::to_string(cfg.max_tokens) +
                          ",\n  \"do_lower_case\": false\n}\n");
  }
}

}  // namespace loom::embed
