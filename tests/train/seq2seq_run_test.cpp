// The dates run (train/seq2seq_run.h): a short run writes a folder that loads back to the same
// model (same test accuracy, same translation), and config.json errors name the field.
#include "train/seq2seq_run.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace loom::train {
namespace {

std::string error_of(const std::string& json) {
  try {
    parse_seq2seq_config(json, "c.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Seq2SeqRun, ConfigErrorsNameTheField) {
  const std::string ok =
      R"({"cell": "gru", "src_vocab": 60, "tgt_vocab": 13, "emb_size": 8, "hidden_size": 8,
          "encoder_layers": 1, "bidirectional": true, "dropout": 0.1, "bos_token_id": 0,
          "eos_token_id": 1, "unk_token_id": 1, "max_len": 12,
          "task": {"seed": 3, "train": 10, "valid": 2, "test": 2}})";
  const Seq2SeqFolderConfig c = parse_seq2seq_config(ok, "c.json");
  EXPECT_EQ(c.model.src_vocab, 60);
  EXPECT_TRUE(c.model.bidirectional);
  EXPECT_EQ(c.task.seed, 3u);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = ok;
    s.replace(s.find(from), from.size(), to);
    return error_of(s);
  };
  EXPECT_NE(with("\"hidden_size\": 8", "\"hidden_size\": 99999999").find("hidden_size"),
            std::string::npos);
  EXPECT_NE(with("\"emb_size\": 8", "\"emb_size\": \"8\"").find("emb_size"), std::string::npos);
  EXPECT_NE(with("\"max_len\": 12,", "").find("max_len"), std::string::npos);
  EXPECT_NE(with("\"eos_token_id\": 1", "\"eos_token_id\": 13").find("eos_token_id"),
            std::string::npos);
  EXPECT_NE(with("\"gru\"", "\"lstm\"").find("lstm"), std::string::npos);
  EXPECT_NE(with("\"test\": 2}", "\"test\": 0}").find("test"), std::string::npos);
  EXPECT_NE(error_of("[1, 2").find("byte"), std::string::npos);
}

TEST(Seq2SeqRun, AFolderLoadsBackToTheSameModel) {
  const std::string dir = ::testing::TempDir() + "/seq2seq_run_test";
  std::filesystem::remove_all(dir);
  Seq2SeqRunOptions o;
  o.out = dir;
  o.task = {5, 300, 20, 30};
  o.model.emb_size = 8, o.model.hidden_size = 16, o.model.bidirectional = true;
  o.batch = 16, o.steps = 20, o.eval_every = 10;
  o.beam.num_beams = 2;
  ThreadPool pool(2);
  int calls = 0;
  const Seq2SeqRunResult r = run_seq2seq_dates(o, pool, [&](const StepStats&, float) { ++calls; });
  EXPECT_EQ(calls, 20);
  EXPECT_LT(r.val_loss, r.val_loss_before);
  EXPECT_EQ(r.test.examples, 30);
  for (const char* f : {"model.safetensors", "config.json", "src_vocab.txt", "tgt_vocab.txt",
                        "log.csv", "loss.png", "attention.png"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  const Seq2SeqBundle b = load_seq2seq_dir(dir);
  const DateSplits d = make_date_splits(5, 300, 20, 30);
  const Seq2SeqAccuracy a = b.accuracy(pool, d.test, o.beam);
  EXPECT_EQ(a.greedy_exact, r.test.greedy_exact);
  EXPECT_EQ(a.beam_exact, r.test.beam_exact);
  const models::Seq2SeqOutput out = b.translate(pool, d.test[0].source, o.beam);
  EXPECT_EQ(out.attention.size(),
            (out.tokens.size() + (out.finished ? 1 : 0)) * d.test[0].source.size());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace loom::train
