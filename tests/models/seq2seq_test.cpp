// Sequence-to-sequence with Bahdanau attention (models/seq2seq.h) against the PyTorch tutorial
// modules of tests/reference/models/seq2seq_golden.py: the state dict loads from safetensors and
// the teacher-forced loss and every parameter gradient match (loss within 1e-5 relative; per
// tensor max |loom - torch| / max |torch| <= 1e-5, 3e-5 for three, see tolerance()), on sources of
// different lengths and targets with ignored positions; and finite differences through the whole
// model with dropout on.
#include "models/seq2seq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "golden_tensors.h"
#include "io/tensor_map.h"
#include "nn/grad_check.h"
#include "test_util.h"

namespace loom::models {
namespace {

using test::rel_err;

std::vector<int32_t> ints(const std::vector<float>& v) {
  std::vector<int32_t> out;
  for (float x : v) out.push_back(static_cast<int32_t>(x));
  return out;
}

// The score gradients of one query sum to zero (softmax), so the gradients that collect them
// without a per-position weight, the query projection Wa (weight and bias) and Ua's bias, are
// small differences of large terms: PyTorch's own float32 run of the golden is 3.3e-6, 2.0e-6 and
// 2.5e-6 from float64 there against about 1e-7 elsewhere. Loom measures 1.2e-5, 4.9e-6, 5.1e-6
// there and at most 6.6e-7 elsewhere; those three are held to 3e-5, the rest to 1e-5.
double tolerance(const std::string& name) {
  for (const char* n :
       {"decoder.attention.Wa.weight", "decoder.attention.Wa.bias", "decoder.attention.Ua.bias"})
    if (name == n) return 3e-5;
  return 1e-5;
}

TEST(Seq2Seq, TeacherForcedLossAndEveryGradientMatchPyTorch) {
  const test::Golden g = test::load_golden("models/seq2seq", "gru");
  auto i = [&](const char* k) { return std::stoll(g.config.at(k)); };
  Seq2SeqConfig c;
  c.src_vocab = i("src_vocab"), c.tgt_vocab = i("tgt_vocab"), c.emb_size = i("emb");
  c.hidden_size = i("hidden"), c.encoder_layers = i("encoder_layers"), c.dropout = 0;
  Seq2Seq m(c);
  m.load(io::read_safetensors(test::golden_path("models/seq2seq/gru.safetensors")));
  const int64_t B = i("batch"), S = i("src_len"), T = i("tgt_len");
  const std::vector<int32_t> src = ints(g.at("src")), lens = ints(g.at("src_lens")),
                             tin = ints(g.at("tgt_in")), tout = ints(g.at("tgt_out"));
  ThreadPool pool(2);
  nn::Tape t(pool);
  nn::Var loss = m.loss(t, src.data(), lens.data(), B, S, tin.data(), tout.data(), T, false, 0);
  t.backward(loss);
  EXPECT_NEAR(t.data(loss)[0], g.at("loss")[0], 1e-5 * g.at("loss")[0]);
  for (const auto& p : m.params().params())
    EXPECT_LE(rel_err(p->grad.f32(), g.at("grad." + p->name)), tolerance(p->name)) << p->name;
  size_t golden_grads = 0;
  for (const auto& [name, v] : g.tensors) golden_grads += name.rfind("grad.", 0) == 0;
  EXPECT_EQ(m.params().size() + 1, golden_grads);  // every golden gradient but Va.bias
  // Va's bias shifts every score equally: softmax drops it, and PyTorch's gradient is ~0.
  EXPECT_LT(std::fabs(g.at("grad.decoder.attention.Va.bias")[0]), 1e-12);
}

TEST(Seq2Seq, FiniteDifferencesWithDropout) {
  Seq2SeqConfig c;
  c.src_vocab = 6, c.tgt_vocab = 5, c.emb_size = 3, c.hidden_size = 4, c.dropout = 0.2f;
  Seq2Seq m(c);
  m.init(2);
  const std::vector<int32_t> src = {1, 2, 3, 4, 5, 0, 0, 0}, lens = {4, 2},
                             tin = {0, 1, 2, 0, 3, 4}, tout = {1, 2, 3, 3, 4, -100};
  ThreadPool pool(1);
  auto res = nn::check_param_gradients(pool, m.params(), [&](nn::Tape& t) {
    return m.loss(t, src.data(), lens.data(), 2, 4, tin.data(), tout.data(), 3, true, 7);
  });
  EXPECT_TRUE(res.ok) << res.worst << " (excess " << res.worst_excess << ")";
  EXPECT_GT(res.checked, 200);
}

TEST(Seq2Seq, RefusesAnLstmCell) {
  Seq2SeqConfig c;
  c.src_vocab = 4, c.tgt_vocab = 4, c.kind = nn::CellKind::Lstm;
  EXPECT_THROW(Seq2Seq{c}, Error);
}

}  // namespace
}  // namespace loom::models
