#include "generate/generator.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "generate/stop.h"

namespace loom::generate {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
// The chosen token's log-probability and the k best alternatives, from raw logits (V).
TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int k) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double s = 0;
  for (float v : logits) s += std::exp(static_cast<double>(v - mx));
  const float lse = mx + static_cast<float>(std::log(s));
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

}  // namespace

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

GenerateResult Generator::generate_ids(std::vector<int32_t> prompt, const GenerateOptions& options,
                                       const SamplerConfig& sc, SamplerKind kind,
                                       const std::function<void(std::string_view)>& on_text) {
  const int64_t ctx = model_.context_length();
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  const int64_t n_prompt = static_cast<int64_t>(prompt.size());
  if (n_prompt > ctx) {
    throw Error("prompt of " + std::to_string(n_prompt) +
                " tokens exceeds the model's context of " + std::to_string(ctx) + " tokens");
  }
  int64_t steps = options.steps <= 0 ? ctx : std::min(options.steps, ctx);
  int64_t max_new = std::max<int64_t>(0, steps - n_prompt + 1);
  if (options.max_new_tokens >= 0) max_new = std::min(max_new, options.max_new_tokens);
  // The last generated token is never fed back, so ctx - n_prompt + 1 tokens fit.
  max_new = std::min(max_new, ctx - n_prompt + 1);
  if (options.beams > 1) return beam_search(std::move(prompt), options, max_new, on_text);

  GenerateResult res;
  res.prompt = prompt;
  res.stop_reason = "steps";
  models::Session session(model_);
  Sampler sampler(sc);
  Llama2cSampler l2c(sc.temperature, sc.top_p, sc.seed);
  StopStrings stops(options.stop);
  std::vector<int32_t> history = prompt;
  std::vector<float> raw;
  auto emit = [&](const std::string& s) {
    res.text += s;
    if (on_text && !s.empty()) on_text(s);
  };

  auto t0 = std::chrono::steady_clock::now();
  int32_t token = prompt.back();
  if (max_new > 0) model_.forward(session, pool_, prompt.data(), n_prompt);
  res.prompt_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const int64_t V = model_.vocab_size();
  for (int64_t i = 0; i < max_new; ++i) {
    std::span<float> logits(session.mutable_logits().data(), static_cast<size_t>(V));
    if (options.logprobs >= 0) raw.assign(logits.begin(), logits.end());  // samplers modify it
    int32_t next =
        kind == SamplerKind::Llama2c ? l2c.sample(logits) : sampler.sample(logits, history);
    if (options.stop_at_eos && (next == codec_.eos_id() || next == codec_.bos_id())) {
      res.stop_reason = "eos";
      break;
    }
    res.tokens.push_back(next);
    if (options.logprobs >= 0) res.logprobs.push_back(token_logprobs(raw, next, options.logprobs));
    history.push_back(next);
    emit(stops.push(codec_.piece_text(token, next)));
    if (stops.stopped()) {
      res.stop_reason = "stop";
      break;
    }
    token = next;
    if (i + 1 < max_new) model_.forward(session, pool_, &token, 1);
  }
  emit(stops.flush());
  res.decode_seconds = seconds_since(t0);
  return res;
}

namespace {

// logits (at least V) -> log-probabilities (V).
std::vector<float> log_softmax(const std::vector<float>& logits, int64_t V) {
  std::vector<float> out(logits.begin(), logits.begin() + V);
  float mx = *std::max_element(out.begin(), out.end());
  double s = 0;
  for (float v : out) s += std::exp(static_cast<double>(v - mx));
  const float lse = mx + static_cast<float>(std::log(s));
  for (float& v : out) v -= lse;
  return out;
}

struct BeamCandidate {
  double logprob;
  size_t beam;
  int32_t token;
};

// The best `beams` continuations of every live beam, all together, best first (stable: ties keep
// beam order, and within a beam lower token ids first).
std::vector<BeamCandidate> beam_candidates(const std::vector<Beam>& live,
                                           const std::vector<std::vector<float>>& logprobs,
                                           int beams, int64_t V) {
  std::vector<BeamCandidate> cands;
  const int64_t per_beam = std::min<int64_t>(beams, V);
  for (size_t b = 0; b < live.size(); ++b) {
    std::vector<int32_t> idx(static_cast<size_t>(V));
    for (int32_t i = 0; i < V; ++i) idx[static_cast<size_t>(i)] = i;
    const auto& lp = logprobs[b];
    std::partial_sort(idx.begin(), idx.begin() + per_beam, idx.end(), [&](int32_t a, int32_t c) {
      return lp[a] > lp[c] || (lp[a] == lp[c] && a < c);
    });
    for (int64_t k = 0; k < per_beam; ++k)
      cands.push_back(
          {live[b].logprob + lp[idx[static_cast<size_t>(k)]], b, idx[static_cast<size_t>(k)]});
  }
  std::stable_sort(cands.begin(), cands.end(), [](const BeamCandidate& a, const BeamCandidate& b) {
    return a.logprob > b.logprob;
  });
  return cands;
}

}  // namespace

std::vector<Beam> beam_search(const models::LanguageModel& model, ThreadPool& pool,
                              std::span<const int32_t> prompt, int beams, int64_t max_new,
                              std::span<const int32_t> end_ids, float length_penalty) {
  LOOM_ASSERT(beams >= 1, "beam count");
  const int64_t V = model.vocab_size();
  auto score = [&](const Beam& b) {
    double len = std::max<size_t>(1, b.tokens.size());
    return b.logprob / std::pow(len, static_cast<double>(length_penalty));
  };
  auto is_end = [&](int32_t t) {
    return std::find(end_ids.begin(), end_ids.end(), t) != end_ids.end();
  };
  std::vector<models::Session> sessions;
  sessions.emplace_back(model);
  model.forward(sessions[0], pool, prompt.data(), static_cast<int64_t>(prompt.size()));
  std::vector<Beam> live(1), done;
  std::vector<std::vector<float>> logprobs{log_softmax(sessions[0].logits(), V)};
  for (int64_t step = 0; step < max_new && !live.empty(); ++step) {
    std::vector<Beam> next_live;
    std::vector<models::Session> next_sessions;
    for (const BeamCandidate& c : beam_candidates(live, logprobs, beams, V)) {
      if (static_cast<int>(next_live.size()) >= beams) break;
      Beam nb = live[c.beam];
      nb.logprob = c.logprob;
      if (is_end(c.token)) {
        nb.finished = true;
        nb.score = score(nb);
        done.push_back(nb);
        continue;
      }
      nb.tokens.push_back(c.token);
      next_live.push_back(nb);
      next_sessions.emplace_back(model);
      next_sessions.back().copy_from(sessions[c.beam]);
    }
    live = std::move(next_live);
    sessions = std::move(next_sessions);
    if (static_cast<int>(done.size()) >= beams) break;  // the usual early stop
    logprobs.assign(live.size(), {});
    for (size_t b = 0; b < live.size() && step + 1 < max_new; ++b) {
      int32_t t = live[b].tokens.back();
      model.forward(sessions[b], pool, &t, 1);
      logprobs[b] = log_softmax(sessions[b].logits(), V);
    }
  }
  for (auto& b : live) {
    b.score = score(b);
    done.push_back(b);
  }
  std::stable_sort(done.begin(), done.end(),
                   [](const Beam& a, const Beam& b) { return a.score > b.score; });
  if (static_cast<int>(done.size()) > beams) done.resize(static_cast<size_t>(beams));
  return done;
}

GenerateResult Generator::beam_search(std::vector<int32_t> prompt, const GenerateOptions& options,
                                      int64_t max_new,
                                      const std::function<void(std::string_view)>& on_text) {
  GenerateResult res;
  res.prompt = prompt;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ends;
  if (options.stop_at_eos) ends = {codec_.eos_id(), codec_.bos_id()};
  auto beams = generate::beam_search(model_, pool_, prompt, options.beams, max_new, ends,
                                     options.length_penalty);
  res.decode_seconds = seconds_since(t0);
  const Beam& best = beams.front();
  res.tokens = best.tokens;
  res.stop_reason = best.finished ? "eos" : "steps";
  StopStrings stops(options.stop);
  int32_t prev = prompt.back();
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
