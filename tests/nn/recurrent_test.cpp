// The recurrent sequence op (nn/recurrent.h): finite-difference gradients of every input for
// each cell kind, direction and layout, with and without per-sequence lengths and initial
// states; a padded batch equals each sequence run alone; concat_cols. Agreement with PyTorch is
// tests/models/recurrent_test.cpp's.
#include "nn/recurrent.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "nn/grad_check.h"
#include "nn/ops.h"

namespace loom::nn {
namespace {

Tensor randn(Shape s, Rng& rng, float scale = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal() * scale;
  return t;
}

struct Case {
  CellKind kind;
  bool reverse, batch_first, lengths, init_state;
};

std::string case_name(const Case& c) {
  return std::string(cell_name(c.kind)) + (c.reverse ? " reverse" : "") +
         (c.batch_first ? " batch_first" : "") + (c.lengths ? " lengths" : "") +
         (c.init_state ? " h0" : "");
}

// Fixed random weights that project the op's outputs (y, and h_n | c_n) to one scalar, so the
// checker reaches every output.
struct Projection {
  std::vector<float> ry, rh;
  Projection(int64_t n, int64_t b, int64_t h, bool lstm) {
    Rng rng(99);
    ry.resize(static_cast<size_t>(n * h));
    rh.resize(static_cast<size_t>(b * h * (lstm ? 2 : 1)));
    for (auto& v : ry) v = rng.uniform() * 2 - 1;
    for (auto& v : rh) v = rng.uniform() * 2 - 1;
  }
  Var operator()(Tape& t, const RecurrentOutput& o) const {
    Var hc = o.c_n.defined() ? concat_cols(t, o.h_n, o.c_n) : o.h_n;
    return add(t, weighted_sum(t, o.y, ry.data()), weighted_sum(t, hc, rh.data()));
  }
};

class RecurrentGrad : public ::testing::TestWithParam<int> {};  // param: thread count

TEST_P(RecurrentGrad, EveryInputOfEveryCellKind) {
  ThreadPool pool(GetParam());
  const int64_t T = 4, B = 3, I = 3, H = 4;
  const std::vector<int32_t> lens = {4, 2, 3};
  std::vector<Case> cases;
  for (CellKind k : {CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Lstm, CellKind::Gru})
    for (int v = 0; v < 4; ++v) cases.push_back({k, (v & 1) != 0, v == 2, v >= 2, v == 3});
  // ReLU has a kink at 0: where a perturbation moves a pre-activation across it, the central
  // difference measures nothing. With a step of 1e-3 (1e-2 for the smooth cells) and these seeds
  // no perturbation does; about half of other seeds hit one in some ReLU case. ReLU's gradients
  // are also checked against PyTorch in tests/models/recurrent_test.cpp.
  uint64_t seed = 20;
  for (const Case& c : cases) {
    SCOPED_TRACE(case_name(c));
    Rng rng(seed++);
    const int64_t gw = gate_count(c.kind) * H;
    Tensor x = randn({T * B, I}, rng), w_ih = randn({gw, I}, rng, 0.5f),
           w_hh = randn({gw, H}, rng, 0.5f), b_ih = randn({gw}, rng, 0.3f),
           b_hh = randn({gw}, rng, 0.3f), h0 = randn({B, H}, rng), c0 = randn({B, H}, rng);
    SeqLayout l{T, B, c.batch_first, c.lengths ? lens.data() : nullptr};
    std::vector<Tensor*> in = {&x, &w_ih, &w_hh, &b_ih, &b_hh};
    if (c.init_state) in.insert(in.end(), {&h0, &c0});
    const Projection proj(T * B, B, H, c.kind == CellKind::Lstm);
    // RNN and GRU ignore c0: the checker then confirms its gradient is zero.
    auto res = check_gradients(
        pool, in,
        [&](Tape& t, const std::vector<Var>& v) {
          Var s0 = c.init_state ? v[5] : Var{}, s1 = c.init_state ? v[6] : Var{};
          return proj(t,
                      recurrent(t, c.kind, v[0], {v[1], v[2], v[3], v[4]}, l, c.reverse, s0, s1));
        },
        // ReLU: a step of 1e-3 (f32 rounding of L, |L| ~ 5, stays ~1e-4 of the 2e-3 bound).
        {.h = c.kind == CellKind::RnnRelu ? 1e-3f : 1e-2f, .max_coords = 40, .seed = seed});
    EXPECT_TRUE(res.ok) << res.worst << " (excess " << res.worst_excess << ")";
    int64_t coords = 0;  // every coordinate of an input smaller than max_coords, else 40
    for (const Tensor* t : in) coords += std::min<int64_t>(t->numel(), 40);
    EXPECT_EQ(res.checked, coords);
  }
}

// Only one output feeding the loss (a sequence classifier reads h_n alone; a tagger y alone):
// the shared backward still runs, with zero gradients for the unused outputs.
TEST(Recurrent, GradientsWhenOnlyOneOutputIsUsed) {
  ThreadPool pool(1);
  const int64_t T = 4, B = 2, I = 3, H = 4;
  const std::vector<int32_t> lens = {4, 2};
  for (int which = 0; which < 3; ++which) {
    SCOPED_TRACE(which == 0 ? "y" : which == 1 ? "h_n" : "c_n");
    Rng rng(30 + which);
    Tensor x = randn({T * B, I}, rng), w_ih = randn({4 * H, I}, rng, 0.5f),
           w_hh = randn({4 * H, H}, rng, 0.5f), h0 = randn({B, H}, rng);
    auto res =
        check_gradients(pool, {&x, &w_ih, &w_hh, &h0}, [&](Tape& t, const std::vector<Var>& v) {
          RecurrentOutput o = recurrent(t, CellKind::Lstm, v[0], {v[1], v[2], {}, {}},
                                        {T, B, false, lens.data()}, true, v[3]);
          return which == 0 ? o.y : which == 1 ? o.h_n : o.c_n;
        });
    EXPECT_TRUE(res.ok) << res.worst << " (excess " << res.worst_excess << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, RecurrentGrad, ::testing::Values(1, 3));

// Runs one layer-direction on the tape without gradients and returns y, h_n, c_n.
struct Outputs {
  std::vector<float> y, h_n, c_n;
};
Outputs run_once(ThreadPool& pool, CellKind kind, const std::vector<float>& x, const Tensor& w_ih,
                 const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const SeqLayout& l,
                 bool reverse) {
  Tape t(pool);
  t.set_grad_enabled(false);
  const int64_t I = w_ih.shape()[1];
  Var xv = t.constant(TensorView(const_cast<float*>(x.data()), DType::F32, Shape{l.rows(), I}));
  RecurrentOutput o = recurrent(t, kind, xv,
                                {t.constant(w_ih.view()), t.constant(w_hh.view()),
                                 t.constant(b_ih.view()), t.constant(b_hh.view())},
                                l, reverse);
  auto vec = [&](Var v) {
    if (!v.defined()) return std::vector<float>();
    return std::vector<float>(t.data(v), t.data(v) + t.shape(v).numel());
  };
  return {vec(o.y), vec(o.h_n), vec(o.c_n)};
}

// A sequence of a padded batch gives what it gives alone at its own length (to GEMM rounding:
// BLAS may sum in another order for another row count; values are O(1)); padded steps output
// exactly zero.
TEST(Recurrent, PaddedBatchEqualsEachSequenceAlone) {
  constexpr float kTol = 1e-6f;
  ThreadPool pool(2);
  const int64_t T = 5, B = 3, I = 3, H = 4;
  const std::vector<int32_t> lens = {2, 5, 3};
  for (CellKind kind : {CellKind::RnnTanh, CellKind::Lstm, CellKind::Gru}) {
    for (bool reverse : {false, true}) {
      SCOPED_TRACE(std::string(cell_name(kind)) + (reverse ? " reverse" : ""));
      Rng rng(7);
      const int64_t gw = gate_count(kind) * H;
      Tensor x = randn({T * B, I}, rng), w_ih = randn({gw, I}, rng, 0.5f),
             w_hh = randn({gw, H}, rng, 0.5f), b_ih = randn({gw}, rng), b_hh = randn({gw}, rng);
      std::vector<float> xs(x.f32(), x.f32() + x.numel());
      Outputs all =
          run_once(pool, kind, xs, w_ih, w_hh, b_ih, b_hh, {T, B, false, lens.data()}, reverse);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t len = lens[static_cast<size_t>(b)];
        std::vector<float> one;  // rows t·B + b of x, t < len
        for (int64_t t = 0; t < len; ++t)
          one.insert(one.end(), xs.begin() + (t * B + b) * I, xs.begin() + (t * B + b + 1) * I);
        Outputs alone =
            run_once(pool, kind, one, w_ih, w_hh, b_ih, b_hh, {len, 1, false, nullptr}, reverse);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t j = 0; j < H; ++j) {
            const float got = all.y[static_cast<size_t>((t * B + b) * H + j)];
            if (t < len)
              EXPECT_NEAR(got, alone.y[static_cast<size_t>(t * H + j)], kTol) << b << " " << t;
            else
              EXPECT_EQ(got, 0.0f) << "padded step, b " << b << " t " << t;
          }
        for (int64_t j = 0; j < H; ++j) {
          EXPECT_NEAR(all.h_n[static_cast<size_t>(b * H + j)], alone.h_n[static_cast<size_t>(j)],
                      kTol);
          if (kind == CellKind::Lstm) {
            EXPECT_NEAR(all.c_n[static_cast<size_t>(b * H + j)], alone.c_n[static_cast<size_t>(j)],
                        kTol);
          }
        }
      }
    }
  }
}

// A batch and width large enough that the per-step cell loops split over threads: the same
// outputs and gradients on 1 and 3 threads (to GEMM rounding).
TEST(Recurrent, SameResultsOnAnyThreadCount) {
  const int64_t T = 3, B = 48, I = 16, H = 128, gw = 4 * H;
  Rng rng(12);
  Tensor x = randn({T * B, I}, rng), w_ih = randn({gw, I}, rng, 0.1f),
         w_hh = randn({gw, H}, rng, 0.1f), b = randn({gw}, rng, 0.1f);
  std::vector<int32_t> lens(B);
  for (int64_t i = 0; i < B; ++i) lens[static_cast<size_t>(i)] = static_cast<int32_t>(1 + i % T);
  auto grads = [&](int threads) {
    ThreadPool pool(threads);
    Tensor gx = Tensor::zeros(x.shape()), gw_hh = Tensor::zeros(w_hh.shape());
    Tape t(pool);
    RecurrentOutput o = recurrent(t, CellKind::Lstm, t.leaf(x.view(), gx.view()),
                                  {t.constant(w_ih.view()), t.leaf(w_hh.view(), gw_hh.view()),
                                   t.constant(b.view()), t.constant(b.view())},
                                  {T, B, true, lens.data()}, true);
    const Projection proj(T * B, B, H, true);
    t.backward(proj(t, o));
    std::vector<float> out(t.data(o.y), t.data(o.y) + T * B * H);
    out.insert(out.end(), gx.f32(), gx.f32() + gx.numel());
    out.insert(out.end(), gw_hh.f32(), gw_hh.f32() + gw_hh.numel());
    return out;
  };
  const std::vector<float> one = grads(1), three = grads(3);
  ASSERT_EQ(one.size(), three.size());
  for (size_t i = 0; i < one.size(); ++i) ASSERT_NEAR(one[i], three[i], 1e-5f) << i;
}

TEST(Recurrent, BadLengthsAreErrors) {
  ThreadPool pool(1);
  std::vector<int32_t> lens = {3, 0};
  EXPECT_THROW(check_layout({3, 2, false, lens.data()}), Error);
  lens = {4, 1};
  EXPECT_THROW(check_layout({3, 2, false, lens.data()}), Error);
  lens = {3, 1};
  EXPECT_NO_THROW(check_layout({3, 2, false, lens.data()}));
}

TEST(Recurrent, ConcatColsGradient) {
  ThreadPool pool(1);
  Rng rng(3);
  Tensor a = randn({4, 3}, rng), b = randn({4, 5}, rng);
  auto r = check_gradients(pool, {&a, &b}, [](Tape& t, const std::vector<Var>& v) {
    return concat_cols(t, v[0], v[1]);
  });
  EXPECT_TRUE(r.ok) << r.worst;
}

}  // namespace
}  // namespace loom::nn
