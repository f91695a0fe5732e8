// The word-level LM (models/rnn_lm.h) against PyTorch's word_language_model RNNModel goldens of
// tests/reference/models/recurrent_golden.py: its state dict loads from safetensors; two
// windows, the first one's final state carried (detached) into the second, give PyTorch's two
// losses, final state and every gradient of the second loss (untied LSTM, tied GRU).
//
// Criterion: losses within 1e-5 relative; per tensor max |loom - torch| / max |torch| <= 1e-5.
#include "models/rnn_lm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "golden_tensors.h"
#include "io/tensor_map.h"
#include "test_util.h"

namespace loom::models {
namespace {

double rel_err(const float* a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

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
