#include "generate/generator.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/kernels.h"
#include "generate/constraint.h"
#include "generate/stop.h"

namespace loom::generate {

namespace {
// New tokens allowed after a decoder prompt of n_dec tokens: llama2.c's steps count positions,
// the prompt's included; the last generated token is never fed back, so ctx - n_dec + 1 fit.
int64_t new_token_limit(const GenerateOptions& options, int64_t n_dec, int64_t ctx) {
  const int64_t steps = options.steps <= 0 ? ctx : std::min(options.steps, ctx);
  int64_t max_new = std::max<int64_t>(0, steps - n_dec + 1);
  if (options.max_new_tokens >= 0) max_new = std::min(max_new, options.max_new_tokens);
  return std::min(max_new, ctx - n_dec + 1);
}

int64_t checked_prompt_length(std::span<const int32_t> prompt, int64_t ctx) {
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  const auto n = static_cast<int64_t>(prompt.size());
  if (n > ctx) {
    throw Error("prompt of " + std::to_string(n) + " tokens exceeds the model's context of " +
                std::to_string(ctx) + " tokens");
  }
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
// The chosen token's log-probability and the k best alternatives, from raw logits (V).
TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int k) {
  const auto lse =
      static_cast<float>(log_sum_exp(logits.data(), static_cast<int64_t>(logits.size())));
  TokenLogprobs out;
  out.logprob = logits[static_cast<size_t>(chosen)] - lse;
  const size_t n = std::min<size_t>(static_cast<size_t>(k), logits.size());
  std::vector<int32_t> idx(logits.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i);
  std::partial_sort(
      idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n), idx.end(),
      [&](int32_t a, int32_t b) {
        return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
               (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
      });
  for (size_t i = 0; i < n; ++i)
    out.top.emplace_back(idx[i], logits[static_cast<size_t>(idx[i])] - lse);
  return out;
}

// The next token from the chosen sampler, under an optional constraint.
class TokenPicker {
 public:
  TokenPicker(const SamplerConfig& sc, SamplerKind kind, TokenConstraint* constraint)
      : sampler_(sc),
        l2c_(sc.temperature, sc.top_p, sc.seed),
        kind_(kind),
        constraint_(constraint) {
    // Without truncation (top-k/top-p/min-p) a draw from the unmasked logits that the constraint
    // allows is a draw from the masked ones (rejection sampling; greedy: the allowed argmax).
    const bool truncates = kind == SamplerKind::Llama2c
                               ? sc.top_p > 0 && sc.top_p < 1
                               : sc.top_k > 0 || sc.top_p < 1 || sc.min_p > 0;
    try_unmasked_ = sc.temperature <= 0 || !truncates;
  }

  // logits (V) are modified.
  int32_t pick(std::span<float> logits, std::span<const int32_t> history) {
    if (constraint_ == nullptr) return draw(logits, history);
    int32_t next = -1;
    if (try_unmasked_) {
      scratch_.assign(logits.begin(), logits.end());
      next = draw(scratch_, history);
    }
    if (next < 0 || !constraint_->allowed(next)) {
      constraint_->mask(logits);
      next = draw(logits, history);
      // A draw's rounding fallback (the last candidate) may land on a masked token: the masked
      // logits' (or probabilities') best is allowed.
      if (!constraint_->allowed(next)) next = argmax(logits);
    }
    constraint_->accept(next);
    return next;
  }

 private:
  int32_t draw(std::span<float> logits, std::span<const int32_t> history) {
    return kind_ == SamplerKind::Llama2c ? l2c_.sample(logits) : sampler_.sample(logits, history);
  }

  Sampler sampler_;
  Llama2cSampler l2c_;
  SamplerKind kind_;
  TokenConstraint* constraint_;
  bool try_unmasked_ = false;
  std::vector<float> scratch_;
};

// The prompt into the session: an encoder-decoder's source through its encoder, then `dec` (its
// decoder start; for a decoder-only model the prompt itself) through the decoder.
void prefill(const models::LanguageModel& model, ThreadPool& pool, models::Session& session,
             const std::vector<int32_t>& prompt, const std::vector<int32_t>& dec) {
  if (model.encoder_decoder())
    model.encode_source(session, pool, prompt.data(), static_cast<int64_t>(prompt.size()));
  model.forward(session, pool, dec.data(), static_cast<int64_t>(dec.size()));
}

}  // namespace

std::vector<TokenLogprobs> prompt_logprobs(const models::LanguageModel& model, ThreadPool& pool,
                                           std::span<const int32_t> prompt, int k) {
  if (model.encoder_decoder())
    throw Error("prompt log-probabilities: an encoder-decoder reads its prompt as the source");
  const auto n = static_cast<int64_t>(prompt.size());
  std::vector<TokenLogprobs> out;
  if (n < 2) return out;
  checked_prompt_length(prompt, model.context_length());
  models::Session session(model);
  model.forward(session, pool, prompt.data(), n, true);
  const auto V = static_cast<size_t>(model.vocab_size());
  for (size_t t = 1; t < prompt.size(); ++t) {
    std::span<const float> row(session.logits().data() + (t - 1) * V, V);
    out.push_back(token_logprobs(row, prompt[t], k));
  }
  return out;
}

SamplerKind auto_sampler_kind(const SamplerConfig& sc) {
  const bool extras = sc.top_k > 0 || sc.min_p > 0 || sc.repetition_penalty != 1.0f ||
                      sc.frequency_penalty != 0 || sc.presence_penalty != 0;
  return extras ? SamplerKind::Standard : SamplerKind::Llama2c;
}

GenerateResult Generator::generate(std::string_view prompt, const GenerateOptions& options,
                                   const SamplerConfig& sampler, SamplerKind kind,
                                   const std::function<void(std::string_view)>& on_text) {
  return generate_ids(codec_.encode(prompt, true), options, sampler, kind, on_text);
}

std::vector<int32_t> Generator::decoder_prompt(const std::vector<int32_t>& prompt) const {
  if (!model_.encoder_decoder()) return prompt;
  const int32_t start = model_.config().decoder_start_token_id;
  if (start < 0 || start >= model_.vocab_size())
    throw Error(model_.weights().source() + ": config.json decoder_start_token_id is missing");
  return {start};
}

GenerateResult Generator::generate_ids(std::vector<int32_t> prompt, const GenerateOptions& options,
                                       const SamplerConfig& sc, SamplerKind kind,
                                       const std::function<void(std::string_view)>& on_text) {
  const int64_t ctx = model_.context_length();
  checked_prompt_length(prompt, ctx);
  // An encoder-decoder reads the prompt as its source and decodes from its start token.
  const std::vector<int32_t> dec = decoder_prompt(prompt);
  const auto n_dec = static_cast<int64_t>(dec.size());
  const int64_t max_new = new_token_limit(options, n_dec, ctx);

  if (options.beams > 1 && options.constraint != nullptr)
    throw Error("generate: constrained decoding needs sampling (beams = 1)");
  if (options.beams > 1) return beam_search(std::move(prompt), options, max_new, on_text);

  GenerateResult res;
  res.prompt = prompt;
  res.stop_reason = "steps";
  models::Session session(model_);
  TokenPicker picker(sc, kind, options.constraint);
  StopStrings stops(options.stop);
  std::vector<int32_t> history = dec;
  std::vector<float> raw;
  auto emit = [&](const std::string& s) {
    res.text += s;
    if (on_text && !s.empty()) on_text(s);
  };

  auto t0 = std::chrono::steady_clock::now();
  int32_t token = dec.back();
  if (max_new > 0) prefill(model_, pool_, session, prompt, dec);
  res.prompt_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const int64_t V = model_.vocab_size();
  const bool lp = options.logprobs >= 0;
  for (int64_t i = 0; i < max_new; ++i) {
    std::span<float> logits(session.mutable_logits().data(), static_cast<size_t>(V));
    if (lp) raw.assign(logits.begin(), logits.end());  // samplers modify it
    const int32_t next = picker.pick(logits, history);
    if (options.stop_at_eos && (next == codec_.eos_id() || next == codec_.bos_id())) {
      res.stop_reason = "eos";
      break;
    }
    res.tokens.push_back(next);
    if (lp) res.logprobs.push_back(token_logprobs(raw, next, options.logprobs));
    if (options.on_token) options.on_token(next, lp ? &res.logprobs.back() : nullptr);
    history.push_back(next);
    emit(stops.push(codec_.piece_text(token, next)));
    const bool done = options.constraint != nullptr && options.constraint->finished();
    if (stops.stopped() || done) {
      res.stop_reason = stops.stopped() ? "stop" : "eos";
      break;
    }
    token = next;
    if (i + 1 < max_new) model_.forward(session, pool_, &token, 1);
  }
  emit(stops.flush());
  res.decode_seconds = seconds_since(t0);
  return res;
}

GenerateResult Generator::beam_search(std::vector<int32_t> prompt, const GenerateOptions& options,
                                      int64_t max_new,
                                      const std::function<void(std::string_view)>& on_text) {
  GenerateResult res;
  res.prompt = prompt;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ends;
  for (int32_t id : {codec_.eos_id(), codec_.bos_id()})
    if (options.stop_at_eos && id >= 0 && id < model_.vocab_size()) ends.push_back(id);
  if (max_new < 1) {
    res.stop_reason = "steps";
    return res;
  }
  BeamSearchOptions bo;
  bo.num_beams = options.beams;
  bo.max_new_tokens = max_new;
  bo.length_penalty = options.length_penalty;
  bo.early_stopping = options.early_stopping;
  bo.no_repeat_ngram_size = options.no_repeat_ngram_size;
  bo.min_new_tokens = options.min_new_tokens;
  Hypothesis best = model_.encoder_decoder()
                        ? seq2seq_beam_search(model_, pool_, prompt, ends, bo).front()
                        : generate::beam_search(model_, pool_, prompt, ends, bo).front();
  res.decode_seconds = seconds_since(t0);
  if (best.finished) best.tokens.pop_back();  // the EOS is not part of the text
  res.tokens = best.tokens;
  res.stop_reason = best.finished ? "eos" : "steps";
  StopStrings stops(options.stop);
  int32_t prev = decoder_prompt(prompt).back();
  for (int32_t t : best.tokens) {
    res.text += stops.push(codec_.piece_text(prev, t));
    prev = t;
    if (stops.stopped()) {
      res.stop_reason = "stop";
      break;
    }
  }
  res.text += stops.flush();
  if (on_text && !res.text.empty()) on_text(res.text);
  return res;
}

}  // namespace loom::generate
