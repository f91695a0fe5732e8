// Word-level recurrent LM (models/rnn_lm.h) and its truncated-BPTT trainer
// (train/rnn_lm_trainer.h): the vocabulary and stream layout, a finite-difference check of every
// parameter through embedding, LSTM stack, dropout, tied head and cross-entropy with a carried
// state, and a loss that falls on a slice of the Penn Treebank.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/rng.h"
#include "nn/grad_check.h"
#include "test_util.h"
#include "train/rnn_lm_trainer.h"

namespace loom::train {
namespace {

TEST(WordVocab, EosPerLineAndUnknownWords) {
  WordVocab v;
  v.add_text(" the cat <unk>\n the dog \n");
  EXPECT_EQ(v.size(), 5);  // the cat <unk> <eos> dog
  EXPECT_EQ(v.word(3), "<eos>");
  const std::vector<int32_t> ids = v.encode("the bird\ncat", "test");
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 2, 3, 1, 3}));
  WordVocab no_unk;
  no_unk.add_text("a b\n");
  EXPECT_THROW(no_unk.encode("a c\n", "test"), Error);
}

TEST(Batchify, ColumnsAreContiguousStreams) {
  const std::vector<int32_t> t = {0, 1, 2, 3, 4, 5, 6};
  // rows 3, batch 2: column 0 = 0 1 2, column 1 = 3 4 5; token 6 dropped
  EXPECT_EQ(batchify(t, 2), (std::vector<int32_t>{0, 3, 1, 4, 2, 5}));
}

// Every parameter's gradient by finite differences, the state carried in from a previous window
// (a non-zero h0/c0 with no gradient) and dropout on (the same masks every pass).
TEST(RnnLm, ParameterGradientsWithCarriedStateAndDropout) {
  ThreadPool pool(2);
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    models::RnnLmConfig c;
    c.vocab_size = 7, c.emb_size = 4, c.hidden_size = 4, c.num_layers = 2;
    c.dropout = 0.3f, c.tied = tied;
    models::RnnLm lm(c);
    lm.init(3);
    const int64_t T = 3, B = 2;
    Rng rng(5);
    std::vector<int32_t> ids(T * B), targets(T * B);
    for (auto& v : ids) v = static_cast<int32_t>(rng.below(7));
    for (auto& v : targets) v = static_cast<int32_t>(rng.below(7));
    models::RnnState s0 = lm.zero_state(B);
    for (auto& v : s0.h) v = rng.normal() * 0.5f;
    for (auto& v : s0.c) v = rng.normal() * 0.5f;
    auto res = nn::check_param_gradients(pool, lm.params(), [&](nn::Tape& t) {
      models::RnnState s = s0;
      return lm.loss(t, ids.data(), targets.data(), T, s, true, 11);
    });
    EXPECT_TRUE(res.ok) << res.worst << " (excess " << res.worst_excess << ")";
    EXPECT_GE(res.checked, 190);  // 24 coordinates of each matrix, every bias element
  }
}

// The carried state is the stack's final state: two windows of 3 equal one window of 6.
TEST(RnnLm, CarriedStateEqualsOneLongWindow) {
  ThreadPool pool(1);
  models::RnnLmConfig c;
  c.vocab_size = 9, c.emb_size = 5, c.hidden_size = 5, c.num_layers = 2, c.dropout = 0;
  models::RnnLm lm(c);
  lm.init(1);
  const int64_t B = 2;
  std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3}, tg(12, 0);
  nn::Tape t(pool);
  t.set_grad_enabled(false);
  models::RnnState one = lm.zero_state(B), two = lm.zero_state(B);
  lm.loss(t, ids.data(), tg.data(), 6, one, false, 0);
  lm.loss(t, ids.data(), tg.data(), 3, two, false, 0);
  lm.loss(t, ids.data() + 3 * B, tg.data(), 3, two, false, 0);
  for (size_t i = 0; i < one.h.size(); ++i) {
    EXPECT_NEAR(one.h[i], two.h[i], 1e-6f);
    EXPECT_NEAR(one.c[i], two.c[i], 1e-6f);
  }
}

// Truncated BPTT on the first 1,000 lines of PTB's validation text (about 21,000 words): after
// 150 steps (about 1.4 epochs) the held-out loss of the next 200 lines falls by more than one
// nat from the untrained model's (which is about ln V).
TEST(RnnLmTrainer, LossFallsOnPennTreebank) {
  const std::string path = test::data_path("corpora/ptb/ptb.valid.txt");
  LOOM_REQUIRE_DATA(path);
  const std::string all = read_file(path);
  size_t cut = 0, cut2 = 0;
  for (int i = 0; i < 1200; ++i) {
    cut2 = all.find('\n', cut2) + 1;
    if (i == 999) cut = cut2;
  }
  const std::string train_text = all.substr(0, cut), val_text = all.substr(cut, cut2 - cut);
  WordVocab vocab;
  vocab.add_text(train_text);
  vocab.add_text(" <unk>\n");
  const std::vector<int32_t> train = vocab.encode(train_text, path),
                             val = vocab.encode(val_text, path);
  models::RnnLmConfig c;
  c.vocab_size = vocab.size(), c.emb_size = 32, c.hidden_size = 32, c.num_layers = 2;
  c.dropout = 0.1f;
  models::RnnLm lm(c);
  lm.init(1);
  RnnLmTrainConfig tc;
  tc.batch = 10, tc.bptt = 20, tc.clip = 0.25f;
  tc.schedule = {
      .lr = 3e-3f, .min_lr = 3e-3f, .warmup = 0, .total_steps = 150, .decay = nn::Decay::Constant};
  tc.adamw.weight_decay = 0;
  ThreadPool pool(2);
  RnnLmTrainer trainer(lm, train, tc, pool);
  const float before = trainer.evaluate(val);
  EXPECT_NEAR(before, std::log(static_cast<float>(vocab.size())), 0.2f);
  double first = 0, last = 0;
  for (int s = 0; s < 150; ++s) {
    const StepStats st = trainer.step();
    if (s < 10) first += st.loss / 10;
    if (s >= 140) last += st.loss / 10;
  }
  const float after = trainer.evaluate(val);
  std::printf("PTB slice: V %lld, val loss %.3f -> %.3f, train loss (10 steps) %.3f -> %.3f\n",
              static_cast<long long>(vocab.size()), before, after, first, last);
  EXPECT_LT(after, before - 1.0f);
  EXPECT_LT(last, first - 1.0);
}

}  // namespace
}  // namespace loom::train
