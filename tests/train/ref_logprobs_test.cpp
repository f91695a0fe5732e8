// DPO's reference log-probabilities: equal to -(masked loss · trained tokens) of each response
// through CausalLm::loss, independent of batching; the cache file round-trips exactly and refuses
// corruption, truncation and other data.
#include "train/ref_logprobs.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "core/mapped_file.h"
#include "tiny_decoder.h"
#include "train/sft_trainer.h"

namespace loom::train {
namespace {

SftExample ex(std::vector<int32_t> ids, size_t prompt) {
  SftExample e;
  e.ids = ids;
  e.labels = ids;
  for (size_t i = 0; i < prompt; ++i) e.labels[i] = kIgnoreLabel;
  return e;
}

std::vector<PreferenceExample> pairs() {
  return {{ex({1, 2, 3, 4}, 2), ex({1, 2, 5, 6, 7}, 2), 1},
          {ex({8, 9, 10}, 1), ex({8, 9, 11, 12}, 1), 2},
          {ex({3, 3, 3, 13, 14, 15}, 3), ex({3, 3, 3, 16}, 3), 3}};
}

TEST(RefLogprobs, EqualMaskedLossAndIgnoreBatching) {
  ThreadPool pool(2);
  models::CausalLm model(test::tiny_decoder("gpt2", 20, 8));
  model.init(9, 0.3f);
  const auto data = pairs();
  const RefLogprobs a = compute_ref_logprobs(model, data, 4, 8, pool);
  const RefLogprobs b = compute_ref_logprobs(model, data, 1, 8, pool);
  TrainConfig cfg;
  cfg.batch = 1;
  cfg.seq = 8;
  std::vector<SftExample> all;
  for (const auto& p : data) {
    all.push_back(p.chosen);
    all.push_back(p.rejected);
  }
  SftTrainer eval(model, all, cfg, pool);
  for (size_t i = 0; i < data.size(); ++i) {
    EXPECT_NEAR(a.chosen[i], b.chosen[i], 1e-5);
    EXPECT_NEAR(a.rejected[i], b.rejected[i], 1e-5);
    for (auto [e, lp] :
         {std::pair{&data[i].chosen, a.chosen[i]}, {&data[i].rejected, a.rejected[i]}}) {
      const int64_t trained =
          static_cast<int64_t>(e->ids.size()) -
          static_cast<int64_t>(std::count(e->labels.begin() + 1, e->labels.end(), kIgnoreLabel)) -
          1;
      EXPECT_NEAR(lp, -eval.evaluate({*e}) * trained, 1e-4);
    }
  }
}

TEST(RefLogprobs, CacheFileRoundTripsAndRefusesBadFiles) {
  ThreadPool pool(1);
  models::CausalLm model(test::tiny_decoder("gpt2", 20, 8));
  model.init(9, 0.3f);
  const auto data = pairs();
  const RefLogprobs r = compute_ref_logprobs(model, data, 2, 8, pool);
  const std::string path = ::testing::TempDir() + "loom_ref_logprobs.bin";
  save_ref_logprobs(r, path);
  const RefLogprobs back = load_ref_logprobs(path, preference_data_sha256(data));
  EXPECT_EQ(back.chosen, r.chosen);
  EXPECT_EQ(back.rejected, r.rejected);
  auto other = data;
  other[1].rejected.ids[2] = 12;
  EXPECT_THROW(load_ref_logprobs(path, preference_data_sha256(other)), Error);
  std::string bytes = read_file(path);
  bytes[bytes.size() - 12] ^= 1;
  write_file_atomic(path, bytes);
  try {
    load_ref_logprobs(path, r.data_sha256);
    ADD_FAILURE() << "corruption not caught";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  write_file_atomic(path, bytes.substr(0, 40));
  EXPECT_THROW(load_ref_logprobs(path, r.data_sha256), Error);
}

}  // namespace
}  // namespace loom::train
