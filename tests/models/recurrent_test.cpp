// Recurrent stacks (models/recurrent.h) against torch.nn.RNN / LSTM / GRU goldens written by
// tests/reference/models/recurrent_golden.py: the PyTorch state dict loads from its safetensors
// file as it is; the training path (tape) matches the outputs, final states and the gradients of
// a random projection loss w.r.t. every weight, the input and the initial states; the inference
// path matches the outputs and final states. Also the word-level LM built on them.
//
// Criterion, per tensor: max |loom - torch| / max |torch| <= 1e-5 (torch in float64).
#include "models/recurrent.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "golden_tensors.h"
#include "io/tensor_map.h"
#include "models/rnn_lm.h"
#include "nn/grad_check.h"
#include "nn/ops.h"
#include "test_util.h"

namespace loom::models {
namespace {

using test::Golden;
using test::rel_err;

constexpr double kTol = 1e-5;

// Everything one golden configuration holds, in Loom's terms.
struct Case {
  std::string name;
  Golden g;
  RecurrentConfig cfg;
  std::vector<int32_t> lengths;
  nn::SeqLayout layout;
  int64_t slots() const { return cfg.num_layers * cfg.directions(); }  // L·D
  int64_t state() const { return layout.batch * cfg.hidden_size; }     // B·H
  bool lstm() const { return cfg.kind == nn::CellKind::Lstm; }
  std::string weights() const {
    return test::golden_path("models/recurrent/" + name + ".safetensors");
  }
};

Case load_case(const std::string& name) {
  Case c;
  c.name = name;
  c.g = test::load_golden("models/recurrent", name);
  auto i = [&](const char* k) { return std::stoll(c.g.config.at(k)); };
  c.cfg.kind = cell_kind_from_name(c.g.config.at("mode"));
  c.cfg.input_size = i("input_size");
  c.cfg.hidden_size = i("hidden_size");
  c.cfg.num_layers = i("num_layers");
  c.cfg.bidirectional = i("bidirectional") != 0;
  c.cfg.batch_first = i("batch_first") != 0;
  if (i("packed") != 0)
    for (float v : c.g.at("lengths")) c.lengths.push_back(static_cast<int32_t>(v));
  c.layout = {i("seq_len"), i("batch"), c.cfg.batch_first,
              c.lengths.empty() ? nullptr : c.lengths.data()};
  return c;
}

// What the tape path produced, as flat vectors in PyTorch's layouts.
struct TapeRun {
  std::vector<float> y, h_n, c_n, grad_x, grad_h0, grad_c0;
  float loss = 0;
};

// (L·D) leaves of (B, H) over one (L·D, B, H) tensor and its gradient.
std::vector<nn::Var> state_leaves(nn::Tape& t, const Case& c, Tensor& v, Tensor& g) {
  std::vector<nn::Var> out;
  for (int64_t s = 0; s < c.slots(); ++s) {
    const Shape sh{c.layout.batch, c.cfg.hidden_size};
    out.push_back(t.leaf(TensorView(v.f32() + s * c.state(), DType::F32, sh),
                         TensorView(g.f32() + s * c.state(), DType::F32, sh)));
  }
  return out;
}

Tensor from(const std::vector<float>& v, Shape s) {
  Tensor t = Tensor::empty(s);
  std::copy(v.begin(), v.end(), t.f32());
  return t;
}

std::vector<float> gather(nn::Tape& t, const std::vector<nn::Var>& vs) {
  std::vector<float> out;
  for (nn::Var v : vs) out.insert(out.end(), t.data(v), t.data(v) + t.shape(v).numel());
  return out;
}

// L = sum(y·r_y) + sum(h_n·r_h) [+ sum(c_n·r_c)], PyTorch's projection, on the tape.
nn::Var projection_loss(nn::Tape& t, const Case& c, const RecurrentStack::Output& o) {
  nn::Var loss = nn::weighted_sum(t, o.y, c.g.at("r_y").data());
  for (size_t s = 0; s < o.h_n.size(); ++s) {
    const int64_t off = static_cast<int64_t>(s) * c.state();
    loss = nn::add(t, loss, nn::weighted_sum(t, o.h_n[s], c.g.at("r_h").data() + off));
    if (c.lstm())
      loss = nn::add(t, loss, nn::weighted_sum(t, o.c_n[s], c.g.at("r_c").data() + off));
  }
  return loss;
}

TapeRun run_tape(ThreadPool& pool, const Case& c, nn::ParamStore& params) {
  const int64_t N = c.layout.rows(), all_states = c.slots() * c.state();
  Tensor x = from(c.g.at("x"), {N, c.cfg.input_size}), gx = Tensor::zeros(x.shape());
  Tensor h0 = Tensor::zeros({all_states}), gh0 = Tensor::zeros({all_states});
  Tensor c0 = Tensor::zeros({all_states}), gc0 = Tensor::zeros({all_states});
  const bool init = c.g.tensors.count("h0") > 0;
  if (init) h0 = from(c.g.at("h0"), {all_states});
  if (init && c.lstm()) c0 = from(c.g.at("c0"), {all_states});
  RecurrentStack stack(c.cfg, params);
  params.finalize();
  stack.load(io::read_safetensors(c.weights()));
  nn::Tape t(pool);
  nn::Var xv = t.leaf(x.view(), gx.view());
  std::vector<nn::Var> h0s, c0s;
  if (init) h0s = state_leaves(t, c, h0, gh0);
  if (init && c.lstm()) c0s = state_leaves(t, c, c0, gc0);
  RecurrentStack::Output o = stack.forward(t, xv, c.layout, h0s, c0s);
  nn::Var loss = projection_loss(t, c, o);
  t.backward(loss);
  TapeRun r;
  r.y.assign(t.data(o.y), t.data(o.y) + t.shape(o.y).numel());
  r.h_n = gather(t, o.h_n);
  r.c_n = gather(t, o.c_n);
  r.loss = t.data(loss)[0];
  r.grad_x.assign(gx.f32(), gx.f32() + gx.numel());
  r.grad_h0.assign(gh0.f32(), gh0.f32() + gh0.numel());
  r.grad_c0.assign(gc0.f32(), gc0.f32() + gc0.numel());
  return r;
}

class RecurrentGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(RecurrentGolden, TapeForwardAndEveryGradientMatchPyTorch) {
  const Case c = load_case(GetParam());
  SCOPED_TRACE(c.cfg.describe());
  ThreadPool pool(2);
  nn::ParamStore params;
  const TapeRun r = run_tape(pool, c, params);
  EXPECT_LE(rel_err(r.y.data(), c.g.at("y")), kTol) << "y";
  EXPECT_LE(rel_err(r.h_n.data(), c.g.at("h_n")), kTol) << "h_n";
  if (c.lstm()) {
    EXPECT_LE(rel_err(r.c_n.data(), c.g.at("c_n")), kTol) << "c_n";
  }
  EXPECT_NEAR(r.loss, c.g.at("loss")[0], kTol * std::fabs(c.g.at("loss")[0]));
  EXPECT_LE(rel_err(r.grad_x.data(), c.g.at("grad.x")), kTol) << "grad.x";
  for (const char* k : {"h0", "c0"}) {
    if (c.g.tensors.count(std::string("grad.") + k) == 0) continue;
    const std::vector<float>& got = k[0] == 'h' ? r.grad_h0 : r.grad_c0;
    EXPECT_LE(rel_err(got.data(), c.g.at(std::string("grad.") + k)), kTol) << "grad." << k;
  }
  int checked = 0;
  for (const std::string& n : recurrent_tensor_names(c.cfg)) {
    EXPECT_LE(rel_err(params.get(n).grad.f32(), c.g.at("grad." + n)), kTol) << "grad." << n;
    ++checked;
  }
  EXPECT_EQ(checked, c.slots() * 4);
}

TEST_P(RecurrentGolden, InferenceMatchesPyTorch) {
  const Case c = load_case(GetParam());
  SCOPED_TRACE(c.cfg.describe());
  ThreadPool pool(2);
  const io::TensorMap map = io::read_safetensors(c.weights());
  const RecurrentModel model(c.cfg, map);
  const int64_t all_states = c.slots() * c.state();
  std::vector<float> y(static_cast<size_t>(c.layout.rows() * c.cfg.output_size()), NAN),
      h_n(static_cast<size_t>(all_states)), c_n(static_cast<size_t>(all_states));
  const bool init = c.g.tensors.count("h0") > 0;
  model.forward(pool, c.g.at("x").data(), c.layout, init ? c.g.at("h0").data() : nullptr,
                init && c.lstm() ? c.g.at("c0").data() : nullptr, y.data(), h_n.data(), c_n.data());
  EXPECT_LE(rel_err(y.data(), c.g.at("y")), kTol) << "y";
  EXPECT_LE(rel_err(h_n.data(), c.g.at("h_n")), kTol) << "h_n";
  if (c.lstm()) {
    EXPECT_LE(rel_err(c_n.data(), c.g.at("c_n")), kTol) << "c_n";
  }
}

INSTANTIATE_TEST_SUITE_P(Torch, RecurrentGolden,
                         ::testing::Values("rnn_tanh_bi_packed", "rnn_relu_bi_packed",
                                           "lstm_bi_packed", "gru_bi_packed",
                                           "lstm_uni_batch_first", "gru_uni", "rnn_tanh_bi_full"));

// Dropout acts between layers only while training: off, the stack equals PyTorch's eval output;
// on, layer 0's output is masked (so y changes) and the finite-difference check of every
// parameter through the whole stack (dropout included, same seed each pass) holds.
TEST(RecurrentStack, DropoutBetweenLayersOnlyWhileTraining) {
  Case c = load_case("lstm_bi_packed");
  c.cfg.dropout = 0.5f;
  ThreadPool pool(2);
  nn::ParamStore params;
  RecurrentStack stack(c.cfg, params);
  params.finalize();
  stack.load(io::read_safetensors(c.weights()));
  Tensor x = from(c.g.at("x"), {c.layout.rows(), c.cfg.input_size});
  auto y_of = [&](bool training) {
    nn::Tape t(pool);
    t.set_grad_enabled(false);
    nn::Var y = stack.forward(t, t.constant(x.view()), c.layout, {}, {}, training, 5).y;
    return std::vector<float>(t.data(y), t.data(y) + t.shape(y).numel());
  };
  const std::vector<float> eval = y_of(false), train = y_of(true);
  EXPECT_EQ(eval, y_of(false));
  EXPECT_EQ(train, y_of(true));  // same seed, same mask
  EXPECT_GT(rel_err(train.data(), eval), 1e-2);
  auto res = nn::check_param_gradients(pool, params, [&](nn::Tape& t) {
    RecurrentStack::Output o = stack.forward(t, t.constant(x.view()), c.layout, {}, {}, true, 5);
    return projection_loss(t, c, o);
  });
  EXPECT_TRUE(res.ok) << res.worst << " (excess " << res.worst_excess << ")";
  EXPECT_GE(res.checked, 16 * 24);
}

TEST(RecurrentStack, WrongShapeOrMissingTensorIsNamed) {
  Case c = load_case("gru_uni");
  c.cfg.hidden_size = 7;
  const io::TensorMap map = io::read_safetensors(c.weights());
  try {
    RecurrentModel m(c.cfg, map);
    FAIL() << "loaded a hidden_size 6 state dict as 7";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight_ih_l0"), std::string::npos) << e.what();
  }
  c.cfg.hidden_size = 6;
  c.cfg.num_layers = 2;
  try {
    RecurrentModel m(c.cfg, map);
    FAIL() << "loaded a 1-layer state dict as 2 layers";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight_ih_l1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cell_kind_from_name("transformer"), Error);
}

// The word-level LM (models/rnn_lm.h) against PyTorch's word_language_model RNNModel: its state
// dict loads; two windows, the first one's final state carried (detached) into the second, give
// PyTorch's two losses, final state and every gradient of the second loss (untied LSTM, tied
// GRU), at the same criterion.
std::vector<int32_t> ids_of(const std::vector<float>& v) {
  std::vector<int32_t> out;
  for (float x : v) out.push_back(static_cast<int32_t>(x));
  return out;
}

class RnnLmGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(RnnLmGolden, CarriedStateLossesAndGradientsMatchPyTorch) {
  const test::Golden g = test::load_golden("models/recurrent", GetParam());
  auto i = [&](const char* k) { return std::stoll(g.config.at(k)); };
  RnnLmConfig c;
  c.kind = cell_kind_from_name(g.config.at("mode"));
  c.vocab_size = i("vocab"), c.emb_size = i("emb"), c.hidden_size = i("hidden");
  c.num_layers = i("layers"), c.tied = i("tied") != 0, c.dropout = 0.0f;
  RnnLm lm(c);
  lm.load(
      io::read_safetensors(test::golden_path("models/recurrent/" + GetParam() + ".safetensors")));
  const int64_t T = i("seq_len"), B = i("batch");
  const std::vector<int32_t> ids1 = ids_of(g.at("ids1")), tg1 = ids_of(g.at("targets1")),
                             ids2 = ids_of(g.at("ids2")), tg2 = ids_of(g.at("targets2"));
  ThreadPool pool(2);
  nn::Tape t(pool);
  RnnState state = lm.zero_state(B);
  t.set_grad_enabled(false);
  const float loss1 = t.data(lm.loss(t, ids1.data(), tg1.data(), T, state, false, 0))[0];
  t.reset();
  t.set_grad_enabled(true);
  lm.params().zero_grad();
  nn::Var loss2 = lm.loss(t, ids2.data(), tg2.data(), T, state, false, 0);
  t.backward(loss2);
  EXPECT_NEAR(loss1, g.at("loss1")[0], 1e-5 * g.at("loss1")[0]);
  EXPECT_NEAR(t.data(loss2)[0], g.at("loss2")[0], 1e-5 * g.at("loss2")[0]);
  EXPECT_LE(rel_err(state.h.data(), g.at("h_n")), 1e-5);
  int checked = 0;
  for (const auto& p : lm.params().params()) {
    EXPECT_LE(rel_err(p->grad.f32(), g.at("grad." + p->name)), 1e-5) << p->name;
    ++checked;
  }
  EXPECT_EQ(checked, 4 * c.num_layers + (c.tied ? 2 : 3));
}

INSTANTIATE_TEST_SUITE_P(Torch, RnnLmGolden, ::testing::Values("lm_lstm", "lm_gru_tied"));

}  // namespace
}  // namespace loom::models
