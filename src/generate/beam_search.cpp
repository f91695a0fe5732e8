#include "generate/beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/kernels.h"

namespace loom::generate {

EarlyStopping parse_early_stopping(const std::string& s) {
  if (s == "false") return EarlyStopping::Heuristic;
  if (s == "true") return EarlyStopping::Early;
  if (s == "never") return EarlyStopping::Never;
  throw Error("early_stopping: expected true, false or never, got '" + s + "'");
}

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// The finished hypotheses of one search (transformers' BeamHypotheses).
class Finished {
 public:
  Finished(const BeamSearchOptions& o, int64_t prompt_len)
      : o_(o), prompt_len_(prompt_len), max_length_(prompt_len + o.max_new_tokens) {}

  void add(std::vector<int32_t> tokens, double sum_logprobs, bool finished) {
    const double len = static_cast<double>(tokens.size());
    const double score = sum_logprobs / std::pow(len, static_cast<double>(o_.length_penalty));
    if (size() >= o_.num_beams && score <= worst_) return;
    hyps_.push_back({std::move(tokens), sum_logprobs, score, finished});
    if (size() > o_.num_beams) {
      // Drop the lowest score (the earliest of equals); the next lowest becomes the worst.
      std::vector<size_t> order(hyps_.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return hyps_[a].score < hyps_[b].score; });
      worst_ = hyps_[order[1]].score;
      hyps_.erase(hyps_.begin() + static_cast<std::ptrdiff_t>(order[0]));
    } else {
      worst_ = std::min(worst_, score);
    }
  }

  // best_sum: the best candidate's beam score this step; cur_len: the length it scores.
  bool done(double best_sum, int64_t cur_len) const {
    if (size() < o_.num_beams) return false;
    if (o_.early_stopping == EarlyStopping::Early) return true;
    const double lp = o_.length_penalty;
    int64_t len = cur_len - prompt_len_;
    if (o_.early_stopping == EarlyStopping::Never && lp > 0) len = max_length_ - prompt_len_;
    return worst_ >= best_sum / std::pow(static_cast<double>(len), lp);
  }

  // The n best, best first (of equal scores, the later added first, as transformers pops them).
  std::vector<Hypothesis> best(int n) {
    std::stable_sort(hyps_.begin(), hyps_.end(),
                     [](const Hypothesis& a, const Hypothesis& b) { return a.score < b.score; });
    std::vector<Hypothesis> out;
    for (int i = 0; i < n && !hyps_.empty(); ++i) {
      out.push_back(std::move(hyps_.back()));
      hyps_.pop_back();
    }
    return out;
  }

 private:
  int size() const { return static_cast<int>(hyps_.size()); }
  const BeamSearchOptions& o_;
  int64_t prompt_len_, max_length_;
  std::vector<Hypothesis> hyps_;
  double worst_ = 1e9;
};

// logits (V) -> log-probabilities (V), in double.
std::vector<double> log_softmax(std::span<const float> logits) {
  const double lse = log_sum_exp(logits.data(), static_cast<int64_t>(logits.size()));
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(logits[i]) - lse;
  return out;
}

// Tokens that would complete an n-gram already in seq (transformers' no_repeat_ngram_size).
std::vector<int32_t> banned_ngram_tokens(const std::vector<int32_t>& seq, int n) {
  std::vector<int32_t> out;
  const int64_t len = static_cast<int64_t>(seq.size());
  if (n <= 0 || len + 1 < n) return out;
  const int64_t start = len + 1 - n;  // the last n-1 tokens
  for (int64_t i = 0; i + n <= len; ++i) {
    if (std::equal(seq.begin() + i, seq.begin() + i + n - 1, seq.begin() + start))
      out.push_back(seq[static_cast<size_t>(i + n - 1)]);
  }
  return out;
}

struct Candidate {
  double score;  // beam score + log-prob
  int beam;
  int32_t token;
};

struct Live {
  std::vector<std::vector<int32_t>> seqs;  // prompt + generated, per beam
  std::vector<double> scores;
  std::vector<int> state;  // the stepper's beam holding each one's caches
};

}  // namespace

namespace {

bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
}

// The n_keep best (beam score + processed log-prob) over every live beam, best first; equal
// scores in (beam, token) order.
std::vector<Candidate> top_candidates(const Live& live, const BeamStepper& model,
                                      std::span<const int32_t> eos_ids, const BeamSearchOptions& o,
                                      int64_t prompt_len, size_t n_keep) {
  const auto V = static_cast<int32_t>(model.vocab_size());
  std::vector<Candidate> all, mine(static_cast<size_t>(V));
  for (size_t b = 0; b < live.seqs.size(); ++b) {
    std::vector<double> lp = log_softmax(model.logits(live.state[b]));
    const std::vector<int32_t>& seq = live.seqs[b];
    if (static_cast<int64_t>(seq.size()) - prompt_len < o.min_new_tokens) {
      for (int32_t e : eos_ids) lp[static_cast<size_t>(e)] = kNegInf;
    }
    for (int32_t t : banned_ngram_tokens(seq, o.no_repeat_ngram_size))
      lp[static_cast<size_t>(t)] = kNegInf;
    for (int32_t t = 0; t < V; ++t)
      mine[static_cast<size_t>(t)] = {live.scores[b] + lp[static_cast<size_t>(t)],
                                      static_cast<int>(b), t};
    const size_t keep = std::min(n_keep, mine.size());
    std::partial_sort(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(keep), mine.end(),
                      better);
    all.insert(all.end(), mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  std::sort(all.begin(), all.end(), better);
  if (all.size() > n_keep) all.resize(n_keep);
  return all;
}

void check_options(const BeamStepper& model, std::span<const int32_t> prompt,
                   std::span<const int32_t> eos_ids, const BeamSearchOptions& o) {
  if (o.num_beams < 1) throw Error("beam search: num_beams must be >= 1");
  if (o.num_return_sequences < 1 || o.num_return_sequences > o.num_beams)
    throw Error("beam search: num_return_sequences must be in 1..num_beams (" +
                std::to_string(o.num_beams) + ")");
  if (o.max_new_tokens < 1) throw Error("beam search: max_new_tokens must be >= 1");
  if (o.no_repeat_ngram_size < 0 || o.min_new_tokens < 0)
    throw Error("beam search: no_repeat_ngram_size and min_new_tokens must be >= 0");
  if (prompt.empty()) throw Error("beam search: the prompt has no tokens");
  for (int32_t e : eos_ids) {
    if (e < 0 || e >= model.vocab_size())
      throw Error("beam search: EOS id " + std::to_string(e) + " is outside the vocabulary");
  }
  const size_t n_keep = std::max<size_t>(2, 1 + eos_ids.size()) * static_cast<size_t>(o.num_beams);
  if (static_cast<size_t>(model.vocab_size()) * static_cast<size_t>(o.num_beams) < n_keep)
    throw Error("beam search: a vocabulary of " + std::to_string(model.vocab_size()) +
                " tokens is too small for " + std::to_string(o.num_beams) + " beams");
}

}  // namespace

std::vector<Hypothesis> beam_search(BeamStepper& model, std::span<const int32_t> prompt,
                                    std::span<const int32_t> eos_ids, const BeamSearchOptions& o) {
  check_options(model, prompt, eos_ids, o);
  const auto P = static_cast<int64_t>(prompt.size());
  const auto k = static_cast<size_t>(o.num_beams);
  const size_t n_keep = std::max<size_t>(2, 1 + eos_ids.size()) * k;
  auto is_eos = [&](int32_t t) {
    return std::find(eos_ids.begin(), eos_ids.end(), t) != eos_ids.end();
  };
  Finished finished(o, P);
  Live live;  // transformers starts from num_beams copies of the prompt, all but one at -1e9
  for (size_t b = 0; b < k; ++b) {
    live.seqs.emplace_back(prompt.begin(), prompt.end());
    live.scores.push_back(b == 0 ? 0.0 : -1e9);
    live.state.push_back(0);
  }
  bool done = false;
  while (true) {
    const std::vector<Candidate> cands = top_candidates(live, model, eos_ids, o, P, n_keep);
    const auto cur_len = static_cast<int64_t>(live.seqs[0].size()) + 1;
    Live next;
    std::vector<int32_t> tokens;
    for (size_t rank = 0; rank < cands.size() && next.seqs.size() < k; ++rank) {
      const Candidate& c = cands[rank];
      const std::vector<int32_t>& seq = live.seqs[static_cast<size_t>(c.beam)];
      if (is_eos(c.token)) {
        if (rank >= k) continue;  // an EOS below the first num_beams is ignored
        std::vector<int32_t> gen(seq.begin() + P, seq.end());
        gen.push_back(c.token);
        finished.add(std::move(gen), c.score, true);
        continue;
      }
      next.seqs.push_back(seq);
      next.seqs.back().push_back(c.token);
      next.scores.push_back(c.score);
      next.state.push_back(live.state[static_cast<size_t>(c.beam)]);
      tokens.push_back(c.token);
    }
    done = done || finished.done(cands[0].score, cur_len);
    const bool at_max = static_cast<int64_t>(next.seqs[0].size()) >= P + o.max_new_tokens;
    if (!done && !at_max) model.advance(next.state, tokens);
    for (size_t b = 0; b < next.state.size(); ++b) next.state[b] = static_cast<int>(b);
    live = std::move(next);
    if (done || at_max) break;
  }
  if (!done) {
    for (size_t b = 0; b < k; ++b) {
      std::vector<int32_t> gen(live.seqs[b].begin() + P, live.seqs[b].end());
      finished.add(std::move(gen), live.scores[b], false);
    }
  }
  return finished.best(o.num_return_sequences);
}

}  // namespace loom::generate

namespace loom::generate {

namespace {

// One Session per live beam, reordered by copying caches into a second set.
class SessionBeams : public BeamStepper {
 public:
  SessionBeams(const models::LanguageModel& model, ThreadPool& pool, int beams, int64_t capacity)
      : model_(model), pool_(pool) {
    for (int b = 0; b < beams; ++b) {
      live_.emplace_back(model, capacity);
      spare_.emplace_back(model, capacity);
    }
  }
  // The first beam: the source encoded (encoder-decoders), then the prompt run.
  void start(std::span<const int32_t> source, std::span<const int32_t> prompt) {
    if (!source.empty())
      model_.encode_source(live_[0], pool_, source.data(), static_cast<int64_t>(source.size()));
    model_.forward(live_[0], pool_, prompt.data(), static_cast<int64_t>(prompt.size()));
  }
  int64_t vocab_size() const override { return model_.vocab_size(); }
  std::span<const float> logits(int b) const override {
    return {live_[static_cast<size_t>(b)].logits().data(),
            static_cast<size_t>(model_.vocab_size())};
  }
  void advance(std::span<const int> parents, std::span<const int32_t> tokens) override {
    for (size_t i = 0; i < parents.size(); ++i)
      spare_[i].copy_from(live_[static_cast<size_t>(parents[i])]);
    std::swap(live_, spare_);
    for (size_t i = 0; i < tokens.size(); ++i) model_.forward(live_[i], pool_, &tokens[i], 1);
  }

 private:
  const models::LanguageModel& model_;
  ThreadPool& pool_;
  std::vector<models::Session> live_, spare_;
};

}  // namespace

std::vector<Hypothesis> beam_search(const models::LanguageModel& model, ThreadPool& pool,
                                    std::span<const int32_t> prompt,
                                    std::span<const int32_t> eos_ids,
                                    const BeamSearchOptions& options) {
  const auto P = static_cast<int64_t>(prompt.size());
  const int64_t need = P + std::max<int64_t>(options.max_new_tokens, 1) - 1;
  if (need > model.context_length()) {
    throw Error("beam search: a prompt of " + std::to_string(P) + " tokens and " +
                std::to_string(options.max_new_tokens) + " new tokens exceed the context of " +
                std::to_string(model.context_length()));
  }
  SessionBeams beams(model, pool, std::max(options.num_beams, 1), need);
  if (!prompt.empty()) beams.start({}, prompt);
  return beam_search(beams, prompt, eos_ids, options);
}

std::vector<Hypothesis> seq2seq_beam_search(const models::LanguageModel& model, ThreadPool& pool,
                                            std::span<const int32_t> source,
                                            std::span<const int32_t> eos_ids,
                                            const BeamSearchOptions& options) {
  if (!model.encoder_decoder())
    throw Error(model.architecture_name() + " is not an encoder-decoder: use beam_search");
  const int32_t start = model.config().decoder_start_token_id;
  if (start < 0 || start >= model.vocab_size())
    throw Error(model.weights().source() + ": config.json decoder_start_token_id is missing");
  if (source.empty()) throw Error("beam search: the source has no tokens");
  const std::vector<int32_t> prompt = {start};
  const int64_t need = std::max<int64_t>(options.max_new_tokens, 1);
  if (need > model.context_length()) {
    throw Error("beam search: " + std::to_string(options.max_new_tokens) +
                " new tokens exceed the decoder's context of " +
                std::to_string(model.context_length()));
  }
  SessionBeams beams(model, pool, std::max(options.num_beams, 1), need);
  beams.start(source, prompt);
  return beam_search(beams, prompt, eos_ids, options);
}

}  // namespace loom::generate
