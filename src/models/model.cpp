#include "models/model.h"

#include <algorithm>
#include <cstring>

#include "models/infer_ops.h"
#include "models/loader_util.h"

namespace loom::models {

Model::Model(const Architecture& arch, DecoderConfig cfg, io::TensorMap weights)
    : arch_(arch), cfg_(std::move(cfg)), weights_(std::move(weights)) {
  bind();
}

// Every tensor of the spec, in inference layout: (out, in) matrices of any dtype the kernels read
// (Hugging Face's (in, out) Conv1D weights become transposed f32 copies), f32 vectors.
void Model::bind() {
  const bool hf = has_hf_names(arch_, weights_);
  detail::WeightFetcher f(weights_);
  const auto& specs = arch_.tensors();
  bound_.resize(specs.size());
  for (size_t r = 0; r < specs.size(); ++r) {
    const TensorSpec& t = specs[r];
    const int64_t layers = layer_count(t, cfg_);
    bound_[r].resize(static_cast<size_t>(layers));
    const Shape hs = t.hf_shape(cfg_);
    for (int64_t l = 0; l < layers; ++l) {
      const Tensor* found = find_tensor(weights_, t, l, hf);
      const std::string name = tensor_name(t, l, hf);
      if (found == nullptr) {
        if (t.optional) continue;
        weights_.get(name);  // throws: missing tensor, named
      }
      // find_tensor may have matched the name without its base-model prefix.
      const std::string real = hf ? detail::stored_name(weights_, name) : name;
      TensorView& v = bound_[r][static_cast<size_t>(l)];
      if (t.kind == TensorKind::Vector) {
        v = f.vector(real, hs.numel());
      } else if (hf && t.hf_in_out) {
        v = f.transposed(real, hs[0], hs[1]);
      } else {
        v = f.matrix(real, t.hf_in_out ? Shape({hs[1], hs[0]}) : hs);  // GGUF: (out, in)
      }
    }
  }
  owned_ = f.take_owned();
}

size_t Model::weight_bytes() const {
  size_t b = 0;
  const auto& specs = arch_.tensors();
  for (size_t r = 0; r < specs.size(); ++r)
    if (specs[r].per_layer && specs[r].kind == TensorKind::Matrix)
      for (const TensorView& v : bound_[r]) b += v.nbytes();
  const TensorView& head = cfg_.tied_head ? bound_[0][0] : bound(Wt{arch_.role("output"), 0});
  return b + head.nbytes();
}

Session::Session(const LanguageModel& model, int64_t capacity, int64_t chunk) : model_(&model) {
  const DecoderConfig& c = model.config();
  capacity_ = capacity > 0 ? std::min(capacity, c.context_length) : c.context_length;
  chunk_ = std::max<int64_t>(1, std::min(chunk, capacity_));
  // An encoder-decoder's decoder may have more blocks than its encoder.
  for (int64_t l = 0; l < std::max(c.n_layers, c.n_decoder_layers); ++l)
    caches_.emplace_back(1, c.n_kv_heads, capacity_, c.head_dim, c.head_dim);
}

void Session::rewind(int64_t n) {
  LOOM_ASSERT(n >= 0 && n <= pos_, "rewind beyond the current position");
  pos_ = n;
  for (auto& c : caches_) c.set_length(n);
}

void Session::copy_from(const Session& other) {
  LOOM_ASSERT(other.model_ == model_ && other.capacity_ == capacity_, "sessions differ");
  const DecoderConfig& c = model_->config();
  for (size_t l = 0; l < caches_.size(); ++l) {
    for (int64_t g = 0; g < c.n_kv_heads; ++g) {
      std::memcpy(caches_[l].k_at(0, g, 0), other.caches_[l].k_at(0, g, 0),
                  sizeof(float) * other.pos_ * c.head_dim);
      std::memcpy(caches_[l].v_at(0, g, 0), other.caches_[l].v_at(0, g, 0),
                  sizeof(float) * other.pos_ * c.head_dim);
    }
    caches_[l].set_length(other.pos_);
  }
  pos_ = other.pos_;
  logits_ = other.logits_;
  memory_ = other.memory_;
}

int64_t Session::kv_floats(int64_t n) const {
  const DecoderConfig& c = model_->config();
  return static_cast<int64_t>(caches_.size()) * 2 * c.n_kv_heads * n * c.head_dim;
}

namespace {

// fn(cache row pointer, floats) for every (layer, keys then values, kv head) run of positions
// [from, to): the order of Session::read_kv's rows.
template <typename F>
void for_each_kv_run(const std::vector<AttentionCache>& caches, int64_t kv_heads, int64_t head_dim,
                     int64_t from, int64_t to, F&& fn) {
  for (const AttentionCache& c : caches) {
    for (int64_t g = 0; g < kv_heads; ++g) fn(c.k_at(0, g, from), (to - from) * head_dim);
    for (int64_t g = 0; g < kv_heads; ++g) fn(c.v_at(0, g, from), (to - from) * head_dim);
  }
}

}  // namespace

void Session::read_kv(int64_t from, int64_t to, std::vector<float>& out) const {
  LOOM_ASSERT(0 <= from && from <= to && to <= pos_, "read_kv beyond the session's position");
  const DecoderConfig& c = model_->config();
  for_each_kv_run(caches_, c.n_kv_heads, c.head_dim, from, to,
                  [&](const float* p, int64_t n) { out.insert(out.end(), p, p + n); });
}

void Session::write_kv(int64_t from, int64_t to, const float* rows) {
  LOOM_ASSERT(0 <= from && from <= pos_ && from <= to && to <= capacity_,
              "write_kv beyond the session's position or capacity");
  LOOM_ASSERT(memory_ == nullptr, "write_kv into an encoder-decoder's session");
  const DecoderConfig& c = model_->config();
  for_each_kv_run(caches_, c.n_kv_heads, c.head_dim, from, to, [&](float* p, int64_t n) {
    std::memcpy(p, rows, sizeof(float) * n);
    rows += n;
  });
  pos_ = to;
  for (auto& cache : caches_) cache.set_length(to);
}

const float* LanguageModel::hidden_states(const Session& s) { return s.hidden_.data(); }

namespace {

// " (config.json max_position_embeddings)": the field that sets a model's context, when the
// session's capacity is the model's own.
std::string context_field(const Architecture& a, bool models_own) {
  if (!models_own) return "";
  for (const HParam& p : a.hparams())
    if (p.i == &DecoderConfig::context_length && p.hf_key)
      return std::string(" (config.json ") + p.hf_key + ")";
  return "";
}

}  // namespace

void Model::check_room(const Session& s, int64_t n) const {
  LOOM_ASSERT(s.model_ == this, "session of another model");
  if (n <= 0) throw Error("forward: no tokens to process");
  if (s.pos_ + n > s.capacity_) {
    throw Error(weights_.source() + ": sequence of " + std::to_string(s.pos_ + n) +
                " tokens exceeds the context of " + std::to_string(s.capacity_) + " positions" +
                context_field(arch_, s.capacity_ == cfg_.context_length));
  }
  if (!arch_.causal() && (s.pos_ != 0 || n > s.chunk_))
    throw Error(cfg_.arch + " is a bidirectional encoder: it runs whole sequences of up to " +
                std::to_string(s.chunk_) + " tokens from position 0, not token by token");
}

void Model::forward_hidden(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n) const {
  check_room(s, n);
  for (int64_t i = 0; i < n; i += s.chunk_) {
    forward_chunk(s, pool, tokens + i, std::min(s.chunk_, n - i), /*all_logits=*/true, nullptr);
  }
}

void Model::forward(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
                    bool all_logits) const {
  check_room(s, n);
  const int64_t V = cfg_.vocab_size;
  s.logits_.resize(static_cast<size_t>((all_logits ? n : 1) * V));
  for (int64_t i = 0; i < n; i += s.chunk_) {
    const int64_t m = std::min(s.chunk_, n - i);
    const bool last = i + m == n;
    float* out = all_logits ? s.logits_.data() + i * V : (last ? s.logits_.data() : nullptr);
    forward_chunk(s, pool, tokens + i, m, all_logits, out);
  }
}

void LanguageModel::encode_source(Session&, ThreadPool&, const int32_t*, int64_t) const {
  throw Error(architecture_name() + " is not an encoder-decoder: it has no source to encode");
}

void Model::encode_source(Session& s, ThreadPool& pool, const int32_t* source, int64_t n) const {
  LOOM_ASSERT(s.model_ == this, "session of another model");
  if (!arch_.encoder_decoder()) LanguageModel::encode_source(s, pool, source, n);
  if (n <= 0) throw Error("encode: the source has no tokens");
  if (n > cfg_.context_length) {
    throw Error(weights_.source() + ": source of " + std::to_string(n) +
                " tokens exceeds the context of " + std::to_string(cfg_.context_length) +
                " positions" + context_field(arch_, true));
  }
  Session enc(*this, n, n);
  InferOps ops(*this, enc, pool, source, n, /*all_rows=*/true);
  const Act h = arch_.encoded(ops, cfg_);
  auto m = std::make_shared<EncoderMemory>();
  m->rows = n;
  m->out.assign(ops.data(h), ops.data(h) + n * cfg_.dim);
  m->cross.resize(static_cast<size_t>(cfg_.n_decoder_layers));
  s.reset();
  s.memory_ = std::move(m);
}

void Model::forward_chunk(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
                          bool all_logits, float* logits_out) const {
  InferOps ops(*this, s, pool, tokens, n, all_logits);
  Act h;
  if (arch_.encoder_decoder()) {
    if (!s.memory_)
      throw Error(cfg_.arch + " is an encoder-decoder: encode a source before decoding");
    h = arch_.decoded(ops, cfg_, ops.encoder_output());
  } else {
    h = arch_.hidden(ops, cfg_);
  }
  s.pos_ += n;
  const int64_t rows = ops.rows(h);
  s.hidden_.resize(static_cast<size_t>(rows * cfg_.dim));
  std::memcpy(s.hidden_.data(), ops.data(h), sizeof(float) * rows * cfg_.dim);
  s.hidden_rows_ = rows;
  if (logits_out == nullptr) return;
  // A decoder's head is one linear, written straight into the session's logits; an encoder's
  // MLM head and an encoder-decoder's (T5 scales first) may have several ops, so theirs is copied.
  if (!arch_.causal() || arch_.encoder_decoder()) {
    const Act lg = arch_.logits(ops, cfg_, h);
    std::memcpy(logits_out, ops.data(lg), sizeof(float) * ops.rows(lg) * cfg_.vocab_size);
    return;
  }
  ops.write_next_to(logits_out);
  const Act lg = arch_.logits(ops, cfg_, h);
  LOOM_ASSERT(ops.data(lg) == logits_out, "the logits are the head's output");
}

void Model::forward_batch(Session* const* sessions, int64_t B, ThreadPool& pool,
                          const int32_t* tokens, float* logits) const {
  if (B <= 0) throw Error("forward_batch: no sequences to advance");
  if (!arch_.causal() || arch_.encoder_decoder())
    throw Error(cfg_.arch + ": batched decode needs a decoder-only causal model");
  for (int64_t i = 0; i < B; ++i) {
    check_room(*sessions[i], 1);
    for (int64_t j = 0; j < i; ++j) LOOM_ASSERT(sessions[i] != sessions[j], "a session twice");
  }
  InferOps ops(*this, sessions, B, pool, tokens);
  const Act h = arch_.hidden(ops, cfg_);
  for (int64_t i = 0; i < B; ++i) sessions[i]->pos_ += 1;
  ops.write_next_to(logits);
  const Act lg = arch_.logits(ops, cfg_, h);
  LOOM_ASSERT(ops.data(lg) == logits, "the logits are the head's output");
}

std::vector<float> Model::pooled(ThreadPool& pool, const int32_t* tokens, int64_t n) const {
  Session s(*this, n, n);
  check_room(s, n);
  InferOps ops(*this, s, pool, tokens, n, /*all_rows=*/true);
  const Act p = arch_.pooled(ops, cfg_, arch_.hidden(ops, cfg_));
  const float* d = ops.data(p);
  return std::vector<float>(d, d + cfg_.dim);
}

void Encoder::encode(ThreadPool& pool, const int32_t* tokens, int64_t n, float* hidden) const {
  if (n > context_length()) {
    const Architecture* a = find_architecture(architecture_name());
    throw Error(weights().source() + ": input of " + std::to_string(n) +
                " tokens exceeds the context of " + std::to_string(context_length()) +
                " positions" + (a ? context_field(*a, true) : ""));
  }
  std::unique_ptr<State> s = new_state(n);
  std::memcpy(hidden, encode(*s, pool, tokens, n), sizeof(float) * n * hidden_size());
}

namespace {

struct EncodeState final : Encoder::State {
  EncodeState(const LanguageModel& m, int64_t max_tokens) : session(m, max_tokens, max_tokens) {}
  Session session;
};

}  // namespace

std::unique_ptr<Encoder::State> Model::new_state(int64_t max_tokens) const {
  LOOM_ASSERT(max_tokens >= 1 && max_tokens <= cfg_.context_length,
              "encoder state of 1..context_length tokens");
  return std::make_unique<EncodeState>(*this, max_tokens);
}

const float* Model::encode(State& state, ThreadPool& pool, const int32_t* tokens, int64_t n) const {
  auto* es = dynamic_cast<EncodeState*>(&state);
  LOOM_ASSERT(es != nullptr && es->session.model_ == this, "encoder state of another model");
  es->session.reset();
  forward_hidden(es->session, pool, tokens, n);
  return hidden_states(es->session);
}

std::shared_ptr<const Model> build_model(io::TensorMap weights) {
  const Architecture& arch = architecture_of(weights);
  DecoderConfig cfg = read_config(arch, weights);
  return std::make_shared<const Model>(arch, std::move(cfg), std::move(weights));
}

std::shared_ptr<const Model> load_model(const std::string& path) {
  return build_model(io::read_model_file(path));
}

}  // namespace loom::models
