#include "models/transformer.h"

#include <algorithm>
#include <cstring>

#include "core/kernels.h"

namespace loom::models {

std::string TransformerConfig::describe() const {
  return arch + " dim=" + std::to_string(dim) + " layers=" + std::to_string(n_layers) +
         " heads=" + std::to_string(n_heads) + "/" + std::to_string(n_kv_heads) +
         " hidden=" + std::to_string(hidden_dim) + " vocab=" + std::to_string(vocab_size) +
         " ctx=" + std::to_string(context_length);
}

Model::Model(TransformerConfig cfg, io::TensorMap weights, std::vector<Tensor> owned,
             TensorView token_embd, TensorView pos_embd, std::vector<LayerWeights> layers,
             Norm final_norm, TensorView head, TensorView head_bias)
    : cfg_(std::move(cfg)),
      weights_(std::move(weights)),
      owned_(std::move(owned)),
      token_embd_(token_embd),
      pos_embd_(pos_embd),
      layers_(std::move(layers)),
      final_norm_(final_norm),
      head_(head),
      head_bias_(head_bias) {}

size_t Model::weight_bytes() const {
  size_t b = head_.nbytes();
  for (const auto& l : layers_) {
    b += l.wq.nbytes() + l.wk.nbytes() + l.wv.nbytes() + l.wo.nbytes();
    b += l.ffn.up.nbytes() + l.ffn.down.nbytes() + (l.ffn.gate.empty() ? 0 : l.ffn.gate.nbytes());
  }
  return b;
}

Session::Session(const Model& model, int64_t capacity, int64_t chunk) : model_(&model) {
  const auto& c = model.config();
  capacity_ = capacity > 0 ? std::min(capacity, c.context_length) : c.context_length;
  chunk_ = std::max<int64_t>(1, std::min(chunk, capacity_));
  for (int64_t l = 0; l < c.n_layers; ++l)
    caches_.emplace_back(1, c.n_kv_heads, capacity_, c.head_dim, c.head_dim);
}

void Session::rewind(int64_t n) {
  LOOM_ASSERT(n >= 0 && n <= pos_, "rewind beyond the current position");
  pos_ = n;
  for (auto& c : caches_) c.set_length(n);
}

void Session::copy_from(const Session& other) {
  LOOM_ASSERT(other.model_ == model_ && other.capacity_ == capacity_, "sessions differ");
  const auto& c = model_->config();
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
}

const float* Model::hidden_states(const Session& s) { return s.hidden_.data(); }

void Model::check_room(const Session& s, int64_t n) const {
  LOOM_ASSERT(s.model_ == this, "session of another model");
  if (n <= 0) throw Error("forward: no tokens to process");
  if (s.pos_ + n > s.capacity_) {
    throw Error("sequence of " + std::to_string(s.pos_ + n) + " tokens exceeds the context of " +
                std::to_string(s.capacity_) + " positions");
  }
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

void Model::forward_chunk(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
                          bool all_logits, float* logits_out) const {
  const auto& c = cfg_;
  const int64_t d = c.dim, hd = c.head_dim, qd = c.n_heads * hd, kvd = c.n_kv_heads * hd;
  const int64_t pos0 = s.pos_;
  auto grow = [](std::vector<float>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(static_cast<size_t>(size));
  };
  grow(s.x_, n * d);
  grow(s.h_, n * d);
  grow(s.q_, n * qd);
  grow(s.k_, n * kvd);
  grow(s.v_, n * kvd);
  grow(s.o_, n * qd);
  grow(s.ffn_, 2 * n * c.hidden_dim);
  float *x = s.x_.data(), *h = s.h_.data();

  embed_tokens(token_embd_, tokens, n, x);
  if (c.learned_positions) add_positions(pos_embd_, pos0, n, x);
  AttentionDims dims{c.n_heads, c.n_kv_heads, hd, hd, 0};
  auto bias = [](const TensorView& b) { return b.empty() ? nullptr : b.as<float>(); };

  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = layers_[static_cast<size_t>(l)];
    AttentionCache& cache = s.caches_[static_cast<size_t>(l)];
    const float* in = x;
    if (c.pre_norm) {
      w.attn_norm.apply(x, h, n);
      in = h;
    }
    if (n == 1) {  // decode: one pass over the pool for q, k and v
      linear_many(pool, in, {w.wq, w.wk, w.wv}, {s.q_.data(), s.k_.data(), s.v_.data()});
      if (!w.bq.empty()) add(s.q_.data(), w.bq.as<float>(), s.q_.data(), qd);
      if (!w.bk.empty()) add(s.k_.data(), w.bk.as<float>(), s.k_.data(), kvd);
      if (!w.bv.empty()) add(s.v_.data(), w.bv.as<float>(), s.v_.data(), kvd);
    } else {
      linear(pool, in, n, w.wq, bias(w.bq), s.q_.data());
      linear(pool, in, n, w.wk, bias(w.bk), s.k_.data());
      linear(pool, in, n, w.wv, bias(w.bv), s.v_.data());
    }
    if (c.use_rope) {
      c.rope.apply(s.q_.data(), n, qd, c.n_heads, pos0);
      c.rope.apply(s.k_.data(), n, kvd, c.n_kv_heads, pos0);
    }
    cache.write(0, pos0, s.k_.data(), s.v_.data(), n);
    cache.set_length(pos0 + n);
    KeyValues kv{cache.k_at(0, 0, 0), cache.v_at(0, 0, 0), cache.head_stride_k(),
                 cache.head_stride_v(), pos0 + n};
    attend(pool, dims, s.q_.data(), n, qd, kv, pos0, nullptr, 0, s.o_.data(), qd);
    linear(pool, s.o_.data(), n, w.wo, bias(w.bo), h);
    add(x, h, x, n * d);
    if (!c.pre_norm) w.attn_norm.apply(x, x, n);

    in = x;
    if (c.pre_norm) {
      w.ffn_norm.apply(x, h, n);
      in = h;
    }
    // The FFN output goes to q_'s buffer when it is large enough, else a fresh one.
    std::vector<float> tmp;
    float* f = nullptr;
    if (qd >= d) {
      f = s.o_.data();
    } else {
      tmp.resize(static_cast<size_t>(n * d));
      f = tmp.data();
    }
    w.ffn.forward(pool, in, n, f, s.ffn_.data());
    add(x, f, x, n * d);
    if (!c.pre_norm) w.ffn_norm.apply(x, x, n);
  }
  s.pos_ = pos0 + n;

  const int64_t rows = all_logits ? n : 1;
  const float* last = x + (n - rows) * d;
  s.hidden_.resize(static_cast<size_t>(rows * d));
  if (c.pre_norm) {
    final_norm_.apply(last, s.hidden_.data(), rows);
  } else {
    std::memcpy(s.hidden_.data(), last, sizeof(float) * rows * d);
  }
  s.hidden_rows_ = rows;
  if (logits_out != nullptr)
    linear(pool, s.hidden_.data(), rows, head_, bias(head_bias_), logits_out);
}

std::shared_ptr<const Model> build_model(io::TensorMap weights) {
  std::string arch = weights.meta_string("general.architecture");
  if (arch.empty()) {
    if (const io::MetaValue* a = weights.find_meta("config.architectures")) {
      if (a->kind == io::MetaValue::Kind::Array && !a->array.empty()) arch = a->array[0].s;
    }
    if (arch.empty()) arch = weights.meta_string("config.model_type");
  }
  if (arch == "llama" || arch == "LlamaForCausalLM") return build_llama(std::move(weights));
  if (arch == "gpt2" || arch == "GPT2LMHeadModel") return build_gpt2(std::move(weights));
  weights.fail("unknown architecture '" + arch +
               "' (expected llama / LlamaForCausalLM or gpt2 / GPT2LMHeadModel)");
}

std::shared_ptr<const Model> load_model(const std::string& path) {
  return build_model(io::read_model_file(path));
}

}  // namespace loom::models
