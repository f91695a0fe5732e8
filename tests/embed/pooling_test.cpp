#include "embed/pooling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"

namespace loom::embed {
namespace {

const std::vector<float> kHidden = {1, 2,   // token 0
                                    3, 4,   // token 1
                                    5, 12};  // token 2

TEST(Pooling, EachModeByHand) {
  float out[2];
  pool_rows(kHidden.data(), 3, 2, Pooling::Mean, out);
  EXPECT_FLOAT_EQ(out[0], 3);
  EXPECT_FLOAT_EQ(out[1], 6);
  pool_rows(kHidden.data(), 3, 2, Pooling::Cls, out);
  EXPECT_FLOAT_EQ(out[0], 1);
  pool_rows(kHidden.data(), 3, 2, Pooling::Last, out);
  EXPECT_FLOAT_EQ(out[1], 12);
  pool_rows(kHidden.data(), 3, 2, Pooling::WeightedMean, out);  // (1*1 + 2*3 + 3*5) / 6
  EXPECT_FLOAT_EQ(out[0], 22.0f / 6);
  EXPECT_FLOAT_EQ(out[1], (2 + 8 + 36) / 6.0f);
}

TEST(Pooling, MatryoshkaTruncatesThenNormalises) {
  std::vector<float> v = {3, 4, 100, 100};
  EmbedConfig c;
  c.dims = 2;
  EXPECT_EQ(finish(c, v.data(), 4), 2);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> z = {0, 0};
  l2_normalize(z.data(), 2);
  EXPECT_EQ(z[0], 0.0f);
}

TEST(EmbedConfig, RoundTripsAndReadsSentenceTransformersFiles) {
  for (Pooling p : {Pooling::Mean, Pooling::Cls, Pooling::Last, Pooling::WeightedMean}) {
    EmbedConfig c;
    c.pooling = p;
    c.normalize = false;
    c.dims = 64;
    EmbedConfig r = EmbedConfig::from_json(c.to_json(), "x");
    EXPECT_EQ(r.pooling, p);
    EXPECT_FALSE(r.normalize);
    EXPECT_EQ(r.dims, 64);
  }
  // A real sentence-transformers 1_Pooling/config.json (BERT-style CLS pooling).
  std::string st = R"({"word_embedding_dimension": 768, "pooling_mode_cls_token": true,
    "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false,
    "pooling_mode_mean_sqrt_len_tokens": false})";
  EXPECT_EQ(EmbedConfig::from_json(st, "st").pooling, Pooling::Cls);
  EXPECT_THROW(EmbedConfig::from_json(R"({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true})", "x"), Error);
  EXPECT_THROW(EmbedConfig::from_json(R"({"normalize": "yes"})", "x"), Error);
  EXPECT_THROW(EmbedConfig::from_json("nonsense", "x"), Error);
  EXPECT_THROW(EmbedConfig::from_json(R"({"truncate_dim": 1e999})", "x"), Error);  // out of range
  EXPECT_THROW(pooling_from_name("max"), Error);
}

}  // namespace
}  // namespace loom::embed
