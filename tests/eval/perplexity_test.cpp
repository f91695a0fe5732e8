// Perplexity of stories260K equals the PyTorch reference (tests/reference/eval/infer_ppl.py) to 1e-3
// on the tinystories sample, scoring the reference's own token ids (the tokeniser is checked
// end to end by tests/cli/generate_eval.sh).
#include "eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::eval {
namespace {

TEST(Perplexity, Stories260KMatchesPyTorch) {
  LOOM_REQUIRE_DATA(test::data_path("models/stories260K/stories260K.bin"));
  auto model = models::load_model(test::data_path("models/stories260K/stories260K.bin"));
  auto golden = test::load_golden_json("eval/infer_ppl.json");
  ThreadPool pool(2);
  int checked = 0;
  for (const auto& c : golden["cases"]) {
    if (!c.contains("ids")) continue;
    auto ids = c["ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(static_cast<int64_t>(ids.size()), c["n_tokens"].get<int64_t>());
    PerplexityOptions o{c["window"].get<int64_t>(), c["stride"].get<int64_t>()};
    int64_t last_progress = 0;
    PerplexityResult r = perplexity(*model, pool, ids, o, [&](int64_t done, int64_t total) {
      EXPECT_GT(done, last_progress);
      EXPECT_EQ(total, static_cast<int64_t>(ids.size()) - 1);
      last_progress = done;
    });
    EXPECT_EQ(r.scored, c["scored"].get<int64_t>());
    EXPECT_EQ(r.windows, c["windows"].get<int64_t>());
    const double want = c["ppl"].get<double>();
    EXPECT_NEAR(r.perplexity(), want, 1e-3 * want)
        << c["file"] << " W=" << o.window << " S=" << o.stride;
    EXPECT_NEAR(r.nll_sum, c["nll_sum"].get<double>(), 1e-4 * c["nll_sum"].get<double>());
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(Perplexity, RejectsBadWindows) {
  auto model = models::load_model(test::data_path("models/stories260K/stories260K.bin"));
  ThreadPool pool(1);
  std::vector<int32_t> ids = {1, 2, 3};
  EXPECT_THROW(perplexity(*model, pool, ids, {1024, 0}), Error);  // beyond the context
  EXPECT_THROW(perplexity(*model, pool, ids, {8, 16}), Error);    // stride > window
  EXPECT_THROW(perplexity(*model, pool, std::vector<int32_t>{1}, {}), Error);
}

}  // namespace
}  // namespace loom::eval
