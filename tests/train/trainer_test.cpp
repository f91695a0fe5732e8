// The causal-LM training loop: determinism, exact resume, bad checkpoints, NaN stop, real data.
#include "train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "test_util.h"

namespace loom::train {
namespace {

using models::DecoderConfig;
using nn::Decay;

DecoderConfig tiny(std::string arch, int64_t vocab) {
  DecoderConfig c;
  c.arch = arch;
  c.vocab_size = vocab;
  c.context_length = 32;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.hidden_dim = 64;
  return c;
}

std::vector<int32_t> synthetic_tokens(int64_t n, int64_t vocab) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7 + i / 3) % vocab);
  return v;
}

TrainConfig small_cfg() {
  TrainConfig c;
  c.batch = 3;
  c.seq = 16;
  c.grad_accum = 2;
  c.schedule = {
      .lr = 3e-3f, .min_lr = 3e-4f, .warmup = 2, .total_steps = 8, .decay = Decay::Cosine};
  c.seed = 42;
  return c;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "loom_train_" + name;
}

std::vector<float> run(std::string arch, int steps, uint64_t seed, int threads) {
  ThreadPool pool(threads);
  CausalLm model(tiny(arch, 50));
  model.init(1);
  auto data = synthetic_tokens(2000, 50);
  TrainConfig cfg = small_cfg();
  cfg.seed = seed;
  CausalLmTrainer tr(model, data.data(), static_cast<int64_t>(data.size()), cfg, pool);
  std::vector<float> losses;
  for (int i = 0; i < steps; ++i) losses.push_back(tr.step().loss);
  return losses;
}

TEST(Trainer, SameSeedSameCurveOtherSeedOtherCurve) {
  for (std::string arch : {"llama", "gpt2"}) {
    auto a = run(arch, 5, 42, 2), b = run(arch, 5, 42, 2), c = run(arch, 5, 43, 2);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
  }
}

// 8 uninterrupted steps vs 4 steps, checkpoint, a fresh model with other weights, resume, 4 steps:
// the same losses bit for bit and the same final parameters.
TEST(Trainer, ResumeContinuesExactly) {
  ThreadPool pool(2);
  auto data = synthetic_tokens(2000, 50);
  const int64_t n = static_cast<int64_t>(data.size());
  CausalLm full(tiny("llama", 50));
  full.init(1);
  CausalLmTrainer tf(full, data.data(), n, small_cfg(), pool);
  std::vector<float> want;
  for (int i = 0; i < 8; ++i) want.push_back(tf.step().loss);

  const std::string path = temp_path("resume.ckpt");
  {
    CausalLm first(tiny("llama", 50));
    first.init(1);
    CausalLmTrainer t1(first, data.data(), n, small_cfg(), pool);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(t1.step().loss, want[static_cast<size_t>(i)]);
    t1.save_checkpoint(path);
  }
  CausalLm second(tiny("llama", 50));
  second.init(999);
  CausalLmTrainer t2(second, data.data(), n, small_cfg(), pool);
  t2.load_checkpoint(path);
  EXPECT_EQ(t2.steps_done(), 4);
  for (int i = 4; i < 8; ++i) {
    StepStats s = t2.step();
    EXPECT_EQ(s.step, i + 1);
    EXPECT_EQ(s.loss, want[static_cast<size_t>(i)]) << "step " << i + 1;
  }
  EXPECT_EQ(std::memcmp(second.params().values(), full.params().values(),
                        static_cast<size_t>(full.params().numel()) * sizeof(float)),
            0);
}

TEST(Trainer, BadCheckpointsAreRejectedWithAClearError) {
  ThreadPool pool(1);
  auto data = synthetic_tokens(500, 50);
  CausalLm model(tiny("llama", 50));
  model.init(1);
  CausalLmTrainer tr(model, data.data(), 500, small_cfg(), pool);
  tr.step();
  const std::string path = temp_path("bad.ckpt");
  tr.save_checkpoint(path);
  std::string bytes = read_file(path);
  auto expect_error = [&](const std::string& content, const std::string& needle) {
    const std::string p = temp_path("bad2.ckpt");
    write_file_atomic(p, content);
    try {
      tr.load_checkpoint(p);
      ADD_FAILURE() << "loaded a bad checkpoint (" << needle << ")";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  expect_error(flipped, "checksum");
  expect_error(bytes.substr(0, bytes.size() - 100), "checksum");
  expect_error(bytes.substr(0, 10), "too short");
  std::string magic = bytes;
  magic[0] = 'X';
  expect_error(magic, "magic");
  // A checkpoint of another architecture does not load into this model.
  CausalLm other(tiny("gpt2", 50));
  other.init(1);
  CausalLmTrainer to(other, data.data(), 500, small_cfg(), pool);
  to.save_checkpoint(temp_path("other.ckpt"));
  try {
    tr.load_checkpoint(temp_path("other.ckpt"));
    ADD_FAILURE() << "loaded a GPT-2 checkpoint into a Llama";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match"), std::string::npos) << e.what();
  }
}

TEST(Trainer, NanLossStopsBeforeUpdatingAndKeepsTheLastCheckpoint) {
  ThreadPool pool(1);
  auto data = synthetic_tokens(500, 50);
  CausalLm model(tiny("llama", 50));
  model.init(1);
  CausalLmTrainer tr(model, data.data(), 500, small_cfg(), pool);
  tr.step();
  const std::string path = temp_path("nan.ckpt");
  tr.save_checkpoint(path);
  const std::string good = read_file(path);
  model.params().get("model.norm.weight").value.f32()[3] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> before(model.params().values(),
                            model.params().values() + model.params().numel());
  try {
    tr.step();
    ADD_FAILURE() << "a NaN loss did not stop training";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss is NaN at step 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(tr.steps_done(), 1);
  EXPECT_EQ(std::memcmp(before.data(), model.params().values(), before.size() * sizeof(float)), 0);
  EXPECT_EQ(read_file(path), good);
}

// Byte-level tinyshakespeare: a small Llama's training and validation loss both fall.
TEST(Trainer, LearnsTinyShakespeare) {
  const std::string p = test::data_path("corpora/tinyshakespeare/input.txt");
  LOOM_REQUIRE_DATA(p);
  std::string text = read_file(p);
  std::vector<int32_t> tok(text.begin(), text.end());
  for (auto& t : tok) t = static_cast<uint8_t>(t);
  const int64_t n_train = static_cast<int64_t>(tok.size()) * 9 / 10;
  ThreadPool pool(2);
  DecoderConfig c = tiny("llama", 256);
  CausalLm model(c);
  model.init(3);
  TrainConfig cfg;
  cfg.batch = 8;
  cfg.seq = 32;
  cfg.schedule = {.lr = 1e-2f, .min_lr = 1e-3f, .warmup = 5, .total_steps = 60};
  CausalLmTrainer tr(model, tok.data(), n_train, cfg, pool);
  const float val0 =
      tr.evaluate(tok.data() + n_train, static_cast<int64_t>(tok.size()) - n_train, 4, 9);
  float first = 0, last = 0;
  for (int i = 0; i < 60; ++i) {
    StepStats s = tr.step();
    if (i == 0) first = s.loss;
    last = s.loss;
  }
  const float val1 =
      tr.evaluate(tok.data() + n_train, static_cast<int64_t>(tok.size()) - n_train, 4, 9);
  EXPECT_NEAR(val0, std::log(256.0f), 0.1f);
  EXPECT_LT(last, 0.7f * first);
  EXPECT_LT(val1, 0.7f * val0);
  std::printf("tinyshakespeare bytes: train %.3f -> %.3f, validation %.3f -> %.3f\n", first, last,
              val0, val1);
}

}  // namespace
}  // namespace loom::train
