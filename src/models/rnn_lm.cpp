#include "models/rnn_lm.h"

#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "nn/ops.h"

namespace loom::models {

namespace {

RecurrentConfig stack_config(const RnnLmConfig& c) {
  RecurrentConfig r;
  r.kind = c.kind;
  r.input_size = c.emb_size;
  r.hidden_size = c.hidden_size;
  r.num_layers = c.num_layers;
  r.dropout = c.dropout;
  return r;
}

}  // namespace

std::string RnnLmConfig::describe() const {
  std::ostringstream os;
  os << nn::cell_name(kind) << " LM: vocab " << vocab_size << ", emb " << emb_size << ", "
     << num_layers << "x" << hidden_size << ", dropout " << dropout << (tied ? ", tied" : "");
  return os.str();
}

void validate(const RnnLmConfig& c) {
  if (c.vocab_size < 2)
    throw Error("rnn lm config: vocab_size " + std::to_string(c.vocab_size) + ", expected >= 2");
  if (c.emb_size < 1)
    throw Error("rnn lm config: emb_size " + std::to_string(c.emb_size) + ", expected >= 1");
  if (c.tied && c.emb_size != c.hidden_size)
    throw Error("rnn lm config: a tied head needs emb_size (" + std::to_string(c.emb_size) +
                ") == hidden_size (" + std::to_string(c.hidden_size) + ")");
  validate(stack_config(c));
}

RnnLm::RnnLm(const RnnLmConfig& cfg)
    : cfg_((validate(cfg), cfg)), rnn_(stack_config(cfg_), params_, "rnn.") {
  params_.add("encoder.weight", Shape{cfg_.vocab_size, cfg_.emb_size});
  if (!cfg_.tied) params_.add("decoder.weight", Shape{cfg_.vocab_size, cfg_.hidden_size});
  params_.add("decoder.bias", Shape{cfg_.vocab_size}).decay = false;
  params_.finalize();
}

void RnnLm::init(uint64_t seed) {
  rnn_.init(seed);
  Rng rng(seed ^ 0x9e3779b97f4a7c15ull);
  for (const char* name : {"encoder.weight", "decoder.weight"}) {
    nn::Parameter* p = params_.find(name);
    if (p == nullptr) continue;
    for (int64_t i = 0; i < p->numel(); ++i) p->value.f32()[i] = (rng.uniform() * 2 - 1) * 0.1f;
  }
  nn::Parameter& b = params_.get("decoder.bias");
  std::memset(b.value.f32(), 0, static_cast<size_t>(b.numel()) * sizeof(float));
}

void RnnLm::load(const io::TensorMap& map) {
  rnn_.load(map, true);
  for (const char* name : {"encoder.weight", "decoder.weight", "decoder.bias"}) {
    nn::Parameter* p = params_.find(name);
    if (p != nullptr) load_parameter(*p, map, name);
  }
}

RnnState RnnLm::zero_state(int64_t batch) const {
  RnnState s;
  s.batch = batch;
  const size_t n = static_cast<size_t>(cfg_.num_layers * batch * cfg_.hidden_size);
  s.h.assign(n, 0.0f);
  if (cfg_.kind == nn::CellKind::Lstm) s.c.assign(n, 0.0f);
  return s;
}

namespace {

// The state as constants on the tape (copied: `state` is overwritten before backward runs), one
// (B, H) Var per layer; empty when the state is empty.
std::vector<nn::Var> state_vars(nn::Tape& t, const std::vector<float>& v, int64_t layers,
                                int64_t batch, int64_t hidden) {
  std::vector<nn::Var> out;
  if (v.empty()) return out;
  float* copy = t.save<float>(static_cast<int64_t>(v.size()));
  std::memcpy(copy, v.data(), v.size() * sizeof(float));
  for (int64_t l = 0; l < layers; ++l)
    out.push_back(
        t.constant(TensorView(copy + l * batch * hidden, DType::F32, Shape{batch, hidden})));
  return out;
}

void store_state(nn::Tape& t, const std::vector<nn::Var>& vars, std::vector<float>& v) {
  size_t off = 0;
  for (nn::Var x : vars) {
    const size_t n = static_cast<size_t>(t.shape(x).numel());
    std::memcpy(v.data() + off, t.data(x), n * sizeof(float));
    off += n;
  }
}

}  // namespace

nn::Var RnnLm::loss(nn::Tape& t, const int32_t* ids, const int32_t* targets, int64_t seq,
                    RnnState& state, bool training, uint64_t dropout_seed) {
  const int64_t B = state.batch, N = seq * B, L = cfg_.num_layers, H = cfg_.hidden_size;
  LOOM_ASSERT(B > 0 && static_cast<int64_t>(state.h.size()) == L * B * H, "rnn lm: bad state");
  const bool drop = training && cfg_.dropout > 0.0f;
  nn::Var enc = t.param(params_.get("encoder.weight"));
  nn::Var x = nn::embedding(t, enc, ids, N);
  if (drop) x = nn::dropout(t, x, cfg_.dropout, dropout_seed);
  const std::vector<nn::Var> h0 = state_vars(t, state.h, L, B, H),
                             c0 = state_vars(t, state.c, L, B, H);
  const nn::SeqLayout layout{seq, B, false, nullptr};
  RecurrentStack::Output o = rnn_.forward(t, x, layout, h0, c0, training, dropout_seed + 1);
  store_state(t, o.h_n, state.h);
  store_state(t, o.c_n, state.c);
  nn::Var y = o.y;
  if (drop) y = nn::dropout(t, y, cfg_.dropout, dropout_seed + 1 + static_cast<uint64_t>(L));
  nn::Var w = cfg_.tied ? enc : t.param(params_.get("decoder.weight"));
  nn::Var logits = nn::linear(t, y, w, t.param(params_.get("decoder.bias")));
  return nn::cross_entropy(t, logits, targets, N);
}

}  // namespace loom::models
