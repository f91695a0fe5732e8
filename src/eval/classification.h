// Classification metrics over integer labels 0..num_labels-1, as scikit-learn defines them
// (sklearn.metrics: accuracy_score, precision_recall_fscore_support, f1_score(average="macro"),
// confusion_matrix). A class that is never predicted has precision 0, one that never occurs has
// recall 0, and F1 is 0 where precision + recall is 0 (sklearn's zero_division=0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loom::eval {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // examples whose true label is this class
};

struct ClassificationReport {
  int64_t examples = 0;
  double accuracy = 0;
  double macro_f1 = 0;                          // unweighted mean of the per-class F1
  std::vector<ClassMetrics> classes;            // [num_labels]
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted] counts
};

// truth and predicted have one label per example, each in [0, num_labels); a loom::Error names
// the first index that is not (or unequal lengths, or num_labels < 1).
ClassificationReport classification_report(const std::vector<int32_t>& truth,
                                           const std::vector<int32_t>& predicted,
                                           int64_t num_labels);

// A few lines for a terminal: accuracy and macro-F1, precision/recall/F1/support per class
// (named by names[i] when given), then the confusion matrix (rows: true, columns: predicted).
std::string format_report(const ClassificationReport& r,
                          const std::vector<std::string>& names = {});

}  // namespace loom::eval
