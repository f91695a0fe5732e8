#include "train/rnn_lm_trainer.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace loom::train {

// ---- word vocabulary ----

namespace {

// Calls fn(word) for every whitespace-separated word of text and fn("<eos>") after each line
// (the last line too, when it is not empty).
template <typename F>
void for_each_word(std::string_view text, F&& fn) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t eol = std::min(text.find('\n', i), text.size());
    size_t j = i;
    while (j < eol) {
      while (j < eol && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
      size_t k = j;
      while (k < eol && !std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      if (k > j) fn(text.substr(j, k - j));
      j = k;
    }
    fn(std::string_view(WordVocab::kEos));
    i = eol + 1;
  }
}

}  // namespace

int32_t WordVocab::add(std::string_view w) {
  auto it = index_.find(std::string(w));
  if (it != index_.end()) return it->second;
  const auto id = static_cast<int32_t>(words_.size());
  words_.emplace_back(w);
  index_.emplace(words_.back(), id);
  return id;
}

void WordVocab::add_text(std::string_view text) {
  for_each_word(text, [&](std::string_view w) { add(w); });
}

std::vector<int32_t> WordVocab::encode(std::string_view text, const std::string& source) const {
  const auto unk = index_.find(kUnk);
  std::vector<int32_t> ids;
  for_each_word(text, [&](std::string_view w) {
    auto it = index_.find(std::string(w));
    if (it != index_.end()) {
      ids.push_back(it->second);
    } else if (unk != index_.end()) {
      ids.push_back(unk->second);
    } else {
      throw Error(source + ": word '" + std::string(w) + "' at token " +
                  std::to_string(ids.size()) + " is not in the vocabulary, which has no <unk>");
    }
  });
  return ids;
}

std::string WordVocab::text() const {
  std::string out;
  for (const std::string& w : words_) out += w + "\n";
  return out;
}

std::vector<int32_t> batchify(const std::vector<int32_t>& tokens, int64_t batch) {
  LOOM_ASSERT(batch > 0, "batchify: batch must be > 0");
  const int64_t rows = static_cast<int64_t>(tokens.size()) / batch;
  std::vector<int32_t> out(static_cast<size_t>(rows * batch));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r)
      out[static_cast<size_t>(r * batch + b)] = tokens[static_cast<size_t>(b * rows + r)];
  return out;
}

// ---- trainer ----

namespace {

// The window of rows [pos, pos + seq) of streams as ids and the following rows as targets.
// Time-major rows are contiguous: the window is one slice.
int64_t window(const std::vector<int32_t>& streams, int64_t rows, int64_t batch, int64_t pos,
               int64_t bptt, const int32_t** ids, const int32_t** targets) {
  const int64_t seq = std::min(bptt, rows - 1 - pos);
  *ids = streams.data() + pos * batch;
  *targets = streams.data() + (pos + 1) * batch;
  return seq;
}

}  // namespace

RnnLmTrainer::RnnLmTrainer(models::RnnLm& model, const std::vector<int32_t>& tokens,
                           RnnLmTrainConfig cfg, ThreadPool& pool)
    : model_(model),
      cfg_(cfg),
      pool_(pool),
      streams_(batchify(tokens, std::max<int64_t>(cfg.batch, 1))),
      opt_(model.params(), cfg.adamw),
      tape_(pool) {
  if (cfg_.batch <= 0 || cfg_.bptt <= 0)
    throw Error("rnn lm train config: batch and bptt must be > 0");
  rows_ = static_cast<int64_t>(streams_.size()) / cfg_.batch;
  if (rows_ < 2)
    throw Error("rnn lm training data: " + std::to_string(tokens.size()) +
                " tokens, need at least " + std::to_string(2 * cfg_.batch) + " for batch " +
                std::to_string(cfg_.batch));
  for (int32_t id : tokens)
    if (id < 0 || id >= model.config().vocab_size)
      throw Error("rnn lm training data: token id " + std::to_string(id) +
                  " outside the vocabulary of " + std::to_string(model.config().vocab_size));
  state_ = model_.zero_state(cfg_.batch);
}

int64_t RnnLmTrainer::windows_per_epoch() const { return (rows_ - 1 + cfg_.bptt - 1) / cfg_.bptt; }

StepStats RnnLmTrainer::step() {
  const int64_t step = opt_.steps();
  if (pos_ >= rows_ - 1) {  // a new epoch starts from a zero state
    pos_ = 0;
    state_ = model_.zero_state(cfg_.batch);
  }
  const int32_t *ids = nullptr, *targets = nullptr;
  const int64_t seq = window(streams_, rows_, cfg_.batch, pos_, cfg_.bptt, &ids, &targets);
  model_.params().zero_grad();
  tape_.reset();
  nn::Var loss = model_.loss(tape_, ids, targets, seq, state_, true,
                             cfg_.seed * 1000003ull + static_cast<uint64_t>(step) * 8);
  const float l = tape_.data(loss)[0];
  if (!std::isfinite(l))
    throw Error("training: loss is " + std::string(std::isnan(l) ? "NaN" : "Inf") + " at step " +
                std::to_string(step + 1) + "; stopped before updating");
  tape_.backward(loss);
  pos_ += seq;
  return finish_step(model_.params(), opt_, cfg_.schedule, cfg_.clip, pool_, step, l);
}

float RnnLmTrainer::evaluate(const std::vector<int32_t>& tokens, int64_t max_windows) {
  const std::vector<int32_t> streams = batchify(tokens, cfg_.batch);
  const int64_t rows = static_cast<int64_t>(streams.size()) / cfg_.batch;
  if (rows < 2)
    throw Error("rnn lm evaluation: too few tokens for batch " + std::to_string(cfg_.batch));
  models::RnnState state = model_.zero_state(cfg_.batch);
  double sum = 0;
  int64_t n = 0, windows = 0;
  tape_.set_grad_enabled(false);
  for (int64_t pos = 0; pos < rows - 1; ++windows) {
    if (max_windows > 0 && windows >= max_windows) break;
    const int32_t *ids = nullptr, *targets = nullptr;
    const int64_t seq = window(streams, rows, cfg_.batch, pos, cfg_.bptt, &ids, &targets);
    tape_.reset();
    nn::Var loss = model_.loss(tape_, ids, targets, seq, state, false, 0);
    sum += static_cast<double>(tape_.data(loss)[0]) * static_cast<double>(seq);
    n += seq;
    pos += seq;
  }
  tape_.set_grad_enabled(true);
  return static_cast<float>(sum / static_cast<double>(n));
}

}  // namespace loom::train
