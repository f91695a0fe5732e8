// Multiple-choice scoring with lm-evaluation-harness's conventions: each choice is scored by the
// log-likelihood of its tokens after the context, sum log p(choice | context); `acc` counts items
// whose highest-likelihood choice is the gold one, `acc_norm` the same after dividing each
// likelihood by the choice's length in UTF-8 bytes (the harness divides by len(str), the same for
// ASCII text); each with the harness's standard error sqrt(p(1-p)/(n-1)).
// Tokenising a (context, choice) pair follows the harness too: trailing whitespace of the context
// moves to the front of the choice, the pair is tokenised whole and the choice's tokens are those
// after the context's own tokens; a sequence longer than the model's context loses its oldest
// context tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/threads.h"
#include "models/model.h"

namespace loom::eval {

struct ChoiceItem {  // as text
  std::string context;
  std::vector<std::string> choices;
  int64_t gold = 0;
};

struct TokenizedChoices {
  std::vector<int32_t> context;
  std::vector<std::vector<int32_t>> choices;  // each non-empty
  std::vector<int64_t> choice_bytes;          // the normaliser of acc_norm
  int64_t gold = 0;
};

// text -> token ids (with BOS when the model wants one), e.g. a generate::Codec's encode.
using Encode = std::function<std::vector<int32_t>(const std::string&)>;

TokenizedChoices tokenize_choices(const ChoiceItem& item, const Encode& encode);

// sum log p(choice | context) per choice, natural log: the context runs once, each choice from a
// copy of its cache.
std::vector<double> choice_logliks(const models::LanguageModel& model, ThreadPool& pool,
                                   const TokenizedChoices& item);

struct ChoiceResult {
  int64_t items = 0;
  double acc = 0, acc_stderr = 0, acc_norm = 0, acc_norm_stderr = 0;
  std::vector<int64_t> predicted, predicted_norm;  // per item
  std::vector<std::vector<double>> logliks;        // per item, per choice
};

// Scores every item; progress(items done, items) after each.
ChoiceResult score_choices(const models::LanguageModel& model, ThreadPool& pool,
                           std::span<const TokenizedChoices> items,
                           const std::function<void(int64_t, int64_t)>& progress = {});

// The domain task of a glossary ("which definition belongs to this term"): for each of the first
// `limit` (term, definition) pairs (0: all), the context is "term\t" (a glossary line's own
// layout), the choices are its definition and n_choices - 1 definitions of other terms drawn
// without replacement with `seed`, the gold one at a drawn position. Each definition is cut to its
// first sentence and to at most max_bytes bytes at a word boundary. Needs n_choices distinct
// definitions, n_choices >= 2.
std::vector<ChoiceItem> definition_task(std::span<const std::pair<std::string, std::string>> pairs,
                                        int n_choices, uint64_t seed, int64_t limit,
                                        int64_t max_bytes);

}  // namespace loom::eval
