// Recurrent sequence ops (RNN tanh/ReLU, LSTM, GRU) and concat_cols: forward and backward.
// The per-step cell kernels come in pairs: cell_forward (also the inference path's, through
// recurrent_forward) and cell_backward beside it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/gemm.h"
#include "core/kernels.h"
#include "nn/recurrent.h"

namespace loom::nn {

int64_t gate_count(CellKind kind) {
  switch (kind) {
    case CellKind::Lstm:
      return 4;
    case CellKind::Gru:
      return 3;
    default:
      return 1;
  }
}

const char* cell_name(CellKind kind) {
  switch (kind) {
    case CellKind::RnnTanh:
      return "rnn_tanh";
    case CellKind::RnnRelu:
      return "rnn_relu";
    case CellKind::Lstm:
      return "lstm";
    case CellKind::Gru:
      return "gru";
  }
  return "?";
}

void check_layout(const SeqLayout& layout) {
  if (layout.seq_len < 1 || layout.batch < 1)
    throw Error("recurrent: sequence length " + std::to_string(layout.seq_len) + " and batch " +
                std::to_string(layout.batch) + ", expected both >= 1");
  if (layout.lengths == nullptr) return;
  for (int64_t b = 0; b < layout.batch; ++b)
    if (layout.lengths[b] < 1 || layout.lengths[b] > layout.seq_len)
      throw Error("recurrent: sequence " + std::to_string(b) + " has length " +
                  std::to_string(layout.lengths[b]) + ", expected 1.." +
                  std::to_string(layout.seq_len));
}

namespace {

inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// Saved values of one row (one sequence at one step) for backward; all null on inference.
struct RowSave {
  float *gates = nullptr, *h_prev = nullptr, *c_prev = nullptr, *gh_n = nullptr;
};

RowSave row_save(const RecurrentBuffers& b, int64_t r, int64_t gh_width, int64_t h) {
  RowSave s;
  if (b.gates == nullptr) return s;
  s.gates = b.gates + r * gh_width;
  s.h_prev = b.h_prev + r * h;
  if (b.c_prev != nullptr) s.c_prev = b.c_prev + r * h;
  if (b.gh_n != nullptr) s.gh_n = b.gh_n + r * h;
  return s;
}

// One step of one sequence: gx, gh (G·H) the step's input and recurrent projections (biases in);
// h, c (H) the state, updated in place; y (H) gets h'.
void cell_forward(CellKind kind, int64_t H, const float* gx, const float* gh, float* h, float* c,
                  float* y, const RowSave& s) {
  if (s.h_prev != nullptr) std::memcpy(s.h_prev, h, static_cast<size_t>(H) * sizeof(float));
  if (s.c_prev != nullptr) std::memcpy(s.c_prev, c, static_cast<size_t>(H) * sizeof(float));
  for (int64_t j = 0; j < H; ++j) {
    switch (kind) {
      case CellKind::RnnTanh:
      case CellKind::RnnRelu: {
        const float v = gx[j] + gh[j];
        h[j] = kind == CellKind::RnnTanh ? std::tanh(v) : (v > 0.0f ? v : 0.0f);
        if (s.gates != nullptr) s.gates[j] = h[j];
        break;
      }
      case CellKind::Lstm: {
        const float i = sigmoid(gx[j] + gh[j]), f = sigmoid(gx[H + j] + gh[H + j]);
        const float g = std::tanh(gx[2 * H + j] + gh[2 * H + j]);
        const float o = sigmoid(gx[3 * H + j] + gh[3 * H + j]);
        c[j] = f * c[j] + i * g;
        h[j] = o * std::tanh(c[j]);
        if (s.gates != nullptr) {
          s.gates[j] = i, s.gates[H + j] = f, s.gates[2 * H + j] = g, s.gates[3 * H + j] = o;
        }
        break;
      }
      case CellKind::Gru: {
        const float r = sigmoid(gx[j] + gh[j]), z = sigmoid(gx[H + j] + gh[H + j]);
        const float n = std::tanh(gx[2 * H + j] + r * gh[2 * H + j]);
        h[j] = (1.0f - z) * n + z * h[j];
        if (s.gates != nullptr) {
          s.gates[j] = r, s.gates[H + j] = z, s.gates[2 * H + j] = n;
          s.gh_n[j] = gh[2 * H + j];
        }
        break;
      }
    }
  }
  std::memcpy(y, h, static_cast<size_t>(H) * sizeof(float));
}

// Backward of cell_forward for one row. In: dh (H) = dL/dh', dc (H) = dL/dc' (LSTM). Out: dgx,
// dgh (G·H) the gradients of the two projections (equal but for GRU's n block), dh the part of
// dL/dh that bypasses W_hh (GRU's z·dh'; 0 otherwise), dc = dL/dc (LSTM).
void cell_backward(CellKind kind, int64_t H, const RowSave& s, float* dh, float* dc, float* dgx,
                   float* dgh) {
  const float* a = s.gates;
  for (int64_t j = 0; j < H; ++j) {
    switch (kind) {
      case CellKind::RnnTanh:
        dgx[j] = dgh[j] = dh[j] * (1.0f - a[j] * a[j]);
        dh[j] = 0.0f;
        break;
      case CellKind::RnnRelu:
        dgx[j] = dgh[j] = a[j] > 0.0f ? dh[j] : 0.0f;
        dh[j] = 0.0f;
        break;
      case CellKind::Lstm: {
        const float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
        const float cp = s.c_prev[j], tc = std::tanh(f * cp + i * g);
        const float dcn = dc[j] + dh[j] * o * (1.0f - tc * tc);
        dgx[j] = dgh[j] = dcn * g * i * (1.0f - i);
        dgx[H + j] = dgh[H + j] = dcn * cp * f * (1.0f - f);
        dgx[2 * H + j] = dgh[2 * H + j] = dcn * i * (1.0f - g * g);
        dgx[3 * H + j] = dgh[3 * H + j] = dh[j] * tc * o * (1.0f - o);
        dc[j] = dcn * f;
        dh[j] = 0.0f;
        break;
      }
      case CellKind::Gru: {
        const float r = a[j], z = a[H + j], n = a[2 * H + j];
        const float dn = dh[j] * (1.0f - z) * (1.0f - n * n);
        dgx[j] = dgh[j] = dn * s.gh_n[j] * r * (1.0f - r);
        dgx[H + j] = dgh[H + j] = dh[j] * (s.h_prev[j] - n) * z * (1.0f - z);
        dgx[2 * H + j] = dn;
        dgh[2 * H + j] = dn * r;
        dh[j] *= z;
        break;
      }
    }
  }
}

// y (rows, cols) += bias (cols) on every row.
void add_bias_rows(float* y, const float* bias, int64_t rows, int64_t cols) {
  if (bias == nullptr) return;
  for (int64_t i = 0; i < rows; ++i) loom::add(y + i * cols, bias, y + i * cols, cols);
}

// db (cols) += column sums of g (rows, cols).
void add_col_sums(float* db, const float* g, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) axpy(1.0f, g + i * cols, db, cols);
}

void copy_or_zero(float* dst, const float* src, int64_t n) {
  if (src != nullptr)
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
  else
    std::memset(dst, 0, static_cast<size_t>(n) * sizeof(float));
}

// Time index of sequence b at step s, or -1 when the sequence has ended.
inline int64_t step_time(const SeqLayout& l, bool reverse, int64_t s, int64_t b) {
  const int64_t len = l.length(b);
  if (s >= len) return -1;
  return reverse ? len - 1 - s : s;
}

// Sequences per task in the per-step cell loops: at least ~4096 state elements, so a small batch
// runs on the calling thread instead of paying a pool handoff at every time step.
inline int64_t row_grain(int64_t hidden) { return std::max<int64_t>(1, 4096 / hidden); }

}  // namespace

int64_t recurrent_scratch_floats(const RecurrentDims& d, const SeqLayout& layout) {
  const int64_t gw = gate_count(d.kind) * d.hidden;
  return layout.rows() * gw + layout.batch * gw + 2 * layout.batch * d.hidden;
}

void recurrent_forward(ThreadPool& pool, const RecurrentDims& d, const SeqLayout& l, bool reverse,
                       const RecurrentBuffers& b, float* scratch) {
  const int64_t H = d.hidden, gw = gate_count(d.kind) * H, N = l.rows(), B = l.batch;
  float* gx = scratch;      // (N, G·H)
  float* gh = gx + N * gw;  // (B, G·H)
  float* h = gh + B * gw;   // (B, H)
  float* c = h + B * H;     // (B, H)
  sgemm(pool, false, true, N, gw, d.input, 1.0f, b.x, d.input, b.w_ih, d.input, 0.0f, gx, gw);
  add_bias_rows(gx, b.b_ih, N, gw);
  copy_or_zero(h, b.h0, B * H);
  copy_or_zero(c, d.kind == CellKind::Lstm ? b.c0 : nullptr, B * H);
  if (l.lengths != nullptr) std::memset(b.y, 0, static_cast<size_t>(N * H) * sizeof(float));
  for (int64_t s = 0; s < l.seq_len; ++s) {
    sgemm(pool, false, true, B, gw, H, 1.0f, h, H, b.w_hh, H, 0.0f, gh, gw);
    add_bias_rows(gh, b.b_hh, B, gw);
    pool.parallel_for(B, row_grain(H), [&](int64_t b0, int64_t b1) {
      for (int64_t bi = b0; bi < b1; ++bi) {
        const int64_t t = step_time(l, reverse, s, bi);
        if (t < 0) continue;
        const int64_t r = l.row(t, bi);
        cell_forward(d.kind, H, gx + r * gw, gh + bi * gw, h + bi * H, c + bi * H, b.y + r * H,
                     row_save(b, r, gw, H));
      }
    });
  }
  std::memcpy(b.h_n, h, static_cast<size_t>(B * H) * sizeof(float));
  if (b.c_n != nullptr) std::memcpy(b.c_n, c, static_cast<size_t>(B * H) * sizeof(float));
}

// ---- the tape op ----
namespace {

// What backward needs of one call.
struct RecurrentCtx {
  CellKind kind;
  SeqLayout layout;  // lengths point at a tape copy
  bool reverse;
  int64_t input, hidden;
  Var x, h0, c0, y, h_n, c_n;
  RecurrentWeights w;
  RecurrentBuffers saved;
};

// Back through time: fills dgx, dgh (N, G·H) in row order, and dh, dc (B, H) with dL/dh0,
// dL/dc0.
void backward_through_time(Tape& t, const RecurrentCtx& k, float* dgx, float* dgh, float* dh,
                           float* dc) {
  const SeqLayout& l = k.layout;
  const int64_t H = k.hidden, gw = gate_count(k.kind) * H, B = l.batch;
  const float* dy = t.grad(k.y);
  const float* w_hh = t.data(k.w.w_hh);
  copy_or_zero(dh, t.grad(k.h_n), B * H);
  copy_or_zero(dc, k.c_n.defined() ? t.grad(k.c_n) : nullptr, B * H);
  float* dstep = t.save<float>(B * gw);  // (B, G·H): this step's dgh rows, 0 for ended ones
  for (int64_t s = l.seq_len - 1; s >= 0; --s) {
    std::memset(dstep, 0, static_cast<size_t>(B * gw) * sizeof(float));
    t.pool().parallel_for(B, row_grain(H), [&](int64_t b0, int64_t b1) {
      for (int64_t bi = b0; bi < b1; ++bi) {
        const int64_t tt = step_time(l, k.reverse, s, bi);
        if (tt < 0) continue;
        const int64_t r = l.row(tt, bi);
        axpy(1.0f, dy + r * H, dh + bi * H, H);
        cell_backward(k.kind, H, row_save(k.saved, r, gw, H), dh + bi * H, dc + bi * H,
                      dgx + r * gw, dstep + bi * gw);
        if (dgh != dgx) std::memcpy(dgh + r * gw, dstep + bi * gw, gw * sizeof(float));
      }
    });
    // dh (B, H) += dstep (B, G·H) · W_hh (G·H, H); ended sequences' rows of dstep are zero.
    sgemm(t.pool(), false, false, B, H, gw, 1.0f, dstep, gw, w_hh, H, 1.0f, dh, H);
  }
}

void recurrent_backward(Tape& t, const RecurrentCtx& k) {
  const SeqLayout& l = k.layout;
  const int64_t H = k.hidden, I = k.input, gw = gate_count(k.kind) * H, N = l.rows(), B = l.batch;
  auto zeros = [&](int64_t n) {
    float* p = t.save<float>(n);
    std::memset(p, 0, static_cast<size_t>(n) * sizeof(float));
    return p;
  };
  float* dgx = zeros(N * gw);
  float* dgh = k.kind == CellKind::Gru ? zeros(N * gw) : dgx;
  float* dh = t.save<float>(B * H);
  float* dc = t.save<float>(B * H);
  backward_through_time(t, k, dgx, dgh, dh, dc);
  if (k.h0.defined() && t.requires_grad(k.h0)) axpy(1.0f, dh, t.grad(k.h0), B * H);
  if (k.c0.defined() && t.requires_grad(k.c0)) axpy(1.0f, dc, t.grad(k.c0), B * H);
  if (t.requires_grad(k.x))  // dx (N, I) += dgx (N, G·H) · W_ih (G·H, I)
    sgemm(t.pool(), false, false, N, I, gw, 1.0f, dgx, gw, t.data(k.w.w_ih), I, 1.0f, t.grad(k.x),
          I);
  if (t.requires_grad(k.w.w_ih))  // dW_ih (G·H, I) += dgxᵀ · x
    sgemm(t.pool(), true, false, gw, I, N, 1.0f, dgx, gw, t.data(k.x), I, 1.0f, t.grad(k.w.w_ih),
          I);
  if (t.requires_grad(k.w.w_hh))  // dW_hh (G·H, H) += dghᵀ · h_prev (padded rows: 0)
    sgemm(t.pool(), true, false, gw, H, N, 1.0f, dgh, gw, k.saved.h_prev, H, 1.0f, t.grad(k.w.w_hh),
          H);
  if (k.w.b_ih.defined() && t.requires_grad(k.w.b_ih)) add_col_sums(t.grad(k.w.b_ih), dgx, N, gw);
  if (k.w.b_hh.defined() && t.requires_grad(k.w.b_hh)) add_col_sums(t.grad(k.w.b_hh), dgh, N, gw);
}

void check_shapes(Tape& t, CellKind kind, Var x, const RecurrentWeights& w, const SeqLayout& l,
                  Var h0, Var c0) {
  const int64_t gw = t.shape(w.w_ih)[0], H = gw / gate_count(kind);
  LOOM_ASSERT(t.shape(x).rank() == 2 && t.shape(x)[0] == l.rows(), "recurrent: x rows != T*B");
  LOOM_ASSERT(gw == gate_count(kind) * H && t.shape(w.w_ih)[1] == t.shape(x)[1],
              "recurrent: w_ih shape");
  LOOM_ASSERT(t.shape(w.w_hh) == (Shape{gw, H}), "recurrent: w_hh shape");
  for (Var b : {w.b_ih, w.b_hh})
    LOOM_ASSERT(!b.defined() || t.shape(b).numel() == gw, "recurrent: bias size");
  for (Var s : {h0, c0})
    LOOM_ASSERT(!s.defined() || t.shape(s).numel() == l.batch * H, "recurrent: h0/c0 size");
}

}  // namespace

RecurrentOutput recurrent(Tape& t, CellKind kind, Var x, const RecurrentWeights& w,
                          const SeqLayout& layout, bool reverse, Var h0, Var c0) {
  check_layout(layout);
  check_shapes(t, kind, x, w, layout, h0, c0);
  const int64_t gw = t.shape(w.w_ih)[0], H = gw / gate_count(kind), N = layout.rows(),
                B = layout.batch;
  const bool lstm = kind == CellKind::Lstm;
  if (!lstm) c0 = {};
  RecurrentOutput out;
  out.y = t.node(Shape{N, H}, {x, w.w_ih, w.w_hh, w.b_ih, w.b_hh, h0, c0});
  out.h_n = t.node(Shape{B, H}, {x, w.w_ih, w.w_hh, w.b_ih, w.b_hh, h0, c0});
  if (lstm) out.c_n = t.node(Shape{B, H}, {x, w.w_ih, w.w_hh, w.b_ih, w.b_hh, h0, c0});
  const bool rg = t.requires_grad(out.y);

  RecurrentCtx k{kind, layout, reverse, t.shape(x)[1], H, x, h0,
                 c0,   out.y,  out.h_n, out.c_n,       w, {}};
  if (layout.lengths != nullptr) {
    int32_t* lens = t.save<int32_t>(B);
    std::memcpy(lens, layout.lengths, static_cast<size_t>(B) * sizeof(int32_t));
    k.layout.lengths = lens;
  }
  RecurrentBuffers& b = k.saved;
  b.x = t.data(x), b.w_ih = t.data(w.w_ih), b.w_hh = t.data(w.w_hh);
  b.b_ih = w.b_ih.defined() ? t.data(w.b_ih) : nullptr;
  b.b_hh = w.b_hh.defined() ? t.data(w.b_hh) : nullptr;
  b.h0 = h0.defined() ? t.data(h0) : nullptr;
  b.c0 = c0.defined() ? t.data(c0) : nullptr;
  b.y = t.data(out.y), b.h_n = t.data(out.h_n), b.c_n = lstm ? t.data(out.c_n) : nullptr;
  if (rg) {
    b.gates = t.save<float>(N * gw);
    b.h_prev = t.save<float>(N * H);
    std::memset(b.h_prev, 0, static_cast<size_t>(N * H) * sizeof(float));  // padded rows
    if (lstm) b.c_prev = t.save<float>(N * H);
    if (kind == CellKind::Gru) b.gh_n = t.save<float>(N * H);
  }
  float* scratch = t.save<float>(recurrent_scratch_floats({kind, k.input, H}, layout));
  recurrent_forward(t.pool(), {kind, k.input, H}, k.layout, reverse, b, scratch);
  if (!rg) return out;
  // The outputs share one backward, attached to the last of them. The tape runs closures from
  // the last node down, and every consumer of y, h_n and c_n was recorded after all three, so
  // it sees complete gradients. Their gradients exist from here on (zeros until a consumer
  // adds to them), so the tape runs it whichever outputs are used, on every backward pass.
  t.grad(out.y);
  t.grad(out.h_n);
  if (lstm) t.grad(out.c_n);
  t.on_backward(lstm ? out.c_n : out.h_n, [&t, k] { recurrent_backward(t, k); });
  return out;
}

// ---- concat_cols: a (N,A), b (N,C) -> y (N, A+C) ----
Var concat_cols(Tape& t, Var a, Var b) {
  const int64_t n = t.shape(a)[0], wa = t.shape(a)[1], wb = t.shape(b)[1];
  LOOM_ASSERT(t.shape(b)[0] == n, "concat_cols: row counts differ");
  Var y = t.node(Shape{n, wa + wb}, {a, b});
  const float *ad = t.data(a), *bd = t.data(b);
  float* yd = t.data(y);
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(yd + i * (wa + wb), ad + i * wa, static_cast<size_t>(wa) * sizeof(float));
    std::memcpy(yd + i * (wa + wb) + wa, bd + i * wb, static_cast<size_t>(wb) * sizeof(float));
  }
  t.on_backward(y, [&t, a, b, y, n, wa, wb] {
    const float* dy = t.grad(y);
    float* da = t.grad(a);
    float* db = t.grad(b);
    for (int64_t i = 0; i < n; ++i) {
      if (da != nullptr) axpy(1.0f, dy + i * (wa + wb), da + i * wa, wa);
      if (db != nullptr) axpy(1.0f, dy + i * (wa + wb) + wa, db + i * wb, wb);
    }
  });
  return y;
}

}  // namespace loom::nn
