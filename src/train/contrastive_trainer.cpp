#include "train/contrastive_trainer.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"

namespace loom::train {

using nn::Tape;
using nn::Var;

namespace {

// Calls fn(line, 1-based number) for every non-blank line ('\r' dropped).
template <typename Fn>
void for_each_nonblank_line(const std::string& text, Fn fn) {
  size_t pos = 0;
  int64_t no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++no;
    if (line.find_first_not_of(" \t") != std::string_view::npos) fn(line, no);
    pos = end + 1;
  }
}

// Handles a malformed line: throws, or records it when skipping.
void bad_line(const std::string& name, int64_t no, const std::string& what, const PairsOptions& o) {
  const std::string msg = name + ":" + std::to_string(no) + ": " + what;
  if (!o.skip_bad) throw Error(msg);
  if (o.issues) o.issues->push_back(msg);
}

void need_some(const std::vector<TextPair>& out, const std::string& name) {
  if (out.empty())
    throw Error(name +
                ": no training pair (expected query<TAB>positive[<TAB>negative] lines or "
                "JSONL objects with \"query\" and \"positive\")");
}

}  // namespace

std::vector<TextPair> parse_pairs_tsv(const std::string& text, const std::string& name,
                                      const PairsOptions& o) {
  std::vector<TextPair> out;
  for_each_nonblank_line(text, [&](std::string_view line, int64_t no) {
    std::vector<std::string_view> f;
    size_t s = 0;
    while (true) {
      const size_t tab = line.find('\t', s);
      f.push_back(line.substr(s, tab == std::string_view::npos ? std::string_view::npos : tab - s));
      if (tab == std::string_view::npos) break;
      s = tab + 1;
    }
    if (f.size() < 2 || f.size() > 3)
      return bad_line(name, no,
                      std::to_string(f.size()) +
                          " tab-separated fields, expected query<TAB>positive[<TAB>negative]",
                      o);
    if (f[0].empty() || f[1].empty())
      return bad_line(name, no, std::string("empty ") + (f[0].empty() ? "query" : "positive"), o);
    if (f.size() == 3 && f[2].empty()) return bad_line(name, no, "empty negative", o);
    out.push_back(TextPair{std::string(f[0]), std::string(f[1]),
                           f.size() == 3 ? std::string(f[2]) : std::string()});
  });
  need_some(out, name);
  return out;
}

std::vector<TextPair> parse_pairs_jsonl(const std::string& text, const std::string& name,
                                        const PairsOptions& o) {
  std::vector<TextPair> out;
  for_each_nonblank_line(text, [&](std::string_view line, int64_t no) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      return bad_line(name, no,
                      "not valid JSON: expected an object with \"query\" and \"positive\"", o);
    }
    if (!j.is_object()) return bad_line(name, no, "expected a JSON object", o);
    TextPair p;
    for (auto [key, dst, required] :
         {std::tuple<const char*, std::string*, bool>{"query", &p.query, true},
          {"positive", &p.positive, true},
          {"negative", &p.negative, false}}) {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) {
        if (required) return bad_line(name, no, std::string("missing field \"") + key + "\"", o);
        continue;
      }
      if (!it->is_string())
        return bad_line(name, no, std::string("field \"") + key + "\": expected a string", o);
      *dst = it->get<std::string>();
      if (dst->empty()) return bad_line(name, no, std::string("field \"") + key + "\" is empty", o);
    }
    out.push_back(std::move(p));
  });
  need_some(out, name);
  return out;
}

std::vector<TextPair> read_pairs(const std::string& path, const PairsOptions& o) {
  const std::string text = read_file(path);
  auto ends = [&](const char* s) {
    const std::string suf(s);
    return path.size() >= suf.size() &&
           path.compare(path.size() - suf.size(), suf.size(), suf) == 0;
  };
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool jsonl =
      ends(".jsonl") || ends(".json") || (first != std::string::npos && text[first] == '{');
  return jsonl ? parse_pairs_jsonl(text, path, o) : parse_pairs_tsv(text, path, o);
}

ContrastiveTrainer::ContrastiveTrainer(CausalLm& model, const std::vector<TokenPair>& data,
                                       ContrastiveConfig cfg, ThreadPool& pool)
    : model_(model),
      data_(data),
      cfg_(std::move(cfg)),
      pool_(pool),
      opt_(model.params(), cfg_.adamw),
      tape_(pool, cfg_.compute) {
  const models::DecoderConfig& mc = model.config();
  if (cfg_.batch < 2)
    throw Error("contrastive training: batch " + std::to_string(cfg_.batch) +
                ": expected >= 2 (in-batch negatives)");
  if (static_cast<int64_t>(data.size()) < cfg_.batch)
    throw Error("contrastive training: " + std::to_string(data.size()) +
                " examples, fewer than one batch of " + std::to_string(cfg_.batch));
  if (cfg_.matryoshka.empty()) cfg_.matryoshka = {mc.dim};
  for (int64_t d : cfg_.matryoshka)
    if (d <= 0 || d > mc.dim)
      throw Error("contrastive training: Matryoshka dimension " + std::to_string(d) +
                  ": expected 1.." + std::to_string(mc.dim) + " (the model's width)");
  if (!cfg_.matryoshka_weights.empty() && cfg_.matryoshka_weights.size() != cfg_.matryoshka.size())
    throw Error("contrastive training: " + std::to_string(cfg_.matryoshka_weights.size()) +
                " Matryoshka weights for " + std::to_string(cfg_.matryoshka.size()) +
                " dimensions");
  if (!(cfg_.loss.temperature > 0)) throw Error("contrastive training: temperature must be > 0");
  for (size_t i = 0; i < data.size(); ++i) {
    const TokenPair& e = data[i];
    for (auto [what, s] : {std::pair<const char*, const std::vector<int32_t>*>{"query", &e.q},
                           {"positive", &e.p},
                           {"negative", &e.n}}) {
      if (s->empty() && s != &e.n)
        throw Error("contrastive training: example " + std::to_string(i + 1) + ": empty " + what +
                    " (no tokens)");
      if (static_cast<int64_t>(s->size()) > mc.context_length)
        throw Error("contrastive training: example " + std::to_string(i + 1) + ": " + what +
                    " has " + std::to_string(s->size()) +
                    " tokens, more than the model's max_seq " + std::to_string(mc.context_length));
      for (int32_t id : *s)
        if (id < 0 || id >= mc.vocab_size)
          throw Error("contrastive training: example " + std::to_string(i + 1) + ": " + what +
                      " token id " + std::to_string(id) + " outside the vocabulary [0, " +
                      std::to_string(mc.vocab_size) + ")");
    }
  }
}

std::vector<int64_t> ContrastiveTrainer::batch_indices(int64_t step) const {
  // B distinct examples by a partial Fisher-Yates shuffle driven by Rng(seed, step) only.
  const int64_t n = static_cast<int64_t>(data_.size());
  Rng rng(cfg_.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(step) + 1);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t i = 0; i < cfg_.batch; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i)));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  perm.resize(static_cast<size_t>(cfg_.batch));
  return perm;
}

Var ContrastiveTrainer::embed(Tape& t, const std::vector<const std::vector<int32_t>*>& seqs) {
  const int64_t n = static_cast<int64_t>(seqs.size());
  int64_t len = 1;
  for (const auto* s : seqs) len = std::max<int64_t>(len, static_cast<int64_t>(s->size()));
  // ids (n, len), right-padded with each sequence's own last token (any valid id would do: the
  // causal mask keeps the tail from reaching earlier positions, and pooling ignores it).
  ids_.assign(static_cast<size_t>(n * len), 0);
  lens_.assign(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int32_t>& s = *seqs[static_cast<size_t>(i)];
    LOOM_ASSERT(!s.empty(), "embed: empty sequence");
    std::copy(s.begin(), s.end(), ids_.begin() + i * len);
    std::fill(ids_.begin() + i * len + static_cast<int64_t>(s.size()), ids_.begin() + (i + 1) * len,
              s.back());
    lens_[static_cast<size_t>(i)] = static_cast<int32_t>(s.size());
  }
  Var h = model_.hidden(t, ids_.data(), n, len);
  return nn::pool_sequences(t, h, lens_.data(), n, len, cfg_.pooling);
}

Var ContrastiveTrainer::loss(const std::vector<int64_t>& idx, const std::vector<TokenPair>& data) {
  std::vector<const std::vector<int32_t>*> q, p, n;
  for (int64_t i : idx) {
    const TokenPair& e = data[static_cast<size_t>(i)];
    q.push_back(&e.q);
    p.push_back(&e.p);
    if (cfg_.hard_negatives && !e.n.empty()) n.push_back(&e.n);
  }
  Var vq = embed(tape_, q), vp = embed(tape_, p);
  Var vn = n.empty() ? Var{} : embed(tape_, n);
  return nn::matryoshka_info_nce(tape_, vq, vp, vn, cfg_.matryoshka, cfg_.matryoshka_weights,
                                 cfg_.loss);
}

float ContrastiveTrainer::compute_gradients(const std::vector<int64_t>& idx,
                                            const std::vector<TokenPair>& examples) {
  model_.params().zero_grad();
  tape_.reset();
  Var l = loss(idx, examples);
  const float v = tape_.data(l)[0];
  if (std::isfinite(v)) tape_.backward(l);
  tape_.reset();
  return v;
}

StepStats ContrastiveTrainer::step() {
  const int64_t step = opt_.steps();
  const float v = compute_gradients(batch_indices(step), data_);
  if (!std::isfinite(v))
    throw Error("training: loss is " + std::string(std::isnan(v) ? "NaN" : "Inf") + " at step " +
                std::to_string(step + 1) +
                "; stopped before updating, the last checkpoint is the last good state");
  return finish_step(model_.params(), opt_, cfg_.schedule, cfg_.clip, pool_, step, v);
}

float ContrastiveTrainer::evaluate(const std::vector<TokenPair>& examples) {
  if (examples.size() < 2) throw Error("contrastive evaluation: needs at least 2 examples");
  double sum = 0;
  int64_t batches = 0;
  tape_.set_grad_enabled(false);
  const int64_t n = static_cast<int64_t>(examples.size());
  for (int64_t s = 0; s + 1 < n; s += cfg_.batch) {
    std::vector<int64_t> idx;
    for (int64_t i = s; i < std::min(n, s + cfg_.batch); ++i) idx.push_back(i);
    if (idx.size() < 2) break;
    tape_.reset();
    sum += tape_.data(loss(idx, examples))[0];
    ++batches;
  }
  tape_.set_grad_enabled(true);
  tape_.reset();
  return static_cast<float>(sum / static_cast<double>(batches));
}

}  // namespace loom::train
