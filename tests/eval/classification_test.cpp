// Classification metrics equal scikit-learn's
// (tests/reference/eval/classification_metrics_golden.py) to 1e-12 on fixed labels, a class absent
// from both sides included; bad labels are refused. Entity-level NER scores equal seqeval's default
// scoring (tests/reference/eval/entity_metrics_golden.py, a re-implementation checked against
// seqeval's docstring examples) to 1e-12.
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

using Sentences = std::vector<std::vector<std::string>>;

void expect_scores(const EntityScores& s, const nlohmann::json& g, const std::string& what) {
  EXPECT_NEAR(s.precision, g["precision"].get<double>(), 1e-12) << what;
  EXPECT_NEAR(s.recall, g["recall"].get<double>(), 1e-12) << what;
  EXPECT_NEAR(s.f1, g["f1"].get<double>(), 1e-12) << what;
  EXPECT_EQ(s.correct, g["correct"].get<int64_t>()) << what;
  EXPECT_EQ(s.predicted, g["predicted"].get<int64_t>()) << what;
  EXPECT_EQ(s.truth, g["truth"].get<int64_t>()) << what;
}

TEST(EntityMetrics, EqualSeqevalsDefaultScoring) {
  const auto golden = test::load_golden_json("eval/entity_metrics.json");
  ASSERT_EQ(golden["cases"].size(), 6u);
  for (const auto& c : golden["cases"]) {
    const std::string name = c["name"].get<std::string>();
    const EntityReport r =
        entity_report(c["truth"].get<Sentences>(), c["predicted"].get<Sentences>());
    EXPECT_NEAR(r.token_accuracy, c["token_accuracy"].get<double>(), 1e-12) << name;
    expect_scores(r.micro, c["micro"], name + " micro");
    ASSERT_EQ(r.types.size(), c["types"].size()) << name;
    for (const auto& [type, s] : r.types) {
      ASSERT_TRUE(c["types"].contains(type)) << name << " " << type;
      expect_scores(s, c["types"][type], name + " " + type);
    }
  }
}

TEST(EntityMetrics, FormatsAndRefusesMismatchedShapes) {
  const EntityReport r = entity_report({{"B-PER", "I-PER", "O"}}, {{"B-PER", "I-PER", "O"}});
  EXPECT_EQ(r.micro.f1, 1.0);
  const std::string s = format_entity_report(r);
  EXPECT_NE(s.find("F1 1.0000"), std::string::npos) << s;
  EXPECT_NE(s.find("PER"), std::string::npos) << s;
  EXPECT_THROW(entity_report({{"O"}}, {}), Error);
  EXPECT_THROW(entity_report({{"O", "O"}}, {{"O"}}), Error);
}

}  // namespace
}  // namespace loom::eval
