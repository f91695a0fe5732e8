#include "adapt/report.h"

#include <algorithm>
#include <cmath>

#include "adapt/extend.h"
#include "adapt/grow.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::adapt {

namespace {

int64_t count_words(const std::string& s) {
  int64_t n = 0;
  bool in = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

// -log2 softmax(logits)[target].
double nll_bits(const float* logits, int64_t vocab, int32_t target) {
  float mx = logits[0];
  for (int64_t i = 1; i < vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - mx));
  const double lp = static_cast<double>(logits[target] - mx) - std::log(sum);
  return -lp / std::log(2.0);
}

const Tensor* first_of(const io::TensorMap& w, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (const Tensor* t = w.find(n)) return t;
  return nullptr;
}

std::string digest(const Tensor& t, int64_t rows, const std::string& what, const io::TensorMap& w) {
  if (t.shape().rank() != 2 || t.shape()[0] < rows) {
    w.fail(what + " has shape " + t.shape().str() + ", expected at least " + std::to_string(rows) +
           " rows (the base model's vocabulary)");
  }
  if (t.dtype() == DType::F32) return rows_sha256(t.view(), 0, rows);
  Tensor f = t.to(DType::F32);
  return rows_sha256(f.view(), 0, rows);
}

}  // namespace

std::vector<std::string> read_lines(const std::string& path, int64_t max_lines) {
  const std::string text = read_file(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size() && (max_lines <= 0 || static_cast<int64_t>(lines.size()) < max_lines)) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.emplace_back(text, pos, nl - pos);
    pos = nl + 1;
  }
  return lines;
}

namespace {

// Documents as scored: BOS + the document's tokens, cut into windows [start, start + len) of at
// most ctx tokens overlapping by one; fn(ids + start, len) for each window whose positions
// k = 0 .. len - 2 predict token k + 1. Counts go to s.
template <class Fn>
void each_window(const text::Tokenizer& tok, int64_t ctx, const std::vector<std::string>& docs,
                 TextScore& s, Fn&& fn) {
  if (tok.bos_id() < 0) throw Error("report: the tokenizer has no BOS token to start documents");
  std::vector<int32_t> ids, body;
  for (const std::string& doc : docs) {
    ++s.docs;
    s.bytes += static_cast<int64_t>(doc.size());
    s.words += count_words(doc);
    body.clear();
    tok.encode_ids(doc, false, body);
    s.tokens += static_cast<int64_t>(body.size());
    if (body.empty()) continue;
    ids.assign(1, tok.bos_id());
    ids.insert(ids.end(), body.begin(), body.end());
    const int64_t n = static_cast<int64_t>(ids.size());
    for (int64_t start = 0; start + 1 < n; start += ctx - 1)
      fn(ids.data() + start, std::min(ctx, n - start));
  }
}

void check_vocab(const text::Tokenizer& tok, int64_t v) {
  if (tok.vocab_size() != v) {
    throw Error("tokenizer has " + std::to_string(tok.vocab_size()) +
                " tokens but the model's vocabulary has " + std::to_string(v));
  }
}

// log softmax of logits (n) into out (n), in double.
void log_softmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  double mx = logits[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(logits[i] - mx);
  const double lse = mx + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = logits[i] - lse;
}

}  // namespace

TextScore score_text(const models::Model& model, const text::Tokenizer& tok,
                     const std::vector<std::string>& docs, ThreadPool& pool) {
  const int64_t V = model.vocab_size();
  check_vocab(tok, V);
  const int64_t ctx = model.context_length();
  TextScore s;
  models::Session session(model, 0, std::min<int64_t>(ctx, 512));
  each_window(tok, ctx, docs, s, [&](const int32_t* ids, int64_t len) {
    session.reset();
    model.forward(session, pool, ids, len, true);
    const float* logits = session.logits().data();
    for (int64_t k = 0; k + 1 < len; ++k) s.nll_bits += nll_bits(logits + k * V, V, ids[k + 1]);
  });
  return s;
}

Drift next_token_drift(const models::LanguageModel& base, const models::LanguageModel& extended,
                       const text::Tokenizer& base_tok, const std::vector<std::string>& docs,
                       ThreadPool& pool) {
  const int64_t V0 = base.vocab_size(), V1 = extended.vocab_size();
  check_vocab(base_tok, V0);
  if (V1 < V0) throw Error("drift: the extended model's vocabulary is smaller than the base's");
  const int64_t ctx = std::min(base.context_length(), extended.context_length());
  models::Session s0(base, 0, std::min<int64_t>(ctx, 512)),
      s1(extended, 0, std::min<int64_t>(ctx, 512));
  Drift d;
  TextScore counts;
  std::vector<double> lp0, lp1;
  each_window(base_tok, ctx, docs, counts, [&](const int32_t* ids, int64_t len) {
    s0.reset();
    s1.reset();
    base.forward(s0, pool, ids, len, true);
    extended.forward(s1, pool, ids, len, true);
    for (int64_t k = 0; k + 1 < len; ++k) {
      log_softmax(s0.logits().data() + k * V0, V0, lp0);
      log_softmax(s1.logits().data() + k * V1, V1, lp1);
      double kl = 0;
      for (size_t i = 0; i < lp0.size(); ++i) kl += std::exp(lp0[i]) * (lp0[i] - lp1[i]);
      d.kl_sum += kl;
      d.kl_max = std::max(d.kl_max, kl);
      ++d.positions;
    }
  });
  return d;
}

std::vector<InitDrift> drift_by_init(
    const models::Model& base,
    const std::function<std::unique_ptr<text::Tokenizer>()>& make_tokenizer,
    const std::vector<std::string>& terms, const std::vector<GrowOptions>& inits,
    const std::vector<std::string>& general, const std::vector<std::string>& domain,
    ThreadPool& pool) {
  const std::unique_ptr<text::Tokenizer> base_tok = make_tokenizer();
  std::vector<InitDrift> out;
  for (const GrowOptions& init : inits) {
    ExtendResult r = extend_model(base, make_tokenizer(), terms, init);
    const auto extended = extended_model(r);
    out.push_back({init, next_token_drift(base, *extended, *base_tok, general, pool),
                   next_token_drift(base, *extended, *base_tok, domain, pool)});
  }
  return out;
}

RowDigests original_row_digests(const models::Model& model, int64_t rows) {
  const io::TensorMap& w = model.weights();
  RowDigests d;
  const Tensor* e = first_of(w, {"token_embd.weight", "model.embed_tokens.weight",
                                 "transformer.wte.weight", "wte.weight"});
  if (e == nullptr) w.fail("no token embedding tensor found");
  d.embed = digest(*e, rows, "the token embedding", w);
  if (!model.config().tied_head) {
    const Tensor* h = first_of(w, {"output.weight", "lm_head.weight"});
    if (h != nullptr) d.head = digest(*h, rows, "the LM head", w);
  }
  return d;
}

}  // namespace loom::adapt
