// Masked-LM pre-training: a BERT from scratch learns a toy language through attention (the loss
// falls below 60 % of ln 8, what knowing only its 8 words gives); the dynamic masking draws about
// 15 % of the maskable tokens per step, 80 % of them [MASK] and 10 % random; a run from a
// config.json stopped and resumed logs exactly the losses of an uninterrupted one and leaves a
// BertForMaskedLM folder. The encoder-decoder objectives: the trainer's span-corruption batch is
// t5_span_corrupt's with the same draws, fed to seq2seq_loss with the decoder inputs shifted
// right behind decoder_start_token_id; a T5/BART config.json without weights gives the config
// the architecture reads from a real folder, and bad ones fail naming the field.
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
#include "train/objectives.h"

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

TEST(Seq2seqObjective, SpanBatchIsT5SpanCorruptThroughSeq2seqLoss) {
  const models::HfModel hf = models::read_hf_model(loom::test::golden_path("models/t5/t5_hf"));
  models::CausalLm model(hf.config);
  models::load_hf_weights(model, hf.tensors);
  std::vector<MlmSequence> seqs;
  for (int k = 0; k < 3; ++k) {
    MlmSequence s;
    for (int i = 0; i < 6 + 3 * k; ++i) s.ids.push_back(2 + (7 * i + 3 * k) % 20);
    seqs.push_back(s);
  }
  Seq2seqNoise noise;
  noise.objective = Objective::Span;
  noise.span.eos_id = 1;
  noise.span.sentinel_ids = t5_sentinel_ids(hf.config.vocab_size, 10);
  TrainConfig cfg;
  cfg.batch = 3;
  cfg.seq = 16;
  ThreadPool pool(1);
  MlmTrainer tr(model, seqs, {}, false, cfg, pool, noise);
  Rng rng(7);
  RngDraws draws(rng);
  nn::Tape t(pool, cfg.compute);
  const float got = tr.run_batch(seqs, {0, 1, 2}, draws, t, 1.0f, false, nullptr);
  // The same draws, the batch assembled by hand; each example alone (no padding) averaged by
  // its target count, as the batch's mean over all target tokens is.
  Rng rng2(7);
  RngDraws draws2(rng2);
  double sum = 0;
  int64_t count = 0;
  for (const MlmSequence& s : seqs) {
    const SpanCorrupted c = t5_span_corrupt(s.ids, noise.span, draws2);
    std::vector<int32_t> dec = {hf.config.decoder_start_token_id};
    dec.insert(dec.end(), c.labels.begin(), c.labels.end() - 1);
    const std::vector<uint8_t> em(c.input_ids.size(), 1), dm(dec.size(), 1);
    const models::TokenBatch in{
        c.input_ids.data(), 1,          static_cast<int64_t>(c.input_ids.size()), nullptr,
        em.data(),          dec.data(), static_cast<int64_t>(dec.size()),         dm.data()};
    nn::Tape t2(pool, cfg.compute);
    sum += t2.data(model.seq2seq_loss(t2, in, c.labels.data()))[0] *
           static_cast<double>(c.labels.size());
    count += static_cast<int64_t>(c.labels.size());
  }
  EXPECT_NEAR(got, sum / static_cast<double>(count), 1e-5);
  std::printf("span batch loss %.6f, by hand %.6f\n", got, sum / static_cast<double>(count));
  Seq2seqNoise mlm;  // the mlm objective refuses an encoder-decoder
  EXPECT_THROW(MlmTrainer(model, seqs, {}, false, cfg, pool, mlm), Error);
}

TEST(Seq2seqObjective, ConfigWithoutWeightsEqualsTheFoldersConfig) {
  const std::string dir = temp_dir("s2s_config");
  for (const char* arch : {"t5", "bart"}) {
    const std::string folder =
        loom::test::golden_path(std::string("models/") + arch + "/" + arch + "_hf");
    const models::HfModel hf = models::read_hf_model(folder);
    const models::DecoderConfig c = seq2seq_config_json(folder + "/config.json", 999);
    EXPECT_EQ(c.arch, hf.config.arch);
    EXPECT_EQ(c.dim, hf.config.dim) << arch;
    EXPECT_EQ(c.n_layers, hf.config.n_layers) << arch;
    EXPECT_EQ(c.n_decoder_layers, hf.config.n_decoder_layers) << arch;
    EXPECT_EQ(c.hidden_dim, hf.config.hidden_dim) << arch;
    EXPECT_EQ(c.head_dim, hf.config.head_dim) << arch;
    EXPECT_EQ(c.vocab_size, hf.config.vocab_size) << arch;
    EXPECT_EQ(c.decoder_start_token_id, hf.config.decoder_start_token_id) << arch;
    EXPECT_EQ(c.pad_token_id, hf.config.pad_token_id) << arch;
  }
  auto error_of = [&](const std::string& json) {
    write_file_atomic(dir + "/c.json", json);
    try {
      seq2seq_config_json(dir + "/c.json", 50);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(R"({"model_type": "bert"})").find("model_type"), std::string::npos);
  EXPECT_NE(error_of(R"({"model_type": "t5", "d_model": -4})").find("\"d_model\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model_type": "t5", "d_model": 1e30})").find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model_type": "t5", "d_model": "x"})").find("expected a number"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"model_type": "t5", "d_model": 4000000, "d_ff": 4000000, "num_heads": 4, "num_layers": 1, "d_kv": 8})")
          .find("2^28"),
      std::string::npos);
  EXPECT_NE(error_of("[1]").find("expected a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace loom::train
