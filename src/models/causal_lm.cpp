#include "models/causal_lm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "models/tape_ops.h"

namespace loom::models {

namespace {

// "model.layers.{L}.self_attn.q_proj.weight" in layer l -> "model.layers.<l>.self_attn.q_proj".
std::string module_of(const TensorSpec& t, int64_t layer) {
  std::string n = tensor_name(t, layer, true);
  return n.substr(0, n.size() - 7);  // drop ".weight"
}

// Whether LoRA target `want` names tensor t: one of its LoRA names ("q", "o|attn_proj"), its
// module path inside a block ("self_attn.q_proj") or that path's last part ("q_proj").
bool lora_matches(const TensorSpec& t, const std::string& want) {
  if (t.lora == nullptr) return false;
  std::string names = t.lora;
  size_t start = 0;
  while (true) {
    const size_t bar = names.find('|', start);
    if (names.substr(start, bar - start) == want) return true;
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  std::string hf = t.hf;
  const size_t at = hf.find("{L}.");
  const std::string module = hf.substr(at + 4, hf.size() - at - 4 - 7);
  return want == module || want == module.substr(module.rfind('.') + 1);
}

std::string lora_names(const Architecture& a) {
  std::string out;
  for (const TensorSpec& t : a.tensors())
    if (t.lora) {
      std::string n = t.lora;
      out += (out.empty() ? "" : ", ") + n.substr(0, n.find('|'));
    }
  return out;
}

}  // namespace

void validate_config(const DecoderConfig& c) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("model config: " + what);
  };
  need(c.vocab_size > 0, "vocab_size must be > 0");
  need(c.context_length > 0, "context length (max_seq) must be > 0");
  need(c.n_layers > 0, "n_layers must be > 0");
  // An encoder-decoder's head size is its own (T5's d_kv); elsewhere d_model / n_heads.
  need(c.n_heads > 0 && (c.dim % c.n_heads == 0 || architecture(c.arch).encoder_decoder()),
       "d_model must be a multiple of n_heads");
  need(c.n_kv_heads > 0 && c.n_heads % c.n_kv_heads == 0,
       "n_heads must be a multiple of n_kv_heads");
  need(c.head_dim > 0, "head_dim must be > 0");
  need(c.hidden_dim > 0, "d_ff must be > 0");
  need(c.rope.rot_dim % 2 == 0 && c.rope.rot_dim <= c.head_dim,
       "the rotary dimension must be even and at most head_dim");
  need(c.rope.freq_factors.empty() ||
           static_cast<int64_t>(c.rope.freq_factors.size()) == c.rope.rot_dim / 2,
       "rope scaling needs one frequency factor per rotated pair");
}

CausalLm::CausalLm(const DecoderConfig& cfg, const nn::LoraConfig& lora, int64_t score_labels)
    : arch_(models::architecture(cfg.arch)), cfg_(cfg), lora_(lora) {
  arch_.normalize(cfg_);
  validate_config(cfg_);
  if (lora_.rank < 0) throw Error("model config: lora rank must be >= 0");
  if (lora_.rank > 0 && lora_.targets.empty())
    throw Error("model config: LoRA needs at least one target projection");
  if (lora_.rank > 0 && !(lora_.alpha > 0)) throw Error("model config: lora alpha must be > 0");
  if (score_labels < 0) throw Error("model config: score labels must be >= 0");
  add_params();
  // After the base model's tensors (transformers' state_dict order), before the adapters.
  const bool pooled_head = !arch_.causal() && !arch_.encoder_decoder() && cfg_.has_pooler;
  if (score_labels > 0)
    score_ = &params_.add(pooled_head ? "classifier.weight" : "score.weight",
                          Shape({score_labels, cfg_.dim}));
  if (score_labels > 0 && pooled_head)
    score_bias_ = &params_.add("classifier.bias", Shape({score_labels}));
  if (lora_.rank > 0) add_lora();
  params_.finalize();
}

// Parameters in Hugging Face's state_dict order: the spec's roles in runs, a tensor outside the
// layers on its own, a run of per-layer roles layer by layer (an encoder-decoder has two such
// runs, its encoder's and its decoder's); an untied head only when the model has one.
void CausalLm::add_params() {
  const auto& specs = arch_.tensors();
  by_role_.assign(specs.size(), {});
  lora_by_role_.assign(specs.size(), {});
  for (size_t r = 0; r < specs.size(); ++r) {
    const size_t n = static_cast<size_t>(layer_count(specs[r], cfg_));
    by_role_[r].assign(n, nullptr);
    lora_by_role_[r].assign(n, -1);
  }
  auto add = [&](size_t r, int64_t l) {
    const TensorSpec& t = specs[r];
    if (!tensor_present(t, cfg_)) return;
    by_role_[r][static_cast<size_t>(l)] = &params_.add(tensor_name(t, l, true), t.hf_shape(cfg_));
  };
  for (size_t first = 0; first < specs.size();) {
    if (!specs[first].per_layer) {
      add(first++, 0);
      continue;
    }
    size_t end = first;
    while (end < specs.size() && specs[end].per_layer &&
           specs[end].decoder_stack == specs[first].decoder_stack)
      ++end;
    for (int64_t l = 0; l < layer_count(specs[first], cfg_); ++l)
      for (size_t r = first; r < end; ++r) add(r, l);
    first = end;
  }
}

// One adapter per layer and target, after every base parameter (so the base initialisation does
// not depend on LoRA), in the order the targets were given.
void CausalLm::add_lora() {
  const auto& specs = arch_.tensors();
  std::vector<size_t> roles;
  for (const std::string& want : lora_.targets) {
    size_t found = specs.size();
    for (size_t r = 0; r < specs.size() && found == specs.size(); ++r)
      if (specs[r].per_layer && lora_matches(specs[r], want)) found = r;
    if (found == specs.size())
      throw Error("LoRA target '" + want + "': expected one of " + lora_names(arch_) + " (" +
                  arch_.name() + ")");
    if (std::find(roles.begin(), roles.end(), found) != roles.end())
      throw Error("LoRA target '" + want + "' is given twice");
    roles.push_back(found);
  }
  lora_.targets.clear();
  for (size_t r : roles) {
    const std::string m = module_of(specs[r], 0);
    lora_.targets.push_back(m.substr(m.find('.', m.find("0.")) + 1));
  }
  const int64_t rank = lora_.rank;
  for (int64_t l = 0; l < std::max(cfg_.n_layers, cfg_.n_decoder_layers); ++l)
    for (size_t r : roles) {
      if (l >= layer_count(specs[r], cfg_)) continue;
      const TensorSpec& t = specs[r];
      const Shape s = t.hf_shape(cfg_);
      const int64_t in = t.hf_in_out ? s[0] : s[1], out = t.hf_in_out ? s[1] : s[0];
      const std::string base = module_of(t, l);
      LoraSite site{base + ".weight",
                    base + ".lora_A.weight",
                    base + ".lora_B.weight",
                    t.hf_in_out ? nn::WeightLayout::InOut : nn::WeightLayout::OutIn,
                    in,
                    out,
                    Wt{static_cast<int32_t>(r), static_cast<int32_t>(l)}};
      params_.add(site.a, Shape{rank, in});
      params_.add(site.b, Shape{out, rank});
      lora_by_role_[r][static_cast<size_t>(l)] = static_cast<int32_t>(lora_sites_.size());
      lora_sites_.push_back(site);
    }
}

const LoraSite* CausalLm::lora_site(Wt w) const {
  const int32_t i = lora_by_role_[static_cast<size_t>(w.role)][static_cast<size_t>(w.layer)];
  return i < 0 ? nullptr : &lora_sites_[static_cast<size_t>(i)];
}

void CausalLm::init(uint64_t seed, float std) {
  Rng rng(seed);
  for (auto& p : params_.params()) {
    if (is_lora_param(p->name)) continue;
    float* v = p->value.f32();
    const bool is_norm = p->name.find("ln_") != std::string::npos ||
                         p->name.find("norm") != std::string::npos ||
                         p->name.find("LayerNorm") != std::string::npos;
    const bool is_bias = p->name.size() > 5 && p->name.compare(p->name.size() - 5, 5, ".bias") == 0;
    for (int64_t i = 0; i < p->numel(); ++i)
      v[i] = is_bias ? 0.0f : is_norm ? 1.0f : rng.normal() * std;
  }
  init_lora(seed);
}

void CausalLm::init_lora(uint64_t seed) {
  Rng rng(seed ^ 0x4c6f5241ull);  // "LoRA"
  for (const LoraSite& s : lora_sites_) {
    nn::Parameter& a = params_.get(s.a);
    const float bound = 1.0f / std::sqrt(static_cast<float>(s.in));
    float* av = a.value.f32();
    for (int64_t i = 0; i < a.numel(); ++i) av[i] = (2.0f * rng.uniform() - 1.0f) * bound;
    nn::Parameter& b = params_.get(s.b);
    std::fill(b.value.f32(), b.value.f32() + b.numel(), 0.0f);
  }
}

void CausalLm::init_score(uint64_t seed, float std) {
  if (!score_) return;
  Rng rng(seed ^ 0x53636f7265ull);  // "Score"
  float* v = score_->value.f32();
  for (int64_t i = 0; i < score_->numel(); ++i) v[i] = rng.normal() * std;
  if (score_bias_)
    std::fill(score_bias_->value.f32(), score_bias_->value.f32() + score_bias_->numel(), 0.0f);
}

bool CausalLm::is_lora_param(const std::string& name) const {
  return name.find(".lora_A.") != std::string::npos || name.find(".lora_B.") != std::string::npos;
}

std::vector<float> CausalLm::merged_value(const std::string& name) {
  nn::Parameter& w = params_.get(name);
  std::vector<float> out(w.value.f32(), w.value.f32() + w.numel());
  for (const LoraSite& s : lora_sites_)
    if (s.weight == name)
      nn::merge_lora(out.data(), s.layout, params_.get(s.a).value.f32(),
                     params_.get(s.b).value.f32(), s.out, s.in, lora_.rank, lora_.scale());
  return out;
}

void CausalLm::exclude_norms_and_biases_from_decay() {
  const int32_t pos = [&] {
    const auto& t = arch_.tensors();
    for (size_t r = 0; r < t.size(); ++r)
      if (std::strcmp(t[r].role, "position_embd") == 0) return static_cast<int32_t>(r);
    return -1;
  }();
  nn::Parameter* pos_param = pos >= 0 ? param(Wt{pos, 0}) : nullptr;
  for (auto& p : params_.params())
    if (p->shape.rank() == 1 || p.get() == pos_param) p->decay = false;
}

nn::Var CausalLm::hidden(nn::Tape& t, const int32_t* ids, int64_t batch, int64_t seq) {
  return hidden(t, TokenBatch{ids, batch, seq});
}

void CausalLm::check_lengths(const TokenBatch& in) const {
  for (int64_t len : {in.seq, in.decoder_seq})
    if (len > cfg_.context_length)
      throw Error("model: sequence length " + std::to_string(len) + " exceeds max_seq " +
                  std::to_string(cfg_.context_length));
  if (arch_.encoder_decoder() && (in.decoder_ids == nullptr || in.decoder_seq <= 0))
    throw Error(std::string(arch_.name()) +
                " is an encoder-decoder: a batch needs decoder inputs as well");
}

nn::Var CausalLm::hidden(nn::Tape& t, const TokenBatch& in) {
  check_lengths(in);
  TapeOps ops(*this, t, in);
  return nn::Var{arch_.hidden(ops, cfg_).id};
}

nn::Var CausalLm::encoded(nn::Tape& t, const TokenBatch& in) {
  check_lengths(in);
  TapeOps ops(*this, t, in);
  return nn::Var{arch_.encoded(ops, cfg_).id};
}

nn::Var CausalLm::decoded(nn::Tape& t, const TokenBatch& in, nn::Var encoder_out) {
  check_lengths(in);
  TapeOps ops(*this, t, in);
  return nn::Var{arch_.decoded(ops, cfg_, Act{encoder_out.id}).id};
}

nn::Var CausalLm::seq2seq_loss(nn::Tape& t, const TokenBatch& in, const int32_t* labels) {
  if (!arch_.encoder_decoder())
    throw Error(std::string(arch_.name()) + " is not an encoder-decoder: use the next-token loss");
  return nn::cross_entropy(t, head(t, in, hidden(t, in)), labels, in.batch * in.decoder_seq);
}

nn::Var CausalLm::head(nn::Tape& t, const TokenBatch& in, nn::Var hidden) {
  TapeOps ops(*this, t, in);
  return nn::Var{arch_.logits(ops, cfg_, Act{hidden.id}).id};
}

nn::Var CausalLm::pooled(nn::Tape& t, const TokenBatch& in, nn::Var hidden) {
  TapeOps ops(*this, t, in);
  return nn::Var{arch_.pooled(ops, cfg_, Act{hidden.id}).id};
}

nn::Var CausalLm::score(nn::Tape& t, const int32_t* ids, int64_t batch, int64_t seq,
                        const int32_t* last) {
  return classify(t, TokenBatch{ids, batch, seq}, last);
}

nn::Var CausalLm::classify(nn::Tape& t, const TokenBatch& in, const int32_t* last) {
  if (!score_) throw Error(std::string(arch_.name()) + " model has no classification head");
  const nn::Var h = hidden(t, in);
  if (score_bias_) return nn::linear(t, pooled(t, in, h), t.param(*score_), t.param(*score_bias_));
  const int64_t batch = in.batch, seq = in.seq;
  // A row gather is an embedding lookup into the hidden states (backward scatters into them).
  int32_t* rows = t.save<int32_t>(batch);
  for (int64_t b = 0; b < batch; ++b) {
    if (last[b] < 0 || last[b] >= seq)
      throw Error("score: row " + std::to_string(last[b]) + " outside a sequence of " +
                  std::to_string(seq));
    rows[b] = static_cast<int32_t>(b * seq + last[b]);
  }
  const nn::Var picked = nn::embedding(t, h, rows, batch);
  return nn::linear(t, picked, t.param(*score_));
}

nn::Var CausalLm::logits(nn::Tape& t, const int32_t* ids, int64_t batch, int64_t seq) {
  const TokenBatch in{ids, batch, seq};
  return head(t, in, hidden(t, in));
}

nn::Var CausalLm::loss(nn::Tape& t, const int32_t* ids, const int32_t* targets, int64_t batch,
                       int64_t seq) {
  if (arch_.encoder_decoder())
    throw Error(std::string(arch_.name()) +
                " is an encoder-decoder: its loss takes decoder inputs (seq2seq_loss)");
  if (!arch_.causal())
    throw Error(std::string(arch_.name()) + " is a bidirectional encoder: no next-token loss");
  return nn::cross_entropy(t, logits(t, ids, batch, seq), targets, batch * seq);
}

double CausalLm::forward_flops_per_token(int64_t seq) const {
  return arch_.forward_flops_per_token(cfg_, seq);
}

}  // namespace loom::models
