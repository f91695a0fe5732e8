#include "models/infer_ops.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/kernels.h"
#include "models/layers.h"
#include "models/linear_rows.h"

namespace loom::models {

InferOps::InferOps(const Model& model, Session& s, ThreadPool& pool, const int32_t* tokens,
                   int64_t n, bool all_rows)
    : model_(model),
      s_(s),
      pool_(pool),
      tokens_(tokens),
      n_(n),
      pos0_(s.pos_),
      all_rows_(all_rows),
      acts_(s.acts_) {
  s_.arena_.reset();
  acts_.clear();
}

InferOps::InferOps(const Model& model, Session* const* batch, int64_t B, ThreadPool& pool,
                   const int32_t* tokens)
    : InferOps(model, *batch[0], pool, tokens, B, /*all_rows=*/true) {
  batch_ = batch;
  pos0_ = -1;  // no common position: pos_of(row)
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
  if (pad_id < 0 && batch_ != nullptr) {
    for (int64_t i = 0; i < n_; ++i)
      models::add_positions(model_.bound(table), pos_of(i), 1, buf(x).p + i * buf(x).cols);
    return x;
  }
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

Act InferOps::encoder_output() {
  EncoderMemory& m = *s_.memory_;
  const Act a = push(m.out.data(), m.rows, static_cast<int64_t>(m.out.size()) / m.rows);
  memory_act_ = a.id;
  return a;
}

Act InferOps::memory_linear(Wt w, Wt bias) {
  EncoderMemory& m = *s_.memory_;
  const TensorView& wv = model_.bound(w);
  std::lock_guard<std::mutex> lock(m.mu);
  std::vector<float>& y = m.projections[{w.role, w.layer}];
  if (y.empty()) {
    y.resize(static_cast<size_t>(m.rows * wv.shape()[0]));
    models::linear(pool_, m.out.data(), m.rows, wv, bias_of(bias), y.data());
  }
  return push(y.data(), m.rows, wv.shape()[0]);
}

Act InferOps::linear(Act x, Wt w, Wt bias) {
  if (x.id == memory_act_ && memory_act_ >= 0) return memory_linear(w, bias);
  const TensorView& wv = model_.bound(w);
  const Buf in = buf(x);
  Act y = alloc(in.rows, wv.shape()[0]);
  float* out = buf(y).p;
  if (batch_ == nullptr || in.rows == 1) {
    models::linear(pool_, in.p, in.rows, wv, bias_of(bias), out);
    return y;
  }
  // Batched decode: each row exactly as a single sequence's decode step computes it.
  linear_rows(pool_, in.p, in.rows, &wv, &out, 1);
  const int64_t o = wv.shape()[0];
  if (const float* b = bias_of(bias))
    for (int64_t i = 0; i < in.rows; ++i) loom::add(out + i * o, b, out + i * o, o);
  return y;
}

Acts InferOps::linears(Act x, std::initializer_list<Wt> ws) {
  Acts out;
  const Buf in = buf(x);
  if ((in.rows != 1 && batch_ == nullptr) || x.id == memory_act_) {
    size_t i = 0;
    for (const Wt& w : ws) out.a[i++] = linear(x, w, {});
    return out;
  }
  // Decode (one row, or one per sequence of a batch): one pass over the pool for every
  // projection, sharing x's q8 quantisation.
  TensorView views[4];
  float* ys[4];
  size_t i = 0;
  for (const Wt& w : ws) {
    views[i] = model_.bound(w);
    out.a[i] = alloc(in.rows, views[i].shape()[0]);
    ys[i] = buf(out.a[i]).p;
    ++i;
  }
  linear_rows(pool_, in.p, in.rows, views, ys, static_cast<int>(i));
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
    loom::rope(in.p + i * in.cols, n_heads, head_dim, r.rot_dim, pos_of(i), r.theta, r.style, ff);
  return x;
}

KeyValues InferOps::self_keys(int64_t layer, Act k, Act v, int64_t n) {
  AttentionCache& cache = s_.caches_[static_cast<size_t>(layer)];
  cache.write(0, pos0_, buf(k).p, buf(v).p, n);
  cache.set_length(pos0_ + n);
  return {cache.k_at(0, 0, 0), cache.v_at(0, 0, 0), cache.head_stride_k(), cache.head_stride_v(),
          pos0_ + n};
}

// The source's keys and values in cache layout, written once per source and decoder layer.
KeyValues InferOps::cross_keys(int64_t layer, Act k, Act v, const AttentionShape& sh) {
  EncoderMemory& m = *s_.memory_;
  std::lock_guard<std::mutex> lock(m.mu);
  std::unique_ptr<AttentionCache>& c = m.cross[static_cast<size_t>(layer)];
  if (!c) {
    c = std::make_unique<AttentionCache>(1, sh.n_kv_heads, m.rows, sh.head_dim, sh.head_dim);
    c->write(0, 0, buf(k).p, buf(v).p, m.rows);
    c->set_length(m.rows);
  }
  return {c->k_at(0, 0, 0), c->v_at(0, 0, 0), c->head_stride_k(), c->head_stride_v(), m.rows};
}

// Attention with a per-head additive bias (T5's relative positions), bias (n*m, heads): one head
// at a time, each with its (n, m) slice of the bias as the mask.
void InferOps::attend_biased(const AttentionDims& dims, const float* q, int64_t n,
                             const KeyValues& kv, int64_t causal_offset, const Buf& bias,
                             float* out) {
  const int64_t H = dims.n_heads, D = dims.head_dim_k, m = kv.m, qd = H * D;
  LOOM_ASSERT(bias.rows == n * m && bias.cols == H, "position bias shape");
  const AttentionDims one{1, 1, dims.head_dim_k, dims.head_dim_v, dims.scale};
  std::vector<float> mask(static_cast<size_t>(n * m));
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t r = 0; r < n * m; ++r) mask[static_cast<size_t>(r)] = bias.p[r * H + h];
    const int64_t g = h / dims.group();
    const KeyValues kh{kv.keys + g * kv.k_head_stride, kv.values + g * kv.v_head_stride,
                       kv.k_head_stride, kv.v_head_stride, m};
    attend(pool_, one, q + h * D, n, qd, kh, causal_offset, mask.data(), m, out + h * D, qd);
  }
}

// One task per (row, head): the same per-head kernel a single session's decode step runs, over
// each row's own cache.
Act InferOps::batch_attention(int64_t layer, Act q, Act k, Act v, const AttentionShape& sh) {
  const int64_t H = sh.n_heads, D = sh.head_dim, qd = H * D, kvd = sh.n_kv_heads * D;
  std::vector<KeyValues> kvs(static_cast<size_t>(n_));
  for (int64_t i = 0; i < n_; ++i) {
    AttentionCache& c = batch_[i]->caches_[static_cast<size_t>(layer)];
    const int64_t p = batch_[i]->pos_;
    c.write(0, p, buf(k).p + i * kvd, buf(v).p + i * kvd, 1);
    c.set_length(p + 1);
    kvs[i] = {c.k_at(0, 0, 0), c.v_at(0, 0, 0), c.head_stride_k(), c.head_stride_v(), p + 1};
  }
  Act y = alloc(n_, qd);
  const AttentionDims one{1, 1, D, D, sh.scale};
  const int64_t group = H / sh.n_kv_heads;
  const float* qp = buf(q).p;
  float* out = buf(y).p;
  pool_.run(n_ * H, [&](int64_t task) {
    const int64_t i = task / H, h = task % H, g = h / group;
    const KeyValues& kv = kvs[static_cast<size_t>(i)];
    const KeyValues kh{kv.keys + g * kv.k_head_stride, kv.values + g * kv.v_head_stride,
                       kv.k_head_stride, kv.v_head_stride, kv.m};
    ThreadPool single(1);
    attend(single, one, qp + i * qd + h * D, 1, qd, kh, -1, nullptr, 0, out + i * qd + h * D, qd);
  });
  return y;
}

Act InferOps::attention(int64_t layer, Act q, Act k, Act v, const AttentionShape& sh) {
  if (batch_ != nullptr) {
    LOOM_ASSERT(!sh.cross && !sh.bias.defined() && sh.causal,
                "batched decode: causal self-attention only");
    return batch_attention(layer, q, k, v, sh);
  }
  const int64_t n = buf(q).rows, qd = sh.n_heads * sh.head_dim;
  const AttentionDims dims{sh.n_heads, sh.n_kv_heads, sh.head_dim, sh.head_dim, sh.scale};
  const KeyValues kv = sh.cross ? cross_keys(layer, k, v, sh) : self_keys(layer, k, v, n);
  const int64_t causal = sh.causal && !sh.cross ? pos0_ : -1;
  Act y = alloc(n, qd);
  if (sh.bias.defined())
    attend_biased(dims, buf(q).p, n, kv, causal, buf(sh.bias), buf(y).p);
  else
    attend(pool_, dims, buf(q).p, n, qd, kv, causal, nullptr, 0, buf(y).p, qd);
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

Act InferOps::embed_decoder_tokens(Wt table) { return embed_tokens(table); }

// Rows first_row + position of a learned table (BART: 2 + position), at the session's positions.
Act InferOps::add_offset_positions(Act x, Wt table, int64_t first_row, bool) {
  models::add_positions(model_.bound(table), first_row + pos0_, buf(x).rows, buf(x).p);
  return x;
}

// (n * (pos0 + n), heads): row i * Tk + j holds table[bucket(j - (pos0 + i))] for query i of
// this forward and key j of every cached position.
Act InferOps::relative_position_bias(Wt table, int64_t num_buckets, int64_t max_distance,
                                     bool causal) {
  const TensorView& t = model_.bound(table);
  const int64_t H = t.shape()[1], tk = pos0_ + n_;
  const float* rows = t.as<float>();
  Act y = alloc(n_ * tk, H);
  float* out = buf(y).p;
  for (int64_t i = 0; i < n_; ++i) {
    for (int64_t j = 0; j < tk; ++j) {
      const int32_t b =
          relative_position_bucket(j - (pos0_ + i), !causal, num_buckets, max_distance);
      std::memcpy(out + (i * tk + j) * H, rows + b * H, sizeof(float) * H);
    }
  }
  return y;
}

namespace {

void apply_activation(float* p, int64_t n, Activation kind) {
  switch (kind) {
    case Activation::GeluTanh:
      gelu_tanh(p, n);
      break;
    case Activation::GeluErf:
      gelu_erf(p, n);
      break;
    case Activation::Relu:
      relu(p, n);
      break;
    case Activation::Silu:
      silu(p, n);
      break;
    case Activation::Tanh:
      for (int64_t i = 0; i < n; ++i) p[i] = std::tanh(p[i]);
      break;
  }
}

void apply_glu(float* g, const float* up, int64_t n, GluKind kind) {
  switch (kind) {
    case GluKind::SwiGLU:
      swiglu(g, up, n);
      break;
    case GluKind::GEGLU:
      geglu(g, up, n);
      break;
    case GluKind::ReGLU:
      reglu(g, up, n);
      break;
  }
}

}  // namespace

// A batch's rows belong to different sequences: there the kernels run row by row, so their
// vector loops' scalar tails fall on the same elements as in one sequence's decode step (the
// SIMD exp and the scalar one round differently).
Act InferOps::activation(Act x, Activation kind) {
  const Buf in = buf(x);
  const int64_t parts = batch_ ? in.rows : 1, n = in.rows * in.cols / parts;
  for (int64_t r = 0; r < parts; ++r) apply_activation(in.p + r * n, n, kind);
  return x;
}

Act InferOps::glu(Act gate, Act up, GluKind kind) {
  const Buf g = buf(gate);
  const int64_t parts = batch_ ? g.rows : 1, n = g.rows * g.cols / parts;
  for (int64_t r = 0; r < parts; ++r) apply_glu(g.p + r * n, buf(up).p + r * n, n, kind);
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
