// Classification metrics over integer labels 0..num_labels-1, as scikit-learn defines them
// (sklearn.metrics: accuracy_score, precision_recall_fscore_support, f1_score(average="macro"),
// confusion_matrix). A class that is never predicted has precision 0, one that never occurs has
// recall 0, and F1 is 0 where precision + recall is 0 (sklearn's zero_division=0).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
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

// Entity-level scores of tag sequences (NER), as seqeval scores them by default (seqeval.metrics
// precision_score / recall_score / f1_score and classification_report, the conlleval-compatible
// chunking of get_entities, not mode="strict"): the sentences are joined with an "O" after each;
// a tag's first character is its prefix (B, I, E, S, O) and the rest after the first '-' its type
// ("_" when empty); a chunk ends and starts by seqeval's end_of_chunk / start_of_chunk rules (an
// I- after O or after another type starts a chunk). An entity is (type, first, last) and counts
// as correct when the same triple is among the true entities.
struct EntityScores {
  double precision = 0, recall = 0, f1 = 0;  // 0 where undefined (seqeval's zero division)
  int64_t correct = 0, predicted = 0, truth = 0;
};

struct EntityReport {
  int64_t tokens = 0;
  double token_accuracy = 0;                                // share of tags equal to the true tag
  EntityScores micro;                                       // over all entities
  std::vector<std::pair<std::string, EntityScores>> types;  // by type, sorted (true or predicted)
};

// truth and predicted hold the same number of sentences, each pair of the same length; a
// loom::Error names the first sentence that does not.
EntityReport entity_report(const std::vector<std::vector<std::string>>& truth,
                           const std::vector<std::vector<std::string>>& predicted);

// Token accuracy and micro precision/recall/F1, then one line per entity type.
std::string format_entity_report(const EntityReport& r);

}  // namespace loom::eval
