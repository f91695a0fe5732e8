// The causal-LM training run as a library object: its data split, the run-folder record and log
// trimming it resumes with, and a small run from scratch that, stopped and resumed, logs the
// same losses and leaves the same model as one uninterrupted run.
#include "train/run.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::train {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "loom_run_XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

TEST(TrainRunData, BytesLinesAndHeldOutTail) {
  TempDir d;
  write_file_atomic(d / "t.txt", "ab\ncd\nef\n");
  TokenData whole = text_tokens(d / "t.txt", nullptr, 0);
  EXPECT_EQ(whole.train.size(), 9u);  // the file's bytes, one document
  EXPECT_EQ(whole.docs_train, 1);
  EXPECT_EQ(whole.vocab, 256);
  TokenData split = text_tokens(d / "t.txt", nullptr, 2);
  EXPECT_EQ(split.train, (std::vector<int32_t>{'a', 'b', '\n', 'e', 'f', '\n'}));
  EXPECT_EQ(split.val, (std::vector<int32_t>{'c', 'd', '\n'}));
  EXPECT_EQ(split.docs_val, 1);
  hold_out_tail(whole, 0.25);
  EXPECT_EQ(whole.val, (std::vector<int32_t>{'f', '\n'}));  // floor(9 * 0.25) = 2 tokens
  EXPECT_EQ(whole.train.size(), 7u);
  EXPECT_THROW(hold_out_tail(whole, 0.5), Error);
}

TEST(TrainRunFolder, RecordAndLogThroughStep) {
  TempDir d;
  check_run_record(d / "rec", "train all\n", "--train", true);  // no record yet: fine
  EXPECT_THROW(check_run_record(d / "rec", "train all\n", "--train", false), Error);
  write_file_atomic(d / "rec", "train lora\nx\n");
  try {
    check_run_record(d / "rec", "train all\n", "--train", true);
    FAIL() << "another record accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(train lora)"), std::string::npos) << e.what();
  }
  write_file_atomic(d / "log.csv", "step,loss\n0,,\n1,2.5\n2,2.4\n3,2.3\n");
  EXPECT_EQ(log_through_step(d / "log.csv", 2), "step,loss\n0,,\n1,2.5\n2,2.4\n");
  EXPECT_EQ(log_through_step(d / "missing.csv", 2), "");
  EXPECT_EQ(tokenizer_file_name("/m/tok512.model"), "tokenizer.model");
  EXPECT_EQ(tokenizer_file_name("vocab.json"), "vocab.json");
}

LmRunOptions tiny(const std::string& text, const std::string& out) {
  LmRunOptions o;
  o.text = text;
  o.out = out;
  o.heldout_every = 4;
  o.shape.arch = "llama";
  o.shape.d_model = 16;
  o.shape.n_layers = 1;
  o.shape.n_heads = 2;
  o.seq = 16;
  o.train.batch = 2;
  o.train.schedule.warmup = 1;
  o.steps = 6;
  o.eval_every = 2;
  o.eval_batches = 2;
  o.save_every = 2;
  o.sample = 0;
  return o;
}

TEST(LmRun, StoppedAndResumedEqualsOneRun) {
  TempDir d;
  std::string text;
  for (int i = 0; i < 40; ++i) text += "line " + std::to_string(i) + " of a small text\n";
  write_file_atomic(d / "t.txt", text);
  ThreadPool pool(1);
  LmRunResult whole = LmRun(tiny(d / "t.txt", d / "a"), pool).train();
  EXPECT_EQ(whole.steps, 6);
  EXPECT_TRUE(whole.root);
  EXPECT_EQ(whole.docs_val, 10);
  EXPECT_LT(whole.val_loss, whole.val_loss_before);
  LmRunOptions first = tiny(d / "t.txt", d / "b");
  first.stop_at = 3;
  int reports = 0;
  LmRun(first, pool).train([&](const LmStepReport&) { ++reports; });
  EXPECT_EQ(reports, 3);
  LmRunOptions rest = tiny(d / "t.txt", d / "b");
  rest.resume = true;
  LmRun resumed(rest, pool);
  EXPECT_EQ(resumed.tokens_to_train(), 3 * 2 * 16);
  LmRunResult r = resumed.train();
  EXPECT_FLOAT_EQ(r.loss, whole.loss);
  EXPECT_EQ(read_file(d / "a/model.safetensors"), read_file(d / "b/model.safetensors"));
  // A fresh run into a folder with a checkpoint is refused.
  EXPECT_THROW(LmRun(tiny(d / "t.txt", d / "a"), pool), Error);
}

}  // namespace
}  // namespace loom::train
