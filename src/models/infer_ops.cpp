#include "models/infer_ops.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/kernels.h"
#include "models/layers.h"

namespace loom::models {

InferOps::InferOps(const Model& model, Session& s, ThreadPool& pool, const int32_t* tokens,
                   int64_t n, bool all_rows)
    : model_(model), s_(s), pool_(pool), tokens_(tokens), n_(n), pos0_(s.pos_),
      all_rows_(all_rows), acts_(s.acts_) {
  s_.arena_.reset();
  acts_.clear();
}

Act InferOps::push(float* p, int64_t rows, int64_t cols) {
  acts_.push_back({p, rows, cols});
  return Act{static_cast<int32_t>(acts_.size() - 1)};
}

Act InferOps::alloc(int64_t rows, int64_t cols) {
  float* p = next_dst_;
  next_dst_ = nullptr;
  if (p == nullptr) p = s_.arena_.alloc_n<float>(rows * cols);
  return push(p, rows, cols);
}

Act InferOps::embed_tokens(Wt table) {
  const TensorView& t = model_.bound(table);
  Act y = alloc(n_, t.shape()[1]);
  models::embed_tokens(t, tokens_, n_, buf(y).p);
  return y;
}

Act InferOps::add_positions(Act x, Wt table, int32_t pad_id) {
  if (pad_id < 0) {
    models::add_positions(model_.bound(table), pos0_, buf(x).rows, buf(x).p);
    return x;
  }
  LOOM_ASSERT(pos0_ == 0, "pad-counted positions need the whole sequence");
  std::vector<int32_t> pos(static_cast<size_t>(n_));
  int32_t real = 0;
  for (int64_t i = 0; i < n_; ++i) pos[i] = tokens_[i] == pad_id ? pad_id : pad_id + ++real;
  models::add_rows(model_.bound(table), pos.data(), n_, buf(x).p, "position");
  return x;
}

// The Encoder interface carries no segment ids: every token is of type 0.
Act InferOps::add_token_types(Act x, Wt table) {
  const std::vector<int32_t> types(static_cast<size_t>(n_), 0);
  models::add_rows(model_.bound(table), types.data(), n_, buf(x).p, "token type");
  return x;
}

// One sequence per forward: its first row, as a view.
Act InferOps::first_rows(Act x) { return push(buf(x).p, 1, buf(x).cols); }

Act InferOps::linear(Act x, Wt w, Wt bias) {
  const TensorView& wv = model_.bound(w);
  const Buf in = buf(x);
  Act y = alloc(in.rows, wv.shape()[0]);
  models::linear(pool_, in.p, in.rows, wv, bias_of(bias), buf(y).p);
  return y;
}

Acts InferOps::linears(Act x, std::initializer_list<Wt> ws) {
  Acts out;
  const Buf in = buf(x);
  if (in.rows != 1) {
    size_t i = 0;
    for (const Wt& w : ws) out.a[i++] = linear(x, w, {});
    return out;
  }
  // Decode: one pass over the pool for every projection, sharing x's q8 quantisation.
  TensorView views[4];
  float* ys[4];
  size_t i = 0;
  for (const Wt& w : ws) {
    views[i] = model_.bound(w);
    out.a[i] = alloc(1, views[i].shape()[0]);
    ys[i] = buf(out.a[i]).p;
    ++i;
  }
  linear_many(pool_, in.p, views, ys, static_cast<int>(i));
  return out;
}

Act InferOps::norm(Act x, Wt weight, Wt bias, NormKind kind, float eps) {
  const Buf in = buf(x);
  Act y = alloc(in.rows, in.cols);
  const float* w = model_.bound(weight).as<float>();
  const float* b = bias_of(bias);
  float* out = buf(y).p;
  for (int64_t i = 0; i < in.rows; ++i) {
    if (kind == NormKind::RMS)
      rmsnorm(in.p + i * in.cols, w, out + i * in.cols, in.cols, eps);
    else
      layernorm(in.p + i * in.cols, w, b, out + i * in.cols, in.cols, eps);
  }
  return y;
}

Act InferOps::rope(Act x, int64_t n_heads, const RopeSettings& r) {
  const Buf in = buf(x);
  const int64_t head_dim = in.cols / n_heads;
  const float* ff = r.freq_factors.empty() ? nullptr : r.freq_factors.data();
  for (int64_t i = 0; i < in.rows; ++i)
    loom::rope(in.p + i * in.cols, n_heads, head_dim, r.rot_dim, pos0_ + i, r.theta, r.style, ff);
  return x;
}

Act InferOps::attention(int64_t layer, Act q, Act k, Act v, const AttentionShape& sh) {
  AttentionCache& cache = s_.caches_[static_cast<size_t>(layer)];
  const int64_t n = buf(q).rows, qd = sh.n_heads * sh.head_dim;
  cache.write(0, pos0_, buf(k).p, buf(v).p, n);
  cache.set_length(pos0_ + n);
  const AttentionDims dims{sh.n_heads, sh.n_kv_heads, sh.head_dim, sh.head_dim, 0};
  const KeyValues kv{cache.k_at(0, 0, 0), cache.v_at(0, 0, 0), cache.head_stride_k(),
                     cache.head_stride_v(), pos0_ + n};
  Act y = alloc(n, qd);
  attend(pool_, dims, buf(q).p, n, qd, kv, sh.causal ? pos0_ : -1, nullptr, 0, buf(y).p, qd);
  return y;
}

Act InferOps::add(Act a, Act b) {
  const Buf x = buf(a);
  loom::add(x.p, buf(b).p, x.p, x.rows * x.cols);
  return a;
}

Act InferOps::mul(Act a, Act b) {
  const Buf x = buf(a);
  const float* y = buf(b).p;
  for (int64_t i = 0; i < x.rows * x.cols; ++i) x.p[i] *= y[i];
  return a;
}

Act InferOps::scale(Act x, float s) {
  const Buf in = buf(x);
  for (int64_t i = 0; i < in.rows * in.cols; ++i) in.p[i] *= s;
  return x;
}

// Encoder-decoders run on the training backend only for now; Model refuses them at load, so
// these are never reached through it.
Act InferOps::embed_decoder_tokens(Wt) {
  throw Error("inference: encoder-decoder models are not supported by this backend yet");
}

Act InferOps::add_offset_positions(Act, Wt, int64_t, bool) {
  throw Error("inference: encoder-decoder models are not supported by this backend yet");
}

Act InferOps::relative_position_bias(Wt, int64_t, int64_t, bool) {
  throw Error("inference: encoder-decoder models are not supported by this backend yet");
}

Act InferOps::activation(Act x, Activation kind) {
  const Buf in = buf(x);
  const int64_t n = in.rows * in.cols;
  switch (kind) {
    case Activation::GeluTanh:
      gelu_tanh(in.p, n);
      break;
    case Activation::GeluErf:
      gelu_erf(in.p, n);
      break;
    case Activation::Relu:
      relu(in.p, n);
      break;
    case Activation::Silu:
      silu(in.p, n);
      break;
    case Activation::Tanh:
      for (int64_t i = 0; i < n; ++i) in.p[i] = std::tanh(in.p[i]);
      break;
  }
  return x;
}

Act InferOps::glu(Act gate, Act up, GluKind kind) {
  const Buf g = buf(gate);
  const int64_t n = g.rows * g.cols;
  switch (kind) {
    case GluKind::SwiGLU:
      swiglu(g.p, buf(up).p, n);
      break;
    case GluKind::GEGLU:
      geglu(g.p, buf(up).p, n);
      break;
    case GluKind::ReGLU:
      reglu(g.p, buf(up).p, n);
      break;
  }
  return gate;
}

Act InferOps::slice_cols(Act x, int64_t start, int64_t width) {
  const Buf in = buf(x);
  if (in.rows == 1) return push(in.p + start, 1, width);  // one row: a view
  Act y = alloc(in.rows, width);
  float* out = buf(y).p;
  for (int64_t i = 0; i < in.rows; ++i)
    std::memcpy(out + i * width, in.p + i * in.cols + start, sizeof(float) * width);
  return y;
}

Act InferOps::output_rows(Act x) {
  const Buf in = buf(x);
  if (all_rows_ || in.rows == 1) return x;
  return push(in.p + (in.rows - 1) * in.cols, 1, in.cols);
}

Act InferOps::end_block(Act x) {
  const Buf in = buf(x);
  const size_t n = static_cast<size_t>(in.rows * in.cols);
  if (in.p != s_.resid_.data()) {  // x still lives in the arena: move it out before rewinding
    if (s_.resid_.size() < n) s_.resid_.resize(n);
    std::memcpy(s_.resid_.data(), in.p, sizeof(float) * n);
  }
  // Every earlier Act pointed into the arena or at the residual just overwritten: none is valid
  // past this point, so the table starts again.
  s_.arena_.reset();
  acts_.clear();
  return push(s_.resid_.data(), in.rows, in.cols);
}

}  // namespace loom::models
