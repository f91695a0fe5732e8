#include "text/sentencepiece_model.h"

#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::text {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

const char* wire_name(uint32_t w) {
  switch (w) {
    case kVarint:
      return "varint";
    case kFixed64:
      return "fixed64";
    case kLengthDelimited:
      return "length-delimited";
    case 3:
      return "start-group";
    case 4:
      return "end-group";
    case kFixed32:
      return "fixed32";
    default:
      return "invalid";
  }
}

// Cursor over one message's bytes [pos, end) of the whole buffer, so offsets are file offsets.
class WireReader {
 public:
  WireReader(const uint8_t* data, size_t begin, size_t end, const std::string& name,
             std::string message)
      : data_(data), pos_(begin), end_(end), name_(name), message_(std::move(message)) {}

  bool at_end() const { return pos_ >= end_; }
  size_t pos() const { return pos_; }

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error(name_ + ": at byte offset " + std::to_string(at) + ": " + message_ + ": " + what);
  }

  uint64_t varint(const char* field) {
    size_t start = pos_;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= end_) fail(start, std::string("truncated varint in ") + field);
      uint8_t b = data_[pos_++];
      if (shift == 63 && (b & 0x7e) != 0) fail(start, std::string("varint overflow in ") + field);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail(start, std::string("varint longer than 10 bytes in ") + field);
  }

  // Reads a tag; returns false at the end of the message.
  bool tag(uint32_t* field, uint32_t* wire, size_t* at) {
    if (at_end()) return false;
    *at = pos_;
    uint64_t t = varint("field tag");
    *field = static_cast<uint32_t>(t >> 3);
    *wire = static_cast<uint32_t>(t & 7);
    if (*field == 0 || (t >> 3) > 0x1fffffff) fail(*at, "invalid field number 0 in tag");
    return true;
  }

  void expect(uint32_t wire, uint32_t want, size_t at, const char* field) {
    if (wire != want) {
      fail(at, std::string("field ") + field + ": expected wire type " + wire_name(want) +
                   ", got " + wire_name(wire));
    }
  }

  // Returns [begin, end) of a length-delimited payload.
  std::pair<size_t, size_t> bytes(const char* field) {
    size_t start = pos_;
    uint64_t n = varint(field);
    if (n > end_ - pos_) {
      fail(start, std::string("field ") + field + ": length " + std::to_string(n) + " runs past " +
                      "the end of the message (" + std::to_string(end_ - pos_) + " bytes left)");
    }
    size_t b = pos_;
    pos_ += n;
    return {b, pos_};
  }
  std::string string(const char* field) {
    auto [b, e] = bytes(field);
    return std::string(reinterpret_cast<const char*>(data_ + b), e - b);
  }
  float fixed32_float(const char* field) {
    if (end_ - pos_ < 4) fail(pos_, std::string("truncated fixed32 in ") + field);
    float f;
    std::memcpy(&f, data_ + pos_, 4);
    pos_ += 4;
    return f;
  }
  int32_t int32(const char* field) { return static_cast<int32_t>(varint(field)); }
  bool boolean(const char* field) { return varint(field) != 0; }

  void skip(uint32_t wire, size_t at) {
    switch (wire) {
      case kVarint:
        varint("unknown field");
        return;
      case kFixed64:
        if (end_ - pos_ < 8) fail(pos_, "truncated fixed64 unknown field");
        pos_ += 8;
        return;
      case kLengthDelimited:
        bytes("unknown field");
        return;
      case kFixed32:
        if (end_ - pos_ < 4) fail(pos_, "truncated fixed32 unknown field");
        pos_ += 4;
        return;
      default:
        fail(at, std::string("unsupported wire type ") + wire_name(wire));
    }
  }

  const uint8_t* data() const { return data_; }

 private:
  const uint8_t* data_;
  size_t pos_, end_;
  const std::string& name_;
  std::string message_;
};

SpPiece parse_piece(const uint8_t* data, size_t b, size_t e, const std::string& name, size_t id) {
  WireReader r(data, b, e, name, "ModelProto.pieces[" + std::to_string(id) + "]");
  SpPiece p;
  bool has_piece = false;
  uint32_t field, wire;
  size_t at;
  while (r.tag(&field, &wire, &at)) {
    switch (field) {
      case 1:
        r.expect(wire, kLengthDelimited, at, "piece (1)");
        p.piece = r.string("piece (1)");
        has_piece = true;
        break;
      case 2:
        r.expect(wire, kFixed32, at, "score (2)");
        p.score = r.fixed32_float("score (2)");
        break;
      case 3: {
        r.expect(wire, kVarint, at, "type (3)");
        uint64_t t = r.varint("type (3)");
        if (t < 1 || t > 6) r.fail(at, "field type (3): expected 1..6, got " + std::to_string(t));
        p.type = static_cast<SpPieceType>(t);
        break;
      }
      default:
        r.skip(wire, at);
    }
  }
  if (!has_piece) r.fail(b, "missing required field piece (1)");
  return p;
}

// A plain TrainerSpec field: its number, the name errors give it, and its member. A value is read
// under `label`, a boolean under its bare name (`value`), as the messages have always said.
template <typename T>
struct TrainerField {
  uint32_t number;
  const char* label;
  T SpTrainerSpec::*member;
  const char* value = nullptr;
};

constexpr TrainerField<int32_t> kTrainerInts[] = {
    {4, "vocab_size (4)", &SpTrainerSpec::vocab_size},
    {20, "max_sentencepiece_length (20)", &SpTrainerSpec::max_sentencepiece_length},
    {40, "unk_id (40)", &SpTrainerSpec::unk_id},
    {41, "bos_id (41)", &SpTrainerSpec::bos_id},
    {42, "eos_id (42)", &SpTrainerSpec::eos_id},
    {43, "pad_id (43)", &SpTrainerSpec::pad_id},
};

constexpr TrainerField<bool> kTrainerBools[] = {
    {21, "split_by_unicode_script (21)", &SpTrainerSpec::split_by_unicode_script,
     "split_by_unicode_script"},
    {22, "split_by_whitespace (22)", &SpTrainerSpec::split_by_whitespace, "split_by_whitespace"},
    {23, "split_by_number (23)", &SpTrainerSpec::split_by_number, "split_by_number"},
    {24, "treat_whitespace_as_suffix (24)", &SpTrainerSpec::treat_whitespace_as_suffix,
     "treat_whitespace_as_suffix"},
    {25, "split_digits (25)", &SpTrainerSpec::split_digits, "split_digits"},
    {26, "allow_whitespace_only_pieces (26)", &SpTrainerSpec::allow_whitespace_only_pieces,
     "allow_whitespace_only_pieces"},
    {35, "byte_fallback (35)", &SpTrainerSpec::byte_fallback, "byte_fallback"},
};

constexpr TrainerField<std::string> kTrainerStrings[] = {
    {44, "unk_surface (44)", &SpTrainerSpec::unk_surface},
    {45, "unk_piece (45)", &SpTrainerSpec::unk_piece},
    {46, "bos_piece (46)", &SpTrainerSpec::bos_piece},
    {47, "eos_piece (47)", &SpTrainerSpec::eos_piece},
    {48, "pad_piece (48)", &SpTrainerSpec::pad_piece},
};

// The entry for field `number`, or nullptr.
template <typename T, size_t N>
const TrainerField<T>* find_field(const TrainerField<T> (&table)[N], uint32_t number) {
  for (const TrainerField<T>& f : table) {
    if (f.number == number) return &f;
  }
  return nullptr;
}

void parse_trainer_spec(const uint8_t* data, size_t b, size_t e, const std::string& name,
                        SpTrainerSpec* s) {
  WireReader r(data, b, e, name, "TrainerSpec");
  uint32_t field, wire;
  size_t at;
  while (r.tag(&field, &wire, &at)) {
    if (field == 3) {
      r.expect(wire, kVarint, at, "model_type (3)");
      uint64_t t = r.varint("model_type (3)");
      if (t < 1 || t > 4)
        r.fail(at, "field model_type (3): expected 1..4, got " + std::to_string(t));
      s->model_type = static_cast<SpModelType>(t);
    } else if (field == 10) {
      r.expect(wire, kFixed32, at, "character_coverage (10)");
      s->character_coverage = r.fixed32_float("character_coverage (10)");
    } else if (const auto* f = find_field(kTrainerInts, field)) {
      r.expect(wire, kVarint, at, f->label);
      s->*f->member = r.int32(f->label);
    } else if (const auto* f = find_field(kTrainerBools, field)) {
      r.expect(wire, kVarint, at, f->label);
      s->*f->member = r.boolean(f->value);
    } else if (const auto* f = find_field(kTrainerStrings, field)) {
      r.expect(wire, kLengthDelimited, at, f->label);
      s->*f->member = r.string(f->label);
    } else {
      r.skip(wire, at);
    }
  }
}

void parse_normalizer_spec(const uint8_t* data, size_t b, size_t e, const std::string& name,
                           const char* message, SpNormalizerSpec* s) {
  WireReader r(data, b, e, name, message);
  uint32_t field, wire;
  size_t at;
  while (r.tag(&field, &wire, &at)) {
    switch (field) {
      case 1:
        r.expect(wire, kLengthDelimited, at, "name (1)");
        s->name = r.string("name (1)");
        break;
      case 2:
        r.expect(wire, kLengthDelimited, at, "precompiled_charsmap (2)");
        s->precompiled_charsmap = r.string("precompiled_charsmap (2)");
        break;
      case 3:
        r.expect(wire, kVarint, at, "add_dummy_prefix (3)");
        s->add_dummy_prefix = r.boolean("add_dummy_prefix");
        break;
      case 4:
        r.expect(wire, kVarint, at, "remove_extra_whitespaces (4)");
        s->remove_extra_whitespaces = r.boolean("remove_extra_whitespaces");
        break;
      case 5:
        r.expect(wire, kVarint, at, "escape_whitespaces (5)");
        s->escape_whitespaces = r.boolean("escape_whitespaces");
        break;
      default:
        r.skip(wire, at);
    }
  }
}

// --- writer -----------------------------------------------------------------------------------

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void put_tag(std::string* out, uint32_t field, uint32_t wire) {
  put_varint(out, (field << 3) | wire);
}
void put_bytes(std::string* out, uint32_t field, std::string_view s) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, s.size());
  out->append(s);
}
void put_int(std::string* out, uint32_t field, int64_t v) {
  put_tag(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}
void put_float(std::string* out, uint32_t field, float f) {
  put_tag(out, field, kFixed32);
  char b[4];
  std::memcpy(b, &f, 4);
  out->append(b, 4);
}

std::string serialize_normalizer(const SpNormalizerSpec& n) {
  std::string s;
  put_bytes(&s, 1, n.name);
  if (!n.precompiled_charsmap.empty()) put_bytes(&s, 2, n.precompiled_charsmap);
  put_int(&s, 3, n.add_dummy_prefix);
  put_int(&s, 4, n.remove_extra_whitespaces);
  put_int(&s, 5, n.escape_whitespaces);
  return s;
}

}  // namespace

SentencePieceModelProto parse_sentencepiece_model(const uint8_t* data, size_t size,
                                                  const std::string& name) {
  SentencePieceModelProto m;
  WireReader r(data, 0, size, name, "ModelProto");
  uint32_t field, wire;
  size_t at;
  while (r.tag(&field, &wire, &at)) {
    switch (field) {
      case 1: {
        r.expect(wire, kLengthDelimited, at, "pieces (1)");
        auto [b, e] = r.bytes("pieces (1)");
        m.pieces.push_back(parse_piece(data, b, e, name, m.pieces.size()));
        break;
      }
      case 2: {
        r.expect(wire, kLengthDelimited, at, "trainer_spec (2)");
        auto [b, e] = r.bytes("trainer_spec (2)");
        parse_trainer_spec(data, b, e, name, &m.trainer_spec);
        break;
      }
      case 3: {
        r.expect(wire, kLengthDelimited, at, "normalizer_spec (3)");
        auto [b, e] = r.bytes("normalizer_spec (3)");
        parse_normalizer_spec(data, b, e, name, "NormalizerSpec", &m.normalizer_spec);
        break;
      }
      case 5: {
        r.expect(wire, kLengthDelimited, at, "denormalizer_spec (5)");
        auto [b, e] = r.bytes("denormalizer_spec (5)");
        parse_normalizer_spec(data, b, e, name, "denormalizer NormalizerSpec",
                              &m.denormalizer_spec);
        m.has_denormalizer_spec = true;
        break;
      }
      default:
        r.skip(wire, at);
    }
  }
  if (m.pieces.empty()) {
    throw Error(name + ": at byte offset " + std::to_string(size) +
                ": ModelProto: expected at least one piece (field 1), found none");
  }
  return m;
}

SentencePieceModelProto load_sentencepiece_model(const std::string& path) {
  auto f = MappedFile::open(path);
  return parse_sentencepiece_model(f->data(), f->size(), path);
}

std::string serialize_sentencepiece_model(const SentencePieceModelProto& m) {
  std::string out;
  for (const SpPiece& p : m.pieces) {
    std::string s;
    put_bytes(&s, 1, p.piece);
    put_float(&s, 2, p.score);
    if (p.type != SpPieceType::kNormal) put_int(&s, 3, static_cast<int>(p.type));
    put_bytes(&out, 1, s);
  }
  const SpTrainerSpec& t = m.trainer_spec;
  std::string s;
  put_int(&s, 3, static_cast<int>(t.model_type));
  put_int(&s, 4, t.vocab_size);
  put_float(&s, 10, t.character_coverage);
  put_int(&s, 20, t.max_sentencepiece_length);
  put_int(&s, 21, t.split_by_unicode_script);
  put_int(&s, 22, t.split_by_whitespace);
  put_int(&s, 23, t.split_by_number);
  put_int(&s, 24, t.treat_whitespace_as_suffix);
  put_int(&s, 25, t.split_digits);
  put_int(&s, 26, t.allow_whitespace_only_pieces);
  put_int(&s, 35, t.byte_fallback);
  put_int(&s, 40, t.unk_id);
  put_int(&s, 41, t.bos_id);
  put_int(&s, 42, t.eos_id);
  put_int(&s, 43, t.pad_id);
  put_bytes(&s, 44, t.unk_surface);
  put_bytes(&s, 45, t.unk_piece);
  put_bytes(&s, 46, t.bos_piece);
  put_bytes(&s, 47, t.eos_piece);
  put_bytes(&s, 48, t.pad_piece);
  put_bytes(&out, 2, s);
  put_bytes(&out, 3, serialize_normalizer(m.normalizer_spec));
  if (m.has_denormalizer_spec) put_bytes(&out, 5, serialize_normalizer(m.denormalizer_spec));
  return out;
}

namespace {

bool parse_byte_piece(std::string_view s, uint8_t* byte) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return false;
  int hi = hex(s[3]), lo = hex(s[4]);
  if (hi < 0 || lo < 0) return false;
  *byte = static_cast<uint8_t>(hi * 16 + lo);
  return true;
}

// Token `id` of a llama2.c tokenizer.bin: float32 score, int32 length (0..max_len), the bytes.
// Ids 0..2 are <unk>, <s>, </s>; a <0xXX> token is a byte piece; elsewhere a space is U+2581.
SpPiece read_llama2c_token(ByteReader& r, size_t id, int32_t max_len) {
  constexpr std::string_view kSpace = "\xE2\x96\x81";
  std::string field = "token " + std::to_string(id);
  float score = r.read<float>((field + " score (float32)").c_str());
  size_t len_at = r.offset();
  int32_t len = r.read<int32_t>((field + " length (int32)").c_str());
  if (len < 0 || len > max_len) {
    r.seek(len_at, "length");
    r.fail(field + " length: expected 0.." + std::to_string(max_len) + " (max_token_length), got " +
           std::to_string(len));
  }
  std::string bytes = r.read_string(static_cast<size_t>(len), (field + " bytes").c_str());
  SpPiece p;
  p.score = score;
  uint8_t b;
  if (id == 0) {
    p.type = SpPieceType::kUnknown;
    p.piece = "<unk>";
  } else if (id == 1 || id == 2) {
    p.type = SpPieceType::kControl;
    p.piece = id == 1 ? "<s>" : "</s>";
  } else if (parse_byte_piece(bytes, &b)) {
    p.type = SpPieceType::kByte;
    p.piece = bytes;
  } else {
    for (char c : bytes) {
      if (c == ' ')
        p.piece += kSpace;
      else
        p.piece.push_back(c);
    }
  }
  return p;
}

}  // namespace

SentencePieceModelProto parse_llama2c_tokenizer(const uint8_t* data, size_t size,
                                                const std::string& name,
                                                const Llama2cOptions& options) {
  ByteReader r(data, size, name);
  int32_t max_len = r.read<int32_t>("max_token_length (int32)");
  if (max_len <= 0 || max_len > (1 << 20)) {
    r.seek(0, "max_token_length");
    r.fail("max_token_length: expected 1..1048576, got " + std::to_string(max_len));
  }
  SentencePieceModelProto m;
  while (!r.at_end()) m.pieces.push_back(read_llama2c_token(r, m.pieces.size(), max_len));
  if (m.pieces.size() < 3) {
    r.fail("expected at least 3 tokens (unk, bos, eos), found " + std::to_string(m.pieces.size()));
  }
  SpTrainerSpec& t = m.trainer_spec;
  t.model_type = SpModelType::kBpe;
  t.vocab_size = static_cast<int32_t>(m.pieces.size());
  t.byte_fallback = true;
  t.unk_id = 0;
  t.bos_id = 1;
  t.eos_id = 2;
  t.pad_id = -1;
  SpNormalizerSpec& n = m.normalizer_spec;
  n.name = "identity";
  n.add_dummy_prefix = true;
  n.remove_extra_whitespaces = options.remove_extra_whitespaces;
  n.escape_whitespaces = true;
  return m;
}

SentencePieceModelProto load_llama2c_tokenizer(const std::string& path,
                                               const Llama2cOptions& options) {
  auto f = MappedFile::open(path);
  return parse_llama2c_tokenizer(f->data(), f->size(), path, options);
}

SentencePieceModelProto load_sentencepiece_any(const std::string& path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".bin") == 0) {
    return load_llama2c_tokenizer(path);
  }
  return load_sentencepiece_model(path);
}

}  // namespace loom::text
