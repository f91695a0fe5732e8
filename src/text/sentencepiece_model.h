// SentencePiece ModelProto read (and written) from the protobuf wire format without a protobuf
// library, plus the llama2.c tokenizer .bin, which loads into the same in-memory model.
//
// Field numbers follow sentencepiece_model.proto (ModelProto: 1 pieces, 2 trainer_spec,
// 3 normalizer_spec, 5 denormalizer_spec). Unknown fields are skipped by wire type, as protobuf
// readers do; every read is bounds-checked and bad input throws loom::Error naming the file, the
// byte offset and the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::text {

enum class SpPieceType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class SpModelType : uint8_t { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

struct SpPiece {
  std::string piece;
  float score = 0.0f;
  SpPieceType type = SpPieceType::kNormal;
};

// The TrainerSpec fields that matter to encoding, decoding and training; defaults as in the proto.
struct SpTrainerSpec {
  SpModelType model_type = SpModelType::kUnigram;
  int32_t vocab_size = 8000;
  float character_coverage = 0.9995f;
  int32_t max_sentencepiece_length = 16;
  bool split_by_unicode_script = true;
  bool split_by_number = true;
  bool split_by_whitespace = true;
  bool treat_whitespace_as_suffix = false;
  bool allow_whitespace_only_pieces = false;
  bool split_digits = false;
  bool byte_fallback = false;
  int32_t unk_id = 0;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t pad_id = -1;
  std::string unk_piece = "<unk>";
  std::string bos_piece = "<s>";
  std::string eos_piece = "</s>";
  std::string pad_piece = "<pad>";
  std::string unk_surface = " \xE2\x81\x87 ";
};

struct SpNormalizerSpec {
  std::string name;
  std::string precompiled_charsmap;  // raw bytes: u32 trie size, Darts trie, normalized strings
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

struct SentencePieceModelProto {
  std::vector<SpPiece> pieces;  // id = index
  SpTrainerSpec trainer_spec;
  SpNormalizerSpec normalizer_spec;
  bool has_denormalizer_spec = false;
  SpNormalizerSpec denormalizer_spec;
};

// Parses a serialized ModelProto; `name` (usually the path) prefixes every error message.
SentencePieceModelProto parse_sentencepiece_model(const uint8_t* data, size_t size,
                                                  const std::string& name);
SentencePieceModelProto load_sentencepiece_model(const std::string& path);

// Serializes the fields above back to the wire format (libsentencepiece loads the result).
std::string serialize_sentencepiece_model(const SentencePieceModelProto& model);

// The .bin format cannot say whether runs of spaces are collapsed. llama2.c's run.c never does,
// as Llama 2's tokenizer.model (remove_extra_whitespaces = false); the re-trained tok512.model
// keeps the protobuf default (true), so to reproduce it exactly set this to true.
struct Llama2cOptions {
  bool remove_extra_whitespaces = false;
};

// llama2.c tokenizer .bin: i32 max_token_length, then per token f32 score, i32 length, bytes.
// Ids 0/1/2 are unk/bos/eos, pieces spelled "<0xXX>" are byte pieces, spaces become U+2581. The
// result is a BPE model with byte fallback, identity normaliser and dummy prefix, as tok512.model.
SentencePieceModelProto parse_llama2c_tokenizer(const uint8_t* data, size_t size,
                                                const std::string& name,
                                                const Llama2cOptions& options = {});
SentencePieceModelProto load_llama2c_tokenizer(const std::string& path,
                                               const Llama2cOptions& options = {});

// Loads either format: a path ending in ".bin" is a llama2.c tokenizer, anything else a ModelProto.
SentencePieceModelProto load_sentencepiece_any(const std::string& path);

}  // namespace loom::text
