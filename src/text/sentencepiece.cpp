#include "text/sentencepiece.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"

namespace loom::text {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";

// The byte a "<0xXX>" piece stands for.
inline char byte_piece_value(const std::string& piece) {
  unsigned v = 0;
  std::sscanf(piece.c_str(), "<0x%02X>", &v);
  return static_cast<char>(v);
}

// Moves the pending byte pieces into text: valid UTF-8 runs are copied; each invalid byte
// becomes U+FFFD, as sentencepiece does.
void flush_byte_run(std::string& bytes, std::string& text) {
  std::string_view b = bytes;
  while (!b.empty()) {
    bool valid;
    size_t n = sp_utf8_char_len(b, &valid);
    if (valid)
      text.append(b.substr(0, n));
    else
      text.append("\xEF\xBF\xBD");
    b.remove_prefix(n);
  }
  bytes.clear();
}

// Appends a normal piece with each U+2581 as a space. While *bos_ws, a leading U+2581 is the
// dummy prefix and is dropped; with remove_extra_whitespaces every leading whitespace piece is.
void append_piece_text(std::string_view p, const SpNormalizerSpec& ns, bool* bos_ws,
                       std::string& text) {
  bool consumed = false;
  if (*bos_ws && (ns.add_dummy_prefix || ns.remove_extra_whitespaces) &&
      p.substr(0, kSpaceSymbol.size()) == kSpaceSymbol) {
    p.remove_prefix(kSpaceSymbol.size());
    consumed = !ns.remove_extra_whitespaces;
  }
  if (*bos_ws && (!p.empty() || consumed)) *bos_ws = false;
  for (size_t i = 0; i < p.size();) {
    if (p.compare(i, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
      text.push_back(' ');
      i += kSpaceSymbol.size();
    } else {
      text.push_back(p[i++]);
    }
  }
}

}  // namespace

void SpU64Map::build(const std::vector<std::pair<uint64_t, int32_t>>& entries) {
  size_t cap = 16;
  while (cap < entries.size() * 2 + 1) cap <<= 1;
  keys_.assign(cap, 0);
  vals_.assign(cap, -1);
  mask_ = cap - 1;
  for (const auto& [k, v] : entries) {
    LOOM_ASSERT(v >= 0);
    size_t i = mix(k) & mask_;
    while (vals_[i] >= 0 && keys_[i] != k) i = (i + 1) & mask_;
    keys_[i] = k;
    vals_[i] = v;
  }
}

SpVocab::SpVocab(const SentencePieceModelProto& proto, const std::string& name)
    : pieces_(proto.pieces) {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  normal_.reserve(pieces_.size() * 2);
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const SpPiece& p = pieces_[i];
    const auto id = static_cast<int32_t>(i);
    const bool normal = p.type == SpPieceType::kNormal || p.type == SpPieceType::kUserDefined ||
                        p.type == SpPieceType::kUnused;
    if (p.piece.empty()) {
      throw Error(name + ": ModelProto.pieces[" + std::to_string(i) + "]: empty piece string");
    }
    if (normal_.count(p.piece) || reserved_.count(p.piece)) {
      throw Error(name + ": ModelProto.pieces[" + std::to_string(i) + "]: piece \"" + p.piece +
                  "\" is already defined");
    }
    (normal ? normal_ : reserved_).emplace(std::string_view(pieces_[i].piece), id);
    if (p.type == SpPieceType::kUserDefined) user_defined_.push_back(p.piece);
    if (p.type == SpPieceType::kUnused) has_unused_ = true;
    if (p.type == SpPieceType::kUnknown) {
      if (unk_id_ >= 0) {
        throw Error(name + ": ModelProto.pieces[" + std::to_string(i) +
                    "]: a second UNKNOWN piece (first is id " + std::to_string(unk_id_) + ")");
      }
      unk_id_ = id;
    }
  }
  if (unk_id_ < 0)
    throw Error(name + ": ModelProto.pieces: expected one UNKNOWN piece, found none");
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    auto it = reserved_.find(buf);
    byte_ids_[b] = it != reserved_.end() && pieces_[it->second].type == SpPieceType::kByte
                       ? it->second
                       : unk_id_;
  }
}

int32_t SpVocab::find_normal(std::string_view s) const {
  auto it = normal_.find(s);
  return it == normal_.end() ? -1 : it->second;
}

int32_t SpVocab::piece_to_id(std::string_view s) const {
  if (auto it = reserved_.find(s); it != reserved_.end()) return it->second;
  if (auto it = normal_.find(s); it != normal_.end()) return it->second;
  return unk_id_;
}

SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept = default;
SentencePieceTokenizer& SentencePieceTokenizer::operator=(SentencePieceTokenizer&&) noexcept =
    default;
SentencePieceTokenizer::~SentencePieceTokenizer() = default;

SentencePieceTokenizer SentencePieceTokenizer::load(const std::string& path) {
  return from_proto(load_sentencepiece_any(path), path);
}

SentencePieceTokenizer SentencePieceTokenizer::from_model_bytes(std::string_view bytes,
                                                                const std::string& name) {
  return from_proto(
      parse_sentencepiece_model(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name),
      name);
}

SentencePieceTokenizer SentencePieceTokenizer::from_llama2c_bytes(std::string_view bytes,
                                                                  const std::string& name) {
  return from_proto(
      parse_llama2c_tokenizer(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name),
      name);
}

SentencePieceTokenizer SentencePieceTokenizer::from_proto(SentencePieceModelProto proto,
                                                          const std::string& name) {
  SentencePieceTokenizer t;
  t.proto_ = std::make_unique<SentencePieceModelProto>(std::move(proto));
  const SentencePieceModelProto& p = *t.proto_;
  t.vocab_ = std::make_unique<SpVocab>(p, name);
  const SpTrainerSpec& ts = p.trainer_spec;
  bool has_byte = false;
  for (const SpPiece& piece : p.pieces) has_byte |= piece.type == SpPieceType::kByte;
  if (has_byte && !ts.byte_fallback) {
    throw Error(name + ": TrainerSpec.byte_fallback is false but the model has BYTE pieces");
  }
  t.byte_fallback_ = ts.byte_fallback;
  t.normalizer_ = std::make_unique<SpNormalizer>(p.normalizer_spec, ts.treat_whitespace_as_suffix,
                                                 t.vocab_->user_defined(), name);
  switch (ts.model_type) {
    case SpModelType::kBpe:
      t.model_ = make_sp_bpe_model(*t.vocab_);
      break;
    case SpModelType::kUnigram:
      t.model_ = make_sp_unigram_model(*t.vocab_);
      break;
    default:
      throw Error(name + ": TrainerSpec.model_type: expected UNIGRAM (1) or BPE (2), got " +
                  std::to_string(static_cast<int>(ts.model_type)) + " (WORD/CHAR unsupported)");
  }
  auto control_id = [&](const std::string& piece) -> int32_t {
    int32_t id = t.vocab_->piece_to_id(piece);
    return t.vocab_->type(id) == SpPieceType::kControl ? id : -1;
  };
  t.bos_id_ = control_id(ts.bos_piece);
  t.eos_id_ = control_id(ts.eos_piece);
  t.pad_id_ = control_id(ts.pad_piece);
  return t;
}

void SentencePieceTokenizer::emit(const SpScratch& s, std::vector<int32_t>* ids,
                                  std::vector<std::pair<uint32_t, uint32_t>>* offsets) const {
  uint32_t consumed = 0;
  const auto& n2o = s.norm_to_orig;
  bool prev_unk = false;
  for (const SpSegment& seg : s.segments) {
    const uint32_t begin = n2o[consumed], end = n2o[consumed + seg.length];
    consumed += seg.length;
    const bool unk = seg.id == vocab_->unk_id();
    if (unk && prev_unk && !byte_fallback_) {
      // A run of unknown pieces becomes one unknown, as SentencePieceProcessor::Encode does.
      if (offsets) offsets->back().second = end;
      continue;
    }
    prev_unk = unk;
    if (byte_fallback_ && unk) {
      for (uint32_t i = 0; i < seg.length; ++i) {
        ids->push_back(vocab_->byte_piece_id(static_cast<uint8_t>(s.normalized[seg.begin + i])));
        if (offsets) offsets->emplace_back(begin, i + 1 == seg.length ? end : begin);
      }
    } else {
      ids->push_back(seg.id);
      if (offsets) offsets->emplace_back(begin, end);
    }
  }
}

void SentencePieceTokenizer::encode_ids_into(std::string_view text, SpScratch* scratch,
                                             std::vector<int32_t>* ids, bool add_bos,
                                             bool add_eos) const {
  if (add_bos && bos_id_ >= 0) ids->push_back(bos_id_);
  normalizer_->normalize(text, &scratch->normalized, &scratch->norm_to_orig);
  model_->encode_normalized(scratch->normalized, scratch, &scratch->segments);
  emit(*scratch, ids, nullptr);
  if (add_eos && eos_id_ >= 0) ids->push_back(eos_id_);
}

void SentencePieceTokenizer::encode_normalized(
    std::string_view normalized, SpScratch* scratch, std::vector<int32_t>* ids,
    std::vector<std::pair<uint32_t, uint32_t>>* offsets) const {
  scratch->normalized.assign(normalized);
  scratch->norm_to_orig.resize(normalized.size() + 1);
  for (size_t i = 0; i <= normalized.size(); ++i)
    scratch->norm_to_orig[i] = static_cast<uint32_t>(i);
  model_->encode_normalized(scratch->normalized, scratch, &scratch->segments);
  emit(*scratch, ids, offsets);
}

std::vector<int32_t> SentencePieceTokenizer::encode_ids(std::string_view text, bool add_bos,
                                                        bool add_eos) const {
  SpScratch scratch;
  std::vector<int32_t> ids;
  encode_ids_into(text, &scratch, &ids, add_bos, add_eos);
  return ids;
}

SpEncoding SentencePieceTokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  SpScratch s;
  SpEncoding e;
  if (add_bos && bos_id_ >= 0) {
    e.ids.push_back(bos_id_);
    e.offsets.emplace_back(0, 0);
  }
  normalizer_->normalize(text, &s.normalized, &s.norm_to_orig);
  model_->encode_normalized(s.normalized, &s, &s.segments);
  emit(s, &e.ids, &e.offsets);
  if (add_eos && eos_id_ >= 0) {
    const auto n = static_cast<uint32_t>(text.size());
    e.ids.push_back(eos_id_);
    e.offsets.emplace_back(n, n);
  }
  return e;
}

std::vector<std::vector<int32_t>> SentencePieceTokenizer::encode_batch(
    const std::vector<std::string_view>& texts, ThreadPool* pool, bool add_bos,
    bool add_eos) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  auto work = [&](int64_t begin, int64_t end) {
    SpScratch scratch;
    for (int64_t i = begin; i < end; ++i) {
      encode_ids_into(texts[i], &scratch, &out[i], add_bos, add_eos);
    }
  };
  if (pool == nullptr || pool->size() <= 1) {
    work(0, static_cast<int64_t>(texts.size()));
  } else {
    // One contiguous range per thread, so each range keeps one scratch (and its chunk cache).
    pool->parallel_for(static_cast<int64_t>(texts.size()), 64, work);
  }
  return out;
}

const std::string& SentencePieceTokenizer::id_to_piece(int32_t id) const {
  if (id < 0 || id >= vocab_->size()) {
    throw Error("sentencepiece: id " + std::to_string(id) + " out of range [0, " +
                std::to_string(vocab_->size()) + ")");
  }
  return vocab_->piece(id);
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids) const {
  const SpNormalizerSpec& ns = proto_->normalizer_spec;
  const bool suffix = proto_->trainer_spec.treat_whitespace_as_suffix;
  std::string text;
  std::string bytes;  // pending byte pieces
  // Until a piece yields text, a leading U+2581 is the dummy prefix (sentencepiece's is_bos_ws).
  bool bos_ws = !suffix;
  for (int32_t id : ids) {
    const std::string& piece = id_to_piece(id);
    const SpPieceType type = vocab_->type(id);
    if (type == SpPieceType::kByte) {
      bytes.push_back(byte_piece_value(piece));
      bos_ws = false;
      continue;
    }
    if (!bytes.empty()) flush_byte_run(bytes, text);
    if (type == SpPieceType::kControl) continue;
    if (type == SpPieceType::kUnknown) {
      text += proto_->trainer_spec.unk_surface;
      bos_ws = false;
      continue;
    }
    append_piece_text(piece, ns, &bos_ws, text);
  }
  flush_byte_run(bytes, text);
  if (suffix && (ns.add_dummy_prefix || ns.remove_extra_whitespaces) && !text.empty() &&
      text.back() == ' ') {
    text.pop_back();
  }
  return text;
}

}  // namespace loom::text
