#include "train/seq2seq_decode.h"

#include <span>

#include "core/error.h"

namespace loom::train {

namespace {

class SearchBeams : public generate::BeamStepper {
 public:
  SearchBeams(models::Seq2Seq::Search& s, int64_t vocab) : s_(s), vocab_(vocab) {}
  int64_t vocab_size() const override { return vocab_; }
  std::span<const float> logits(int b) const override {
    return {s_.logits(b), static_cast<size_t>(vocab_)};
  }
  void advance(std::span<const int> parents, std::span<const int32_t> tokens) override {
    s_.advance(parents, tokens);
  }

 private:
  models::Seq2Seq::Search& s_;
  int64_t vocab_;
};

}  // namespace

std::vector<models::Seq2SeqOutput> seq2seq_beam_search(models::Seq2Seq& model, ThreadPool& pool,
                                                       const int32_t* src, int64_t src_len,
                                                       int32_t bos, int32_t eos,
                                                       const generate::BeamSearchOptions& options) {
  if (src_len < 1) throw Error("seq2seq beam search: the source has no tokens");
  models::Seq2Seq::Search search(model, pool, src, src_len, bos);
  SearchBeams beams(search, model.config().tgt_vocab);
  const int32_t prompt[1] = {bos};
  const std::vector<generate::Hypothesis> hyps =
      generate::beam_search(beams, prompt, std::span<const int32_t>(&eos, 1), options);
  std::vector<models::Seq2SeqOutput> out;
  for (const generate::Hypothesis& h : hyps) {
    models::Seq2SeqOutput o;
    o.tokens = h.tokens;
    o.finished = h.finished;
    if (o.finished) o.tokens.pop_back();  // the EOS
    o.sum_logprobs = h.sum_logprobs, o.score = h.score;
    o.attention = model.attention(pool, src, src_len, bos, h.tokens);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace loom::train
