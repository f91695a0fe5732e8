#include "text/sentencepiece_convert.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "text/loaders.h"
#include "text/unicode.h"

namespace loom::text {

namespace {

using ojson = nlohmann::ordered_json;
const char* const kSpace = "\xE2\x96\x81";  // U+2581

const std::string* piece_or_null(const SentencePieceModelProto& p, int32_t id) {
  if (id < 0 || id >= static_cast<int32_t>(p.pieces.size())) return nullptr;
  return &p.pieces[static_cast<size_t>(id)].piece;
}

bool mergeable(SpPieceType t) {
  return t == SpPieceType::kNormal || t == SpPieceType::kUserDefined;
}

ojson replace_norm(const ojson& pattern, const std::string& content) {
  return ojson{{"type", "Replace"}, {"pattern", pattern}, {"content", content}};
}

// Throws unless the model converts: a BPE model with UTF-8 pieces, the identity normaliser and
// whitespace as a prefix.
void check_convertible(const SentencePieceModelProto& proto, const std::string& name) {
  const SpTrainerSpec& ts = proto.trainer_spec;
  const SpNormalizerSpec& ns = proto.normalizer_spec;
  if (ts.model_type != SpModelType::kBpe) {
    throw Error(name +
                ": trainer_spec.model_type: only SentencePiece BPE models convert to a "
                "tokenizer.json pipeline here (this one is " +
                (ts.model_type == SpModelType::kUnigram ? std::string("Unigram")
                                                        : std::string("word/char")) +
                ")");
  }
  if (!ns.precompiled_charsmap.empty() || (!ns.name.empty() && ns.name != "identity")) {
    throw Error(name + ": normalizer_spec.name '" + ns.name +
                "': only the identity normaliser converts to tokenizer.json stages here");
  }
  if (ts.treat_whitespace_as_suffix) {
    throw Error(name +
                ": trainer_spec.treat_whitespace_as_suffix is not supported by the "
                "tokenizer.json conversion");
  }
  if (proto.pieces.empty()) throw Error(name + ": pieces: expected at least one piece");
  for (size_t i = 0; i < proto.pieces.size(); ++i) {
    if (!utf8_valid(proto.pieces[i].piece)) {
      throw Error(name + ": pieces[" + std::to_string(i) +
                  "]: tokenizer.json needs UTF-8 pieces, this one has invalid bytes");
    }
  }
}

using PieceIds = std::unordered_map<std::string, int32_t>;

// piece -> id; the first id wins for a duplicated piece, as PieceToId.
PieceIds first_piece_ids(const SentencePieceModelProto& proto) {
  PieceIds ids;
  ids.reserve(proto.pieces.size());
  for (size_t i = 0; i < proto.pieces.size(); ++i) {
    ids.emplace(proto.pieces[i].piece, static_cast<int32_t>(i));
  }
  return ids;
}

// Whether pieces[i] is the one its string resolves to (not a later duplicate).
bool is_first(const SentencePieceModelProto& proto, const PieceIds& ids, size_t i) {
  return ids.at(proto.pieces[i].piece) == static_cast<int32_t>(i);
}

ojson vocab_json(const SentencePieceModelProto& proto, const PieceIds& ids) {
  ojson vocab = ojson::object();
  for (size_t i = 0; i < proto.pieces.size(); ++i) {
    if (is_first(proto, ids, i)) vocab[proto.pieces[i].piece] = static_cast<int32_t>(i);
  }
  return vocab;
}

// Merges: (left, right) for every code-point split of a mergeable piece into two pieces, by the
// merged piece's score (best first), then its id, then the halves' ids.
ojson merges_json(const SentencePieceModelProto& proto, const PieceIds& ids) {
  struct M {
    float score;
    int32_t id, left, right;
  };
  std::vector<M> merges;
  for (size_t i = 0; i < proto.pieces.size(); ++i) {
    const SpPiece& p = proto.pieces[i];
    if (!mergeable(p.type) || !is_first(proto, ids, i)) continue;
    const std::string& s = p.piece;
    for (size_t k = 1; k < s.size(); ++k) {
      if ((static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) continue;  // inside a code point
      auto l = ids.find(s.substr(0, k));
      auto r = ids.find(s.substr(k));
      if (l == ids.end() || r == ids.end()) continue;
      merges.push_back({p.score, static_cast<int32_t>(i), l->second, r->second});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const M& a, const M& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.id != b.id) return a.id < b.id;
    if (a.left != b.left) return a.left < b.left;
    return a.right < b.right;
  });
  ojson out = ojson::array();
  for (const M& m : merges) {
    out.push_back(ojson::array({proto.pieces[static_cast<size_t>(m.left)].piece,
                                proto.pieces[static_cast<size_t>(m.right)].piece}));
  }
  return out;
}

ojson model_json(const SentencePieceModelProto& proto, const PieceIds& ids) {
  ojson model = {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", true},
                 {"byte_fallback", proto.trainer_spec.byte_fallback},
                 {"ignore_merges", false},
                 {"vocab", vocab_json(proto, ids)},
                 {"merges", merges_json(proto, ids)}};
  if (const std::string* unk = piece_or_null(proto, proto.trainer_spec.unk_id)) {
    model["unk_token"] = *unk;
  }
  return model;
}

// sentencepiece's whitespace rules as Replace / Prepend normalisers (null when there are none).
ojson normalizer_json(const SpNormalizerSpec& ns) {
  ojson norms = ojson::array();
  if (ns.remove_extra_whitespaces) {
    norms.push_back(replace_norm({{"Regex", "\\A +| +\\z"}}, ""));
    norms.push_back(replace_norm({{"Regex", " {2,}"}}, " "));
  }
  if (ns.add_dummy_prefix) norms.push_back({{"type", "Prepend"}, {"prepend", kSpace}});
  if (ns.escape_whitespaces) norms.push_back(replace_norm({{"String", " "}}, kSpace));
  if (norms.empty()) return nullptr;
  return {{"type", "Sequence"}, {"normalizers", std::move(norms)}};
}

// A template adding the BOS piece before each sequence (null without a BOS piece).
ojson post_processor_json(const SentencePieceModelProto& proto) {
  const int32_t bos_id = proto.trainer_spec.bos_id;
  const std::string* bos = piece_or_null(proto, bos_id);
  if (!bos) return nullptr;
  auto special = [&](const std::string& s, int type_id) {
    return ojson{{"SpecialToken", {{"id", s}, {"type_id", type_id}}}};
  };
  auto seq = [](const char* id, int type_id) {
    return ojson{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  return {{"type", "TemplateProcessing"},
          {"single", ojson::array({special(*bos, 0), seq("A", 0)})},
          {"pair", ojson::array({special(*bos, 0), seq("A", 0), special(*bos, 1), seq("B", 1)})},
          {"special_tokens",
           {{*bos, {{"id", *bos}, {"ids", ojson::array({bos_id})}, {"tokens", {*bos}}}}}}};
}

ojson decoder_json(const SpNormalizerSpec& ns, const SpTrainerSpec& ts) {
  ojson decoders = ojson::array();
  if (ns.escape_whitespaces) decoders.push_back(replace_norm({{"String", kSpace}}, " "));
  if (ts.byte_fallback) decoders.push_back({{"type", "ByteFallback"}});
  decoders.push_back({{"type", "Fuse"}});
  if (ns.add_dummy_prefix)
    decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  return {{"type", "Sequence"}, {"decoders", std::move(decoders)}};
}

// Control and unknown pieces as special added tokens, user-defined ones as plain added tokens.
ojson added_tokens_json(const SentencePieceModelProto& proto, const PieceIds& ids) {
  ojson added = ojson::array();
  for (size_t i = 0; i < proto.pieces.size(); ++i) {
    const SpPiece& p = proto.pieces[i];
    const bool special = p.type == SpPieceType::kControl || p.type == SpPieceType::kUnknown;
    if (!special && p.type != SpPieceType::kUserDefined) continue;
    if (!is_first(proto, ids, i)) continue;
    added.push_back({{"id", static_cast<int32_t>(i)},
                     {"content", p.piece},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", special}});
  }
  return added;
}

}  // namespace

ojson sentencepiece_to_tokenizer_json(const SentencePieceModelProto& proto,
                                      const std::string& name) {
  check_convertible(proto, name);
  const PieceIds ids = first_piece_ids(proto);
  return ojson{{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", added_tokens_json(proto, ids)},
               {"normalizer", normalizer_json(proto.normalizer_spec)},
               {"pre_tokenizer", nullptr},
               {"post_processor", post_processor_json(proto)},
               {"decoder", decoder_json(proto.normalizer_spec, proto.trainer_spec)},
               {"model", model_json(proto, ids)}};
}

std::unique_ptr<PipelineTokenizer> sentencepiece_to_pipeline(const SentencePieceModelProto& proto,
                                                             const std::string& name) {
  ojson j = sentencepiece_to_tokenizer_json(proto, name);
  SpecialHints hints;
  if (const std::string* b = piece_or_null(proto, proto.trainer_spec.bos_id)) hints.bos = *b;
  if (const std::string* e = piece_or_null(proto, proto.trainer_spec.eos_id)) hints.eos = *e;
  return tokenizer_from_json(j.dump(), name, hints);
}

std::string sentencepiece_tokenizer_config(const SentencePieceModelProto& proto) {
  ojson c = ojson::object();
  const SpTrainerSpec& ts = proto.trainer_spec;
  if (const std::string* s = piece_or_null(proto, ts.bos_id)) c["bos_token"] = *s;
  if (const std::string* s = piece_or_null(proto, ts.eos_id)) c["eos_token"] = *s;
  if (const std::string* s = piece_or_null(proto, ts.unk_id)) c["unk_token"] = *s;
  if (const std::string* s = piece_or_null(proto, ts.pad_id)) c["pad_token"] = *s;
  c["add_bos_token"] = ts.bos_id >= 0;
  c["add_eos_token"] = false;
  c["tokenizer_class"] = "LlamaTokenizerFast";
  return c.dump(2) + "\n";
}

}  // namespace loom::text
