// Classification metrics equal scikit-learn's
// (tests/reference/eval/classification_metrics_golden.py) to 1e-12 on fixed labels, a class absent
// from both sides included; bad labels are refused.
#include "eval/classification.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "golden_json.h"

namespace loom::eval {
namespace {

TEST(ClassificationMetrics, EqualSklearn) {
  const auto golden = test::load_golden_json("eval/classification_metrics.json");
  ASSERT_EQ(golden["cases"].size(), 2u);
  for (const auto& c : golden["cases"]) {
    const int64_t k = c["num_labels"].get<int64_t>();
    const ClassificationReport r = classification_report(
        c["truth"].get<std::vector<int32_t>>(), c["predicted"].get<std::vector<int32_t>>(), k);
    const std::string name = c["name"].get<std::string>();
    EXPECT_NEAR(r.accuracy, c["accuracy"].get<double>(), 1e-12) << name;
    EXPECT_NEAR(r.macro_f1, c["macro_f1"].get<double>(), 1e-12) << name;
    ASSERT_EQ(static_cast<int64_t>(r.classes.size()), k);
    for (int64_t i = 0; i < k; ++i) {
      const ClassMetrics& m = r.classes[static_cast<size_t>(i)];
      EXPECT_NEAR(m.precision, c["precision"][i].get<double>(), 1e-12) << name << " class " << i;
      EXPECT_NEAR(m.recall, c["recall"][i].get<double>(), 1e-12) << name << " class " << i;
      EXPECT_NEAR(m.f1, c["f1"][i].get<double>(), 1e-12) << name << " class " << i;
      EXPECT_EQ(m.support, c["support"][i].get<int64_t>()) << name << " class " << i;
    }
    EXPECT_EQ(r.confusion, c["confusion"].get<std::vector<std::vector<int64_t>>>()) << name;
  }
}

TEST(ClassificationMetrics, FormatsAndRefusesBadLabels) {
  const ClassificationReport r = classification_report({0, 1, 1}, {0, 1, 0}, 2);
  const std::string s = format_report(r, {"negative", "positive"});
  EXPECT_NE(s.find("accuracy 0.6667"), std::string::npos) << s;
  EXPECT_NE(s.find("positive"), std::string::npos) << s;
  EXPECT_THROW(classification_report({0, 2}, {0, 1}, 2), Error);
  EXPECT_THROW(classification_report({0, 1}, {0, -1}, 2), Error);
  EXPECT_THROW(classification_report({0, 1}, {0}, 2), Error);
  EXPECT_THROW(classification_report({}, {}, 0), Error);
}

}  // namespace
}  // namespace loom::eval
