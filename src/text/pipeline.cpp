#include "text/pipeline.h"

#include <algorithm>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"

namespace loom::text {

using json = nlohmann::ordered_json;

void Encoding::clear() {
  attention_mask.clear();
  ids.clear();
  offsets.clear();
  type_ids.clear();
  special_mask.clear();
  sequence_ids.clear();
}

void Encoding::append(const Encoding& o) {
  ids.insert(ids.end(), o.ids.begin(), o.ids.end());
  offsets.insert(offsets.end(), o.offsets.begin(), o.offsets.end());
  type_ids.insert(type_ids.end(), o.type_ids.begin(), o.type_ids.end());
  special_mask.insert(special_mask.end(), o.special_mask.begin(), o.special_mask.end());
  sequence_ids.insert(sequence_ids.end(), o.sequence_ids.begin(), o.sequence_ids.end());
  if (!attention_mask.empty() || !o.attention_mask.empty()) {
    attention_mask.resize(ids.size() - o.ids.size(), 1);
    if (o.attention_mask.empty()) {
      attention_mask.resize(ids.size(), 1);
    } else {
      attention_mask.insert(attention_mask.end(), o.attention_mask.begin(), o.attention_mask.end());
    }
  }
}

void Tokenizer::set_truncation(std::optional<TruncationParams> t) {
  if (t) throw Error("this tokenizer (" + info().kind + ") does not support truncation");
}

void Tokenizer::set_padding(std::optional<PaddingParams> p) {
  if (p) throw Error("this tokenizer (" + info().kind + ") does not support padding");
}

void Tokenizer::encode_ids(std::string_view text, bool add_special,
                           std::vector<int32_t>& out) const {
  Encoding e = encode(text, add_special);
  out.assign(e.ids.begin(), e.ids.end());
}

std::vector<std::string> Tokenizer::pieces(const Encoding& enc) const {
  std::vector<std::string> out;
  out.reserve(enc.ids.size());
  for (int32_t id : enc.ids) out.push_back(id_to_token(id));
  return out;
}

PipelineTokenizer::PipelineTokenizer(PipelineParts parts)
    : model_(std::move(parts.model)),
      normalizer_(std::move(parts.normalizer)),
      pre_tokenizer_(std::move(parts.pre_tokenizer)),
      post_processor_(std::move(parts.post_processor)),
      decoder_(std::move(parts.decoder)),
      kind_(std::move(parts.kind)),
      bos_id_(parts.bos_id),
      eos_id_(parts.eos_id),
      truncation_(std::move(parts.truncation)),
      padding_(std::move(parts.padding)) {
  LOOM_ASSERT(model_ != nullptr, "a tokenizer needs a model");
  if (pre_tokenizer_ && pre_tokenizer_->byte_level() && !model_->set_byte_level(true)) {
    throw Error(parts.name +
                ": field /pre_tokenizer: a ByteLevel pre-tokenizer needs a BPE model, "
                "got " +
                model_->type());
  }
  for (AddedToken t : parts.added_tokens) {
    if (t.id < 0) {
      add_tokens(std::span<const AddedToken>(&t, 1));
    } else {
      added_.add(t, added_pattern(t), t.normalized && normalizer_ != nullptr);
    }
  }
  if (padding_ && padding_->pad_id >= vocab_size()) {
    throw Error(parts.name + ": field /padding/pad_id: " + std::to_string(padding_->pad_id) +
                " is outside the vocabulary (size " + std::to_string(vocab_size()) + ")");
  }
  if (post_processor_) {
    for (int32_t id : post_processor_->special_ids()) {
      if (id < 0 || id >= vocab_size()) {
        throw Error(parts.name + ": field /post_processor: special token id " + std::to_string(id) +
                    " is outside the vocabulary (size " + std::to_string(vocab_size()) + ")");
      }
    }
    if (bos_id_ < 0) bos_id_ = post_processor_->leading_special();
    if (eos_id_ < 0) eos_id_ = post_processor_->trailing_special();
  }
}

PipelineTokenizer::~PipelineTokenizer() = default;

void PipelineTokenizer::set_padding(std::optional<PaddingParams> p) {
  if (p && (p->pad_id < 0 || p->pad_id >= vocab_size())) {
    throw Error("padding: pad_id " + std::to_string(p->pad_id) +
                " is outside the vocabulary (size " + std::to_string(vocab_size()) + ")");
  }
  padding_ = std::move(p);
}

std::string PipelineTokenizer::added_pattern(const AddedToken& t) const {
  if (!t.normalized || !normalizer_) return t.content;
  Scratch sc;
  NormalizedString n;
  n.reset(t.content);
  normalizer_->normalize(n, sc);
  return n.text();
}

std::unique_ptr<Scratch> PipelineTokenizer::acquire() const {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      auto sc = std::move(pool_.back());
      pool_.pop_back();
      return sc;
    }
  }
  auto sc = std::make_unique<Scratch>();
  sc->model_state = model_->make_state();
  return sc;
}

void PipelineTokenizer::release(std::unique_ptr<Scratch> sc) const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < 64) pool_.push_back(std::move(sc));
}

void PipelineTokenizer::build_pre_tokenized(std::string_view text, Scratch& sc) const {
  PreTokenized& pt = sc.pt;
  pt.splits.clear();
  sc.added_raw.clear();
  if (added_.has_set(false)) added_.find(text, false, sc.added_raw);
  bool norm_set = added_.has_set(true);
  if (sc.added_raw.empty() && !norm_set) {
    pt.norm.reset(text);
    if (normalizer_) normalizer_->normalize(pt.norm, sc);
    if (!pt.norm.text().empty()) pt.splits.push_back({0, uint32_t(pt.norm.text().size()), -1});
  } else {
    NormalizedString& all = pt.norm;
    all.clear_for_build();
    auto segment = [&](uint32_t b, uint32_t e) {
      if (b >= e) return;
      NormalizedString& seg = sc.segment;
      seg.reset(text.substr(b, e - b), b);
      if (normalizer_) normalizer_->normalize(seg, sc);
      sc.added_norm.clear();
      if (norm_set) added_.find(seg.text(), true, sc.added_norm);
      uint32_t prev = 0, n = uint32_t(seg.text().size());
      auto plain = [&](uint32_t pb, uint32_t pe) {
        if (pb >= pe) return;
        uint32_t at = uint32_t(all.text().size());
        all.append_from(seg, pb, pe);
        pt.splits.push_back({at, uint32_t(all.text().size()), -1});
      };
      for (const auto& m : sc.added_norm) {
        plain(prev, m.range.begin);
        uint32_t at = uint32_t(all.text().size());
        all.append_from(seg, m.range.begin, m.range.end);
        pt.splits.push_back({at, uint32_t(all.text().size()), m.id});
        prev = m.range.end;
      }
      plain(prev, n);
    };
    uint32_t prev = 0;
    for (const auto& m : sc.added_raw) {
      segment(prev, m.range.begin);
      uint32_t at = uint32_t(all.text().size());
      all.append(text.substr(m.range.begin, m.range.end - m.range.begin), m.range.begin,
                 m.range.end);
      pt.splits.push_back({at, uint32_t(all.text().size()), m.id});
      prev = m.range.end;
    }
    segment(prev, uint32_t(text.size()));
  }
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pt, sc);
}

void PipelineTokenizer::encode_raw(std::string_view text, Scratch& sc, Encoding& e,
                                   bool with_offsets) const {
  if (text.size() >= UINT32_MAX / 2)
    throw Error("tokenizer: text of " + std::to_string(text.size()) +
                " bytes is too long (limit 2 GiB)");
  build_pre_tokenized(text, sc);
  const PreTokenized& pt = sc.pt;
  const std::string& t = pt.norm.text();
  for (const Split& s : pt.splits) {
    if (s.token_id >= 0) {
      e.ids.push_back(s.token_id);
      if (with_offsets) e.offsets.push_back(pt.norm.original(s.begin, s.end));
      continue;
    }
    if (s.end <= s.begin) continue;
    sc.model_out.clear();
    model_->tokenize(std::string_view(t).substr(s.begin, s.end - s.begin), sc.model_state.get(),
                     sc.model_out);
    for (const ModelToken& m : sc.model_out) {
      e.ids.push_back(m.id);
      if (with_offsets) e.offsets.push_back(pt.norm.original(s.begin + m.begin, s.begin + m.end));
    }
  }
  if (with_offsets) {
    e.type_ids.resize(e.ids.size(), 0);
    e.special_mask.resize(e.ids.size(), 0);
    e.sequence_ids.resize(e.ids.size(), 0);
  }
}

Encoding PipelineTokenizer::finish(Encoding a, Encoding* b, bool add_special, std::string_view ta,
                                   std::string_view tb, bool pad) const {
  if (truncation_) {
    const int64_t n_added =
        add_special && post_processor_ ? post_processor_->added_tokens(b != nullptr) : 0;
    truncate_encodings(a, b, *truncation_, n_added);
  }
  Encoding out;
  if (post_processor_) {
    out = post_processor_->process(std::move(a), b, add_special, ta, tb);
  } else {
    out = std::move(a);
    if (b) {
      std::fill(b->type_ids.begin(), b->type_ids.end(), 1);
      out.append(*b);
    }
  }
  if (pad && padding_) pad_encodings(std::span<Encoding>(&out, 1), *padding_);
  return out;
}

Encoding PipelineTokenizer::encode(std::string_view text, bool add_special) const {
  auto sc = acquire();
  Encoding e;
  encode_raw(text, *sc, e, true);
  release(std::move(sc));
  return finish(std::move(e), nullptr, add_special, text, {}, true);
}

Encoding PipelineTokenizer::encode_pair(std::string_view a, std::string_view b,
                                        bool add_special) const {
  auto sc = acquire();
  Encoding ea, eb;
  encode_raw(a, *sc, ea, true);
  encode_raw(b, *sc, eb, true);
  release(std::move(sc));
  std::fill(eb.sequence_ids.begin(), eb.sequence_ids.end(), 1);
  return finish(std::move(ea), &eb, add_special, a, b, true);
}

void PipelineTokenizer::encode_ids(std::string_view text, bool add_special,
                                   std::vector<int32_t>& out) const {
  if ((add_special && post_processor_ && post_processor_->added_tokens(false) > 0) || truncation_ ||
      padding_) {
    Encoding e = encode(text, add_special);
    out.assign(e.ids.begin(), e.ids.end());
    return;
  }
  auto sc = acquire();
  Encoding e;
  out.clear();
  e.ids.swap(out);
  encode_raw(text, *sc, e, false);
  e.ids.swap(out);
  release(std::move(sc));
}

std::vector<Encoding> PipelineTokenizer::encode_batch(std::span<const std::string_view> texts,
                                                      bool add_special, ThreadPool& pool) const {
  std::vector<Encoding> out(texts.size());
  constexpr int64_t kBlock = 64;
  int64_t n_blocks = (int64_t(texts.size()) + kBlock - 1) / kBlock;
  pool.run(n_blocks, [&](int64_t blk) {
    auto sc = acquire();
    size_t end = std::min(texts.size(), size_t((blk + 1) * kBlock));
    for (size_t i = size_t(blk * kBlock); i < end; ++i) {
      encode_raw(texts[i], *sc, out[i], true);
      if (post_processor_ || truncation_) {
        out[i] = finish(std::move(out[i]), nullptr, add_special, texts[i], {}, false);
      }
    }
    release(std::move(sc));
  });
  if (padding_) pad_encodings(out, *padding_);
  return out;
}

std::string PipelineTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* a = added_.find_id(id)) {
      if (skip_special && a->special) continue;
      tokens.push_back(a->content);
      continue;
    }
    std::string s = model_->id_to_token(id);
    if (!s.empty()) tokens.push_back(std::move(s));
  }
  std::string out;
  if (decoder_) {
    decoder_->decode_chain(tokens);
    for (const auto& t : tokens) out += t;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
  }
  return out;
}

int32_t PipelineTokenizer::vocab_size() const {
  int32_t n = model_->vocab_size();
  for (const AddedToken& t : added_.tokens()) n = std::max(n, t.id + 1);
  return n;
}

std::optional<int32_t> PipelineTokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* a = added_.find_content(token)) return a->id;
  return model_->token_to_id(token);
}

std::string PipelineTokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = added_.find_id(id)) return a->content;
  return model_->id_to_token(id);
}

int PipelineTokenizer::add_tokens(std::span<const AddedToken> tokens) {
  int created = 0;
  for (AddedToken t : tokens) {
    if (t.content.empty()) throw Error("add_tokens: an added token cannot be empty");
    if (added_.find_content(t.content) != nullptr) continue;  // known: keeps its id and flags
    ++created;
    if (auto id = model_->token_to_id(t.content)) {
      t.id = *id;
    } else {
      t.id = vocab_size();
    }
    added_.add(t, added_pattern(t), t.normalized && normalizer_ != nullptr);
  }
  return created;
}

std::string PipelineTokenizer::to_json() const {
  json added = json::array();
  std::vector<AddedToken> sorted = added_.tokens();
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  for (const AddedToken& t : sorted) {
    added.push_back({{"id", t.id},
                     {"content", t.content},
                     {"single_word", t.single_word},
                     {"lstrip", t.lstrip},
                     {"rstrip", t.rstrip},
                     {"normalized", t.normalized},
                     {"special", t.special}});
  }
  json j = {{"version", "1.0"},
            {"truncation", truncation_to_json(truncation_)},
            {"padding", padding_to_json(padding_)},
            {"added_tokens", added},
            {"normalizer", normalizer_ ? normalizer_->to_json() : json(nullptr)},
            {"pre_tokenizer", pre_tokenizer_ ? pre_tokenizer_->to_json() : json(nullptr)},
            {"post_processor", post_processor_ ? post_processor_->to_json() : json(nullptr)},
            {"decoder", decoder_ ? decoder_->to_json() : json(nullptr)},
            {"model", model_->to_json()}};
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

void PipelineTokenizer::save(const std::string& path) const { write_file_atomic(path, to_json()); }

TokenizerInfo PipelineTokenizer::info() const {
  TokenizerInfo i;
  i.kind = kind_;
  i.model = model_->type();
  i.normalizer = normalizer_ ? normalizer_->summary() : "none";
  i.pre_tokenizer = pre_tokenizer_ ? pre_tokenizer_->summary() : "none";
  i.post_processor = post_processor_ ? post_processor_->summary() : "none";
  i.decoder = decoder_ ? decoder_->summary() : "none";
  return i;
}

}  // namespace loom::text
