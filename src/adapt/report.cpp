#include "adapt/report.h"

#include <algorithm>
#include <cmath>

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

TextScore score_text(const models::Model& model, const text::Tokenizer& tok,
                     const std::vector<std::string>& docs, ThreadPool& pool) {
  const int64_t V = model.vocab_size();
  if (tok.vocab_size() != V) {
    throw Error("tokenizer has " + std::to_string(tok.vocab_size()) +
                " tokens but the model's vocabulary has " + std::to_string(V));
  }
  if (tok.bos_id() < 0) throw Error("report: the tokenizer has no BOS token to start documents");
  const int64_t ctx = model.context_length();
  TextScore s;
  std::vector<int32_t> ids, body;
  models::Session session(model, 0, std::min<int64_t>(ctx, 512));
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
    // Windows [start, start + len) with len <= ctx; position start + k predicts start + k + 1.
    for (int64_t start = 0; start + 1 < n; start += ctx - 1) {
      const int64_t len = std::min(ctx, n - start);
      session.reset();
      model.forward(session, pool, ids.data() + start, len, true);
      const float* logits = session.logits().data();
      for (int64_t k = 0; k + 1 < len; ++k) {
        s.nll_bits += nll_bits(logits + k * V, V, ids[static_cast<size_t>(start + k + 1)]);
      }
    }
  }
  return s;
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
