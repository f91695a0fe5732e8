#include "models/recurrent.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "nn/ops.h"

namespace loom::models {

std::string RecurrentConfig::describe() const {
  std::ostringstream os;
  os << nn::cell_name(kind) << " " << num_layers << "x" << hidden_size
     << (bidirectional ? " bidirectional" : "") << " (in " << input_size << ")";
  return os.str();
}

void validate(const RecurrentConfig& c) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("recurrent config: " + what);
  };
  need(c.input_size > 0, "input_size " + std::to_string(c.input_size) + ", expected > 0");
  need(c.hidden_size > 0, "hidden_size " + std::to_string(c.hidden_size) + ", expected > 0");
  need(c.num_layers > 0, "num_layers " + std::to_string(c.num_layers) + ", expected > 0");
  need(c.dropout >= 0.0f && c.dropout < 1.0f,
       "dropout " + std::to_string(c.dropout) + ", expected in [0, 1)");
}

nn::CellKind cell_kind_from_name(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (n == "rnn_tanh" || n == "rnn") return nn::CellKind::RnnTanh;
  if (n == "rnn_relu") return nn::CellKind::RnnRelu;
  if (n == "lstm") return nn::CellKind::Lstm;
  if (n == "gru") return nn::CellKind::Gru;
  throw Error("recurrent cell '" + name + "': expected rnn_tanh, rnn_relu, lstm or gru");
}

std::string recurrent_tensor_name(const std::string& what, int64_t layer, bool reverse) {
  return what + "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
}

Shape recurrent_tensor_shape(const RecurrentConfig& c, const std::string& what, int64_t layer) {
  const int64_t gw = nn::gate_count(c.kind) * c.hidden_size;
  if (what == "weight_ih") return Shape{gw, c.layer_input(layer)};
  if (what == "weight_hh") return Shape{gw, c.hidden_size};
  LOOM_ASSERT(what == "bias_ih" || what == "bias_hh", "unknown recurrent tensor " + what);
  return Shape{gw};
}

std::vector<std::string> recurrent_tensor_names(const RecurrentConfig& c) {
  std::vector<std::string> out;
  for (int64_t l = 0; l < c.num_layers; ++l)
    for (int64_t d = 0; d < c.directions(); ++d)
      for (const char* what : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
        if (!c.bias && what[0] == 'b') continue;
        out.push_back(recurrent_tensor_name(what, l, d == 1));
      }
  return out;
}

namespace {

// "weight_ih_l1_reverse" -> ("weight_ih", 1)
std::pair<std::string, int64_t> split_name(const std::string& name) {
  const size_t p = name.find("_l");
  return {name.substr(0, p), std::stoll(name.substr(p + 2))};
}

}  // namespace

// ---- the trainable stack ----

RecurrentStack::RecurrentStack(const RecurrentConfig& cfg, nn::ParamStore& params,
                               std::string prefix)
    : cfg_(cfg), params_(params), prefix_(std::move(prefix)) {
  validate(cfg_);
  for (const std::string& n : recurrent_tensor_names(cfg_)) {
    auto [what, layer] = split_name(n);
    nn::Parameter& p = params_.add(prefix_ + n, recurrent_tensor_shape(cfg_, what, layer));
    if (what[0] == 'b') p.decay = false;
  }
}

nn::Parameter* RecurrentStack::param(const std::string& what, int64_t layer, bool reverse) const {
  if (!cfg_.bias && what[0] == 'b') return nullptr;
  return &params_.get(prefix_ + recurrent_tensor_name(what, layer, reverse));
}

void RecurrentStack::init(uint64_t seed) {
  Rng rng(seed);
  const float k = 1.0f / std::sqrt(static_cast<float>(cfg_.hidden_size));
  for (const std::string& n : recurrent_tensor_names(cfg_)) {
    nn::Parameter& p = params_.get(prefix_ + n);
    float* v = p.value.f32();
    for (int64_t i = 0; i < p.numel(); ++i) v[i] = (rng.uniform() * 2.0f - 1.0f) * k;
  }
}

void load_parameter(nn::Parameter& p, const io::TensorMap& map, const std::string& name) {
  const Tensor& src = map.get(name, p.shape);
  const Tensor f = src.dtype() == DType::F32 ? Tensor() : src.to(DType::F32);
  const float* from = f.defined() ? f.f32() : src.f32();
  std::memcpy(p.value.f32(), from, static_cast<size_t>(p.numel()) * sizeof(float));
}

void RecurrentStack::load(const io::TensorMap& map, bool with_prefix) {
  for (const std::string& n : recurrent_tensor_names(cfg_))
    load_parameter(params_.get(prefix_ + n), map, with_prefix ? prefix_ + n : n);
}

RecurrentStack::Output RecurrentStack::forward(nn::Tape& t, nn::Var x, const nn::SeqLayout& layout,
                                               const std::vector<nn::Var>& h0,
                                               const std::vector<nn::Var>& c0, bool training,
                                               uint64_t dropout_seed) const {
  const int64_t D = cfg_.directions(), L = cfg_.num_layers;
  LOOM_ASSERT(h0.empty() || static_cast<int64_t>(h0.size()) == L * D, "h0: one Var per layer-dir");
  LOOM_ASSERT(c0.empty() || static_cast<int64_t>(c0.size()) == L * D, "c0: one Var per layer-dir");
  auto var = [&t](nn::Parameter* p) { return p == nullptr ? nn::Var{} : t.param(*p); };
  Output out;
  nn::Var in = x;
  for (int64_t l = 0; l < L; ++l) {
    nn::Var ys[2];
    for (int64_t d = 0; d < D; ++d) {
      const bool rev = d == 1;
      const nn::RecurrentWeights w{var(param("weight_ih", l, rev)), var(param("weight_hh", l, rev)),
                                   var(param("bias_ih", l, rev)), var(param("bias_hh", l, rev))};
      const size_t s = static_cast<size_t>(l * D + d);
      const nn::RecurrentOutput o =
          nn::recurrent(t, cfg_.kind, in, w, layout, rev, h0.empty() ? nn::Var{} : h0[s],
                        c0.empty() ? nn::Var{} : c0[s]);
      ys[d] = o.y;
      out.h_n.push_back(o.h_n);
      if (o.c_n.defined()) out.c_n.push_back(o.c_n);
    }
    in = D == 2 ? nn::concat_cols(t, ys[0], ys[1]) : ys[0];
    if (training && cfg_.dropout > 0.0f && l + 1 < L)
      in = nn::dropout(t, in, cfg_.dropout, dropout_seed + static_cast<uint64_t>(l));
  }
  out.y = in;
  return out;
}

// ---- inference ----

RecurrentModel::RecurrentModel(const RecurrentConfig& cfg, const io::TensorMap& map,
                               const std::string& prefix)
    : cfg_(cfg) {
  validate(cfg_);
  auto view = [&](const std::string& what, int64_t layer, bool rev) -> TensorView {
    if (!cfg_.bias && what[0] == 'b') return {};
    const Tensor& src = map.get(prefix + recurrent_tensor_name(what, layer, rev),
                                recurrent_tensor_shape(cfg_, what, layer));
    if (src.dtype() == DType::F32) return src.view();
    converted_.push_back(src.to(DType::F32));
    return converted_.back().view();
  };
  converted_.reserve(recurrent_tensor_names(cfg_).size());  // views into it stay valid
  for (int64_t l = 0; l < cfg_.num_layers; ++l)
    for (int64_t d = 0; d < cfg_.directions(); ++d)
      dirs_.push_back({view("weight_ih", l, d == 1), view("weight_hh", l, d == 1),
                       view("bias_ih", l, d == 1), view("bias_hh", l, d == 1)});
}

void RecurrentModel::forward(ThreadPool& pool, const float* x, const nn::SeqLayout& layout,
                             const float* h0, const float* c0, float* y, float* h_n,
                             float* c_n) const {
  nn::check_layout(layout);
  const int64_t D = cfg_.directions(), L = cfg_.num_layers, H = cfg_.hidden_size, N = layout.rows(),
                BH = layout.batch * H;
  const bool lstm = cfg_.kind == nn::CellKind::Lstm;
  std::vector<float> prev, next(L > 1 ? static_cast<size_t>(N * D * H) : 0),
      dir_y(D == 2 ? static_cast<size_t>(N * H) : 0), state(static_cast<size_t>(2 * BH)), scratch;
  auto raw = [](const TensorView& v) { return v.empty() ? nullptr : v.f32(); };
  for (int64_t l = 0; l < L; ++l) {
    const nn::RecurrentDims dims{cfg_.kind, cfg_.layer_input(l), H};
    scratch.resize(static_cast<size_t>(nn::recurrent_scratch_floats(dims, layout)));
    float* out = l + 1 == L ? y : next.data();
    for (int64_t d = 0; d < D; ++d) {
      const int64_t s = l * D + d;
      const Dir& w = dir(l, d);
      nn::RecurrentBuffers b;
      b.x = l == 0 ? x : prev.data();
      b.w_ih = raw(w.w_ih), b.w_hh = raw(w.w_hh), b.b_ih = raw(w.b_ih), b.b_hh = raw(w.b_hh);
      b.h0 = h0 == nullptr ? nullptr : h0 + s * BH;
      b.c0 = c0 == nullptr || !lstm ? nullptr : c0 + s * BH;
      b.y = D == 1 ? out : dir_y.data();
      b.h_n = h_n == nullptr ? state.data() : h_n + s * BH;
      if (lstm) b.c_n = c_n == nullptr ? state.data() + BH : c_n + s * BH;
      nn::recurrent_forward(pool, dims, layout, d == 1, b, scratch.data());
      if (D == 2)  // direction d's H columns of out (N, 2H)
        for (int64_t r = 0; r < N; ++r)
          std::memcpy(out + r * 2 * H + d * H, dir_y.data() + r * H,
                      static_cast<size_t>(H) * sizeof(float));
    }
    std::swap(prev, next);
    if (next.empty() && l + 2 < L) next.resize(static_cast<size_t>(N * D * H));
  }
}

}  // namespace loom::models
