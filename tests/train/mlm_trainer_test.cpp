// Masked-LM pre-training: a BERT from scratch learns a toy language through attention (the loss
// falls below 60 % of ln 8, what knowing only its 8 words gives); the dynamic masking draws about
// 15 % of the maskable tokens per step, 80 % of them [MASK] and 10 % random; a run from a
// config.json stopped and resumed logs exactly the losses of an uninterrupted one and leaves a
// BertForMaskedLM folder.
#include "train/mlm_trainer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/mapped_file.h"
#include "models/hf.h"
#include "test_util.h"
#include "train/mlm_run.h"

namespace loom::train {
namespace {

constexpr int32_t kCls = 2, kSep = 3, kMask = 4, kPad = 0;

// [CLS] w w ... w [SEP] with w one of the words 5..12 of infer_bert's vocabulary: a masked
// token is any unmasked neighbour, so the loss can fall far below ln 8 only through attention.
std::vector<MlmSequence> toy_sequences(int n, int len) {
  std::vector<MlmSequence> out;
  for (int k = 0; k < n; ++k) {
    MlmSequence s{{kCls}, {}};
    for (int i = 0; i < len; ++i) s.ids.push_back(5 + k % 8);
    s.ids.push_back(kSep);
    out.push_back(s);
  }
  return out;
}

TEST(MlmTrainer, LossFallsAndMaskingStatsHold) {
  const models::HfModel bert =
      models::read_hf_model(loom::test::golden_path("models/infer_bert/bert_hf"));
  models::CausalLm model(bert.config);
  model.init(11);
  const std::vector<MlmSequence> seqs = toy_sequences(16, 14);
  MlmConfig mlm;
  mlm.vocab_size = bert.config.vocab_size;
  mlm.mask_id = kMask;
  mlm.special_ids = {kCls, kSep, kPad};
  TrainConfig cfg;
  cfg.batch = 8;
  cfg.seq = 16;
  cfg.schedule = {.lr = 3e-3f, .min_lr = 3e-4f, .warmup = 5, .total_steps = 100};
  ThreadPool pool(2);
  MlmTrainer tr(model, seqs, mlm, false, cfg, pool);
  const float before = tr.evaluate(seqs, 99);
  MlmStats total;
  for (int s = 0; s < 100; ++s) {
    MlmStats st;
    tr.step(&st);
    total.maskable += st.maskable;
    total.chosen += st.chosen;
    total.masked += st.masked;
    total.randomised += st.randomised;
    total.kept += st.kept;
  }
  const float after = tr.evaluate(seqs, 99);
  EXPECT_EQ(tr.evaluate(seqs, 99), after);  // the same masks from the same seed
  EXPECT_LT(after, 0.6f * std::log(8.0f));  // well below knowing only the 8 words
  EXPECT_LT(after, 0.3f * before);
  const double chosen = static_cast<double>(total.chosen) / static_cast<double>(total.maskable);
  const double masked = static_cast<double>(total.masked) / static_cast<double>(total.chosen);
  const double random = static_cast<double>(total.randomised) / static_cast<double>(total.chosen);
  EXPECT_EQ(total.maskable, 100 * 8 * 14);  // [CLS] and [SEP] are never chosen
  EXPECT_EQ(total.masked + total.randomised + total.kept, total.chosen);
  EXPECT_NEAR(chosen, 0.15, 0.02);
  EXPECT_NEAR(masked, 0.80, 0.05);
  EXPECT_NEAR(random, 0.10, 0.04);  // a random id equal to the original counts as kept
  std::printf("mlm toy: loss %.3f -> %.3f; chosen %.4f, [MASK] %.4f, random %.4f of chosen\n",
              before, after, chosen, masked, random);
}

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "loom_mlm_" + name;
  std::system(("rm -rf '" + d + "'").c_str());
  ::mkdir(d.c_str(), 0755);
  return d;
}

MlmRunOptions run_options(const std::string& dir) {
  write_file_atomic(dir + "/config.json",
                    R"({"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "intermediate_size": 64,
                        "max_position_embeddings": 32})");
  std::string text;
  for (int k = 0; k < 40; ++k) text += k % 2 ? "the a of to and in is it\n" : "that was for on\n";
  write_file_atomic(dir + "/text.txt", text);
  MlmRunOptions o;
  o.text = dir + "/text.txt";
  o.out = dir + "/run";
  o.heldout_every = 10;
  o.config = dir + "/config.json";
  o.tokenizer = loom::test::golden_path("models/infer_bert/bert_hf/vocab.txt");
  o.seq = 16;
  o.train.batch = 4;
  o.steps = 6;
  o.eval_every = 2;
  o.save_every = 2;
  return o;
}

// log.csv without tokens_per_s (timing) and val_loss (a stopped run evaluates at its last step).
std::vector<std::string> log_rows(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    std::vector<std::string> cols(1);
    for (char c : line)
      if (c == ',')
        cols.emplace_back();
      else
        cols.back().push_back(c);
    cols.erase(cols.begin() + 4, cols.begin() + 6);
    std::string row;
    for (const std::string& c : cols) row += c + ",";
    out.push_back(row);
  }
  return out;
}

TEST(MlmRun, ResumesExactlyAndSavesABertForMaskedLm) {
  ThreadPool pool(2);
  const std::string whole = temp_dir("whole"), split = temp_dir("split");
  MlmRun(run_options(whole), pool).train();
  MlmRunOptions o = run_options(split);
  o.stop_at = 3;
  MlmRun(o, pool).train();
  o.stop_at = 0;
  o.resume = true;
  const MlmRunResult r = MlmRun(o, pool).train();
  EXPECT_EQ(r.steps, 6);
  const auto a = log_rows(whole + "/run/log.csv"), b = log_rows(split + "/run/log.csv");
  ASSERT_EQ(a.size(), 8u);  // header, step 0's held-out loss, steps 1..6
  EXPECT_EQ(a, b);
  const models::HfModel saved = models::read_hf_model(whole + "/run");
  EXPECT_EQ(saved.config.arch, "bert");
  EXPECT_TRUE(saved.config.has_mlm_head);
  EXPECT_TRUE(saved.config.has_pooler);
  EXPECT_EQ(saved.config_json["architectures"][0], "BertForMaskedLM");
  EXPECT_THROW(encoder_config_json(whole + "/text.txt", 10), Error);
}

}  // namespace
}  // namespace loom::train
