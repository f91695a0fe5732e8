// Trains a Hugging Face style tokenizer.json from text: byte-level BPE (GPT-2 / RoBERTa layout) or
// WordPiece (BERT layout). The text goes through the same normalizer and pre-tokenizer the saved
// tokenizer uses, the pre-tokens are counted on the pool, and the trainers of bpe_trainer.h build
// the vocabulary. The result is a PipelineTokenizer, so it encodes and saves like a loaded one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/pipeline.h"

namespace loom {
class ThreadPool;
}

namespace loom::text {

enum class TrainedTokenizerType { kByteLevelBpe, kWordPiece };

struct TokenizerTrainOptions {
  TrainedTokenizerType type = TrainedTokenizerType::kByteLevelBpe;
  int32_t vocab_size = 30000;  // special tokens and the alphabet included
  int64_t min_frequency = 0;   // a pair seen fewer times is never merged
  // Ids 0..n-1, added as special tokens. WordPiece needs unk_token among them; a post-processor
  // "[CLS] $A [SEP]" is written when cls/sep tokens are present.
  std::vector<std::string> special_tokens;
  std::string unk_token = "[UNK]";  // WordPiece
  bool lowercase = true;            // WordPiece: BertNormalizer's lowercase (and accent strip)
  int32_t limit_alphabet = -1;      // WordPiece: keep the most frequent characters only
};

struct TokenizerTrainStats {
  int64_t documents = 0;
  int64_t words = 0;         // pre-tokens counted
  int64_t unique_words = 0;  // distinct pre-tokens
  double count_seconds = 0, merge_seconds = 0;
};

// The normalizer, pre-tokenizer, post-processor and decoder objects of the trained tokenizer's
// tokenizer.json (everything but "model" and "added_tokens").
nlohmann::ordered_json trained_tokenizer_skeleton(const TokenizerTrainOptions& options);

// Counts the pre-tokens of docs as the skeleton's normalizer and pre-tokenizer produce them
// (byte-level: raw bytes of each piece). Sorted by bytes, so the result does not depend on the
// pool's size.
std::vector<std::pair<std::string, int64_t>> count_pre_tokens(
    std::span<const std::string_view> docs, const nlohmann::ordered_json& skeleton,
    ThreadPool& pool);

// docs: training documents (Hugging Face's train_from_files passes each line with its line end).
std::unique_ptr<PipelineTokenizer> train_tokenizer(std::span<const std::string_view> docs,
                                                   const TokenizerTrainOptions& options,
                                                   ThreadPool& pool,
                                                   TokenizerTrainStats* stats = nullptr);

// Splits text into lines the way Hugging Face's train_from_files reads files: each line keeps its
// "\n" (and "\r"); a last line without one is kept as it is.
std::vector<std::string_view> split_lines_with_endings(std::string_view text);

}  // namespace loom::text
