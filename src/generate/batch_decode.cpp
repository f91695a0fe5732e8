#include "generate/batch_decode.h"

#include <algorithm>

#include "core/error.h"

namespace loom::generate {

struct BatchDecoder::Sequence {
  explicit Sequence(const SequenceRequest& r) : request(r), sampler(r.sampler), history(r.prompt) {}
  SequenceRequest request;
  Sampler sampler;
  std::vector<int32_t> history;              // prompt, then the generated tokens
  std::unique_ptr<models::Session> session;  // null until prefilled and once finished
  FinishReason finish = FinishReason::None;
  int64_t generated() const { return static_cast<int64_t>(history.size() - request.prompt.size()); }
};

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::Context:
      return "context";
    case FinishReason::None:
      break;
  }
  return "";
}

BatchDecoder::BatchDecoder(const models::Model& model, ThreadPool& pool, BatchOptions options)
    : model_(model), pool_(pool), options_(options) {
  if (options_.prefill_chunk < 1) throw Error("batch decode: prefill_chunk must be at least 1");
}

BatchDecoder::~BatchDecoder() = default;

void BatchDecoder::validate(const SequenceRequest& r) const {
  const int64_t n = static_cast<int64_t>(r.prompt.size()), ctx = model_.context_length();
  if (n == 0) throw Error("batch decode: prompt: no tokens");
  if (n >= ctx)
    throw Error("batch decode: prompt: " + std::to_string(n) + " tokens leave no room in the " +
                "context of " + std::to_string(ctx) + " positions");
  for (int64_t i = 0; i < n; ++i)
    if (r.prompt[i] < 0 || r.prompt[i] >= model_.vocab_size())
      throw Error("batch decode: prompt token " + std::to_string(i) + ": id " +
                  std::to_string(r.prompt[i]) + " outside the vocabulary of " +
                  std::to_string(model_.vocab_size()));
  if (r.max_new_tokens < 1)
    throw Error("batch decode: max_new_tokens must be at least 1, got " +
                std::to_string(r.max_new_tokens));
}

SequenceId BatchDecoder::add(SequenceRequest request) {
  validate(request);
  const SequenceId id = next_id_++;
  seqs_.emplace(id, std::make_unique<Sequence>(request));
  return id;
}

BatchDecoder::Sequence& BatchDecoder::at(SequenceId id) const {
  const auto it = seqs_.find(id);
  if (it == seqs_.end()) throw Error("batch decode: no sequence " + std::to_string(id));
  return *it->second;
}

void BatchDecoder::remove(SequenceId id) {
  at(id);
  seqs_.erase(id);
}

int64_t BatchDecoder::live() const {
  return std::count_if(seqs_.begin(), seqs_.end(),
                       [](const auto& e) { return e.second->finish == FinishReason::None; });
}

std::span<const int32_t> BatchDecoder::prompt(SequenceId id) const {
  return at(id).request.prompt;
}

std::span<const int32_t> BatchDecoder::tokens(SequenceId id) const {
  const Sequence& q = at(id);
  return std::span<const int32_t>(q.history).subspan(q.request.prompt.size());
}

FinishReason BatchDecoder::finish_reason(SequenceId id) const { return at(id).finish; }

// Samples the sequence's next token from its logits row and decides whether it goes on.
StepToken BatchDecoder::sample(SequenceId id, Sequence& q, std::span<float> logits) {
  const int32_t t = q.sampler.sample(logits, q.history);
  q.history.push_back(t);
  const auto& stops = q.request.stop_tokens;
  if (std::find(stops.begin(), stops.end(), t) != stops.end())
    q.finish = FinishReason::Stop;
  else if (q.generated() >= q.request.max_new_tokens)
    q.finish = FinishReason::Length;
  else if (q.session->position() >= q.session->capacity())
    q.finish = FinishReason::Context;  // no position left to feed t
  if (q.finish != FinishReason::None) q.session.reset();
  return {id, t, q.finish};
}

void BatchDecoder::prefill_new(std::vector<StepToken>& out) {
  for (auto& [id, q] : seqs_) {
    if (q->session || q->finish != FinishReason::None) continue;
    const std::vector<int32_t>& p = q->request.prompt;
    const int64_t n = static_cast<int64_t>(p.size());
    // Room for the prompt and every token fed back (the last sampled one is not).
    const int64_t capacity = std::min(model_.context_length(), n + q->request.max_new_tokens - 1);
    q->session =
        std::make_unique<models::Session>(model_, std::max(capacity, n), options_.prefill_chunk);
    if (options_.prefix_cache != nullptr)
      options_.prefix_cache->prefill(*q->session, pool_, p.data(), n);
    else
      model_.forward(*q->session, pool_, p.data(), n);
    out.push_back(sample(id, *q, q->session->mutable_logits()));
  }
}

void BatchDecoder::decode_live(std::vector<StepToken>& out) {
  std::vector<models::Session*> sessions;
  std::vector<int32_t> tokens;
  std::vector<SequenceId> ids;
  for (auto& [id, q] : seqs_) {
    if (!q->session) continue;  // not prefilled yet, or finished
    sessions.push_back(q->session.get());
    tokens.push_back(q->history.back());
    ids.push_back(id);
  }
  if (sessions.empty()) return;
  const int64_t B = static_cast<int64_t>(sessions.size()), V = model_.vocab_size();
  logits_.resize(static_cast<size_t>(B * V));
  model_.forward_batch(sessions.data(), B, pool_, tokens.data(), logits_.data());
  for (int64_t i = 0; i < B; ++i) {
    const std::span<float> row(logits_.data() + i * V, static_cast<size_t>(V));
    out.push_back(sample(ids[static_cast<size_t>(i)], at(ids[static_cast<size_t>(i)]), row));
  }
}

std::vector<StepToken> BatchDecoder::step() {
  std::vector<StepToken> out;
  decode_live(out);  // before the prefills: a sequence prefilled now has its token already
  prefill_new(out);
  std::sort(out.begin(), out.end(),
            [](const StepToken& a, const StepToken& b) { return a.id < b.id; });
  return out;
}

}  // namespace loom::generate
