// Sequence classification: BERT's classifier on the pooled [CLS] output and a Llama's score.weight
// at the last token, on right-padded batches, equal PyTorch (tests/reference/train/
// classify_golden.py: each sequence alone, float64) for the logits, the loss and every gradient;
// the same for the head on mean-pooled hidden states and for token classification (the head on
// every token, -100 positions without loss); training separates a toy task; HF-named heads
// round-trip through a saved folder.
#include "train/classify_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

#include "models/hf.h"
#include "models/hf_dir_util.h"
#include "tiny_decoder.h"
#include "train/objectives.h"

namespace loom::train {
namespace {

struct Case {
  const char* stem;
  std::string arch;
  std::optional<Pooling> pooling;
  bool token = false;  // per-token labels (token classification)
};

class ClassifyGolden : public ::testing::TestWithParam<Case> {};

models::DecoderConfig golden_config(const loom::test::Golden& g, const std::string& arch) {
  // The BERT golden has infer_bert/bert_hf's sizes (with a pooler and an MLM head).
  if (arch == "bert")
    return models::read_hf_model(loom::test::golden_path("models/infer_bert/bert_hf")).config;
  return test::golden_decoder(g, arch);
}

std::vector<ClassifyExample> golden_examples(const loom::test::Golden& g, bool token) {
  std::vector<ClassifyExample> out;
  const auto& ids = g.at("ids");
  const auto& labels = g.at("labels");
  size_t off = 0;
  for (size_t k = 0; k < g.at("lens").size(); ++k) {
    const auto len = static_cast<size_t>(g.at("lens")[k]);
    ClassifyExample e;
    e.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(off),
                 ids.begin() + static_cast<std::ptrdiff_t>(off + len));
    if (token)
      e.tags.assign(labels.begin() + static_cast<std::ptrdiff_t>(off),
                    labels.begin() + static_cast<std::ptrdiff_t>(off + len));
    else
      e.label = static_cast<int32_t>(labels[k]);
    e.line = static_cast<int64_t>(k) + 1;
    out.push_back(e);
    off += len;
  }
  return out;
}

TEST_P(ClassifyGolden, LossLogitsAndEveryGradientEqualTorch) {
  const loom::test::Golden g = loom::test::load_golden("train", GetParam().stem);
  models::CausalLm model(golden_config(g, GetParam().arch), {}, 3);
  for (auto& p : model.params().params()) {
    const auto& v = g.at("param." + p->name);
    ASSERT_EQ(static_cast<int64_t>(v.size()), p->numel()) << p->name;
    std::memcpy(p->value.data(), v.data(), v.size() * 4);
  }
  const std::vector<ClassifyExample> ex = golden_examples(g, GetParam().token);
  TrainConfig cfg;
  cfg.batch = static_cast<int64_t>(ex.size());
  cfg.seq = 16;
  ThreadPool pool(2);
  ClassifyTrainer tr(model, ex, cfg, pool, GetParam().pooling);
  model.params().zero_grad();
  ClassifyStats st;
  const float loss = tr.compute_gradients(ex, {0, 1, 2, 3}, 1.0f, &st);
  const float want = g.at("loss")[0];
  EXPECT_NEAR(loss, want, 1e-5);
  // The metric loss: a sum over the labelled rows (examples or tokens).
  EXPECT_NEAR(st.loss / static_cast<float>(st.count), want, 1e-5);
  std::vector<int32_t> predicted;
  const ClassifyStats ev = tr.evaluate(ex, &predicted);
  EXPECT_NEAR(ev.loss, want, 1e-5);
  const auto& logits = g.at("logits");
  const auto& labels = g.at("labels");
  int correct = 0, counted = 0;
  for (size_t k = 0; k < logits.size() / 3; ++k) {
    if (labels[k] == kIgnoreLabel) continue;
    const auto* r = logits.data() + 3 * k;
    const auto best = static_cast<int32_t>(std::max_element(r, r + 3) - r);
    ASSERT_LT(counted, static_cast<int>(predicted.size()));
    EXPECT_EQ(predicted[static_cast<size_t>(counted++)], best) << k;
    correct += best == static_cast<int32_t>(labels[k]) ? 1 : 0;
  }
  EXPECT_EQ(counted, static_cast<int>(predicted.size()));
  EXPECT_EQ(ev.count, counted);
  EXPECT_NEAR(ev.accuracy, static_cast<double>(correct) / counted, 1e-6);
  // Every gradient to 1e-5 of its scale; the zero ones (the unused MLM / LM head, BERT's key
  // biases) to 1e-6 of the largest (models/hf_dir_util.h).
  const double worst = loom::test::check_param_gradients(model.params(), g);
  std::printf("%s: loss %.7f (torch %.7f), %zu gradients, worst error %.2e\n", GetParam().stem,
              loss, want, model.params().params().size(), worst);
}

INSTANTIATE_TEST_SUITE_P(Models, ClassifyGolden,
                         ::testing::Values(Case{"classify_bert", "bert"},
                                           Case{"classify_llama", "llama"},
                                           Case{"classify_bert_mean", "bert", Pooling::Mean},
                                           Case{"classify_llama_mean", "llama", Pooling::Mean},
                                           Case{"classify_bert_token", "bert", {}, true}),
                         [](const auto& info) { return std::string(info.param.stem + 9); });

TEST(ClassifyTrainer, HeadsAreNamedAsTransformersNamesThem) {
  const models::HfModel bert =
      models::read_hf_model(loom::test::golden_path("models/infer_bert/bert_hf"));
  models::CausalLm b(bert.config, {}, 2);
  EXPECT_EQ(b.score_head()->name, "classifier.weight");
  ASSERT_NE(b.score_bias(), nullptr);
  EXPECT_EQ(b.score_bias()->name, "classifier.bias");
  models::CausalLm l(test::tiny_decoder("llama", 16, 8), {}, 2);
  EXPECT_EQ(l.score_head()->name, "score.weight");
  EXPECT_EQ(l.score_bias(), nullptr);
}

TEST(ClassifyTrainer, LearnsAToyTaskAndRefusesBadLabels) {
  ThreadPool pool(2);
  models::CausalLm model(test::tiny_decoder("llama", 16, 8), {}, 3);
  model.init(5, 0.1f);
  std::vector<ClassifyExample> ex;
  for (int32_t q = 1; q <= 6; ++q)  // the label is the last token's id mod 3
    ex.push_back({{1, q + 3, q, q + 6}, (q + 6) % 3, q});
  TrainConfig cfg;
  cfg.batch = 3;
  cfg.seq = 8;
  cfg.schedule = {.lr = 1e-2f, .min_lr = 1e-3f, .warmup = 1, .total_steps = 30};
  ClassifyTrainer tr(model, ex, cfg, pool);
  const ClassifyStats before = tr.evaluate(ex);
  for (int s = 0; s < 30; ++s) tr.step();
  const ClassifyStats after = tr.evaluate(ex);
  EXPECT_EQ(after.accuracy, 1.0f);
  EXPECT_LT(after.loss, before.loss * 0.5f);
  std::printf("classify toy: accuracy %.2f -> %.2f, loss %.3f -> %.3f\n", before.accuracy,
              after.accuracy, before.loss, after.loss);
  std::vector<ClassifyExample> bad = ex;
  bad[2].label = 3;
  EXPECT_THROW(ClassifyTrainer(model, bad, cfg, pool), Error);
  models::CausalLm lm(test::tiny_decoder("llama", 16, 8));
  EXPECT_THROW(ClassifyTrainer(lm, ex, cfg, pool), Error);
}

}  // namespace
}  // namespace loom::train
