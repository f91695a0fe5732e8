#include "eval/multiple_choice.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/kernels.h"
#include "core/rng.h"

namespace loom::eval {

namespace {

double logprob(const float* row, int64_t V, int32_t token) {
  return static_cast<double>(row[token]) - log_sum_exp(row, V);
}

// sum log p(choice | context) from a session holding the context, whose last logits row
// (predicting choice[0]) is `first_row`; rewinds the session to the context afterwards.
double continuation_loglik(const models::LanguageModel& model, ThreadPool& pool,
                           models::Session& s, const float* first_row,
                           std::span<const int32_t> choice) {
  const int64_t V = model.vocab_size(), at = s.position(), n = static_cast<int64_t>(choice.size());
  double ll = logprob(first_row, V, choice[0]);
  if (n > 1) {
    model.forward(s, pool, choice.data(), n - 1, true);
    for (int64_t t = 1; t < n; ++t) ll += logprob(s.logits().data() + (t - 1) * V, V, choice[t]);
  }
  s.rewind(at);
  return ll;
}

// A pair longer than the model's context, scored as the harness does: the input is the last
// context_length tokens of context + choice without its final token.
double truncated_loglik(const models::LanguageModel& model, ThreadPool& pool,
                        std::span<const int32_t> context, std::span<const int32_t> choice) {
  const int64_t window = model.context_length(), n = static_cast<int64_t>(choice.size());
  if (n > window)
    throw Error("a choice of " + std::to_string(n) + " tokens exceeds the model's context of " +
                std::to_string(window));
  std::vector<int32_t> seq(context.begin(), context.end());
  seq.insert(seq.end(), choice.begin(), choice.end());
  seq.pop_back();
  const std::vector<int32_t> input(seq.end() - window, seq.end());
  models::Session s(model, window, window);
  model.forward(s, pool, input.data(), window, true);
  const int64_t V = model.vocab_size();
  double ll = 0;
  for (int64_t t = 0; t < n; ++t)
    ll += logprob(s.logits().data() + (window - n + t) * V, V, choice[t]);
  return ll;
}

int64_t argmax(const std::vector<double>& v) {
  return std::max_element(v.begin(), v.end()) - v.begin();  // the first of equal maxima
}

double stderr_of(double p, int64_t n) {
  return n > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(n - 1)) : 0.0;
}

// The first sentence (through its first ". "), then at most max_bytes at a word boundary.
std::string cut_definition(const std::string& d, int64_t max_bytes) {
  const size_t stop = d.find(". ");
  std::string s = d.substr(0, stop == std::string::npos ? d.size() : stop + 1);
  if (static_cast<int64_t>(s.size()) > max_bytes) {
    size_t cut = s.rfind(' ', static_cast<size_t>(max_bytes));
    if (cut == std::string::npos || cut == 0) {
      cut = static_cast<size_t>(max_bytes);
      while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    }
    s.resize(cut);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

TokenizedChoices tokenize_choices(const ChoiceItem& item, const Encode& encode) {
  if (item.choices.empty()) throw Error("an item has no choices");
  if (item.gold < 0 || item.gold >= static_cast<int64_t>(item.choices.size()))
    throw Error("gold " + std::to_string(item.gold) + " is not one of the " +
                std::to_string(item.choices.size()) + " choices");
  const size_t keep = item.context.find_last_not_of(" \t\n\r\f\v") + 1;  // npos + 1 == 0
  const std::string head = item.context.substr(0, keep), tail = item.context.substr(keep);
  TokenizedChoices t;
  t.context = encode(head);
  if (t.context.empty()) throw Error("the context '" + head + "' has no tokens");
  t.gold = item.gold;
  for (size_t k = 0; k < item.choices.size(); ++k) {
    const std::vector<int32_t> whole = encode(head + tail + item.choices[k]);
    if (whole.size() <= t.context.size())
      throw Error("choice " + std::to_string(k) + " ('" + item.choices[k] + "') has no tokens");
    t.choices.emplace_back(whole.begin() + static_cast<std::ptrdiff_t>(t.context.size()),
                           whole.end());
    t.choice_bytes.push_back(std::max<int64_t>(1, static_cast<int64_t>(item.choices[k].size())));
  }
  return t;
}

std::vector<double> choice_logliks(const models::LanguageModel& model, ThreadPool& pool,
                                   const TokenizedChoices& item) {
  const int64_t window = model.context_length(), nc = static_cast<int64_t>(item.context.size());
  std::vector<double> ll;
  models::Session s(model, window, window);
  std::vector<float> first_row;
  for (const auto& choice : item.choices) {
    if (nc + static_cast<int64_t>(choice.size()) - 1 > window) {
      ll.push_back(truncated_loglik(model, pool, item.context, choice));
      continue;
    }
    if (first_row.empty()) {  // the context runs once, for every choice that fits beside it
      model.forward(s, pool, item.context.data(), nc, false);
      first_row = s.logits();
    }
    ll.push_back(continuation_loglik(model, pool, s, first_row.data(), choice));
  }
  return ll;
}

ChoiceResult score_choices(const models::LanguageModel& model, ThreadPool& pool,
                           std::span<const TokenizedChoices> items,
                           const std::function<void(int64_t, int64_t)>& progress) {
  ChoiceResult r;
  r.items = static_cast<int64_t>(items.size());
  if (r.items == 0) throw Error("no multiple-choice items to score");
  int64_t right = 0, right_norm = 0;
  for (const auto& item : items) {
    std::vector<double> ll = choice_logliks(model, pool, item);
    r.logliks.push_back(ll);
    r.predicted.push_back(argmax(ll));
    for (size_t k = 0; k < ll.size(); ++k) ll[k] /= static_cast<double>(item.choice_bytes[k]);
    r.predicted_norm.push_back(argmax(ll));
    right += r.predicted.back() == item.gold;
    right_norm += r.predicted_norm.back() == item.gold;
    if (progress) progress(static_cast<int64_t>(r.predicted.size()), r.items);
  }
  r.acc = static_cast<double>(right) / static_cast<double>(r.items);
  r.acc_norm = static_cast<double>(right_norm) / static_cast<double>(r.items);
  r.acc_stderr = stderr_of(r.acc, r.items);
  r.acc_norm_stderr = stderr_of(r.acc_norm, r.items);
  return r;
}

std::vector<ChoiceItem> definition_task(std::span<const std::pair<std::string, std::string>> pairs,
                                        int n_choices, uint64_t seed, int64_t limit,
                                        int64_t max_bytes) {
  if (n_choices < 2) throw Error("a multiple-choice task needs at least 2 choices");
  if (max_bytes < 1) throw Error("max_bytes must be at least 1");
  std::vector<std::string> defs;
  for (const auto& [term, def] : pairs) defs.push_back(cut_definition(def, max_bytes));
  if (std::set<std::string>(defs.begin(), defs.end()).size() < static_cast<size_t>(n_choices))
    throw Error("the glossary has fewer than " + std::to_string(n_choices) +
                " distinct definitions");
  const int64_t n = static_cast<int64_t>(pairs.size());
  const int64_t m = limit > 0 ? std::min(limit, n) : n;
  Rng rng(seed);
  std::vector<ChoiceItem> items;
  for (int64_t i = 0; i < m; ++i) {
    ChoiceItem item{pairs[static_cast<size_t>(i)].first + "\t", {defs[static_cast<size_t>(i)]}, 0};
    std::set<std::string> used{defs[static_cast<size_t>(i)]};
    while (static_cast<int>(item.choices.size()) < n_choices) {
      const std::string& d = defs[rng.below(static_cast<uint64_t>(n))];
      if (used.insert(d).second) item.choices.push_back(d);
    }
    item.gold = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n_choices)));
    std::swap(item.choices[0], item.choices[static_cast<size_t>(item.gold)]);
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace loom::eval
