// Byte-level BPE trainer (GPT-2 / Hugging Face style). Input: pre-tokens (byte strings) with
// counts, so any pre-tokenizer can feed it; output: vocabulary and merges in merge order.
//
// Each step merges the most frequent adjacent pair of symbols, counted inside pre-tokens only;
// ties go to the lexicographically greatest pair of byte strings (compare the left strings, then
// the right ones). Pair counts are kept incrementally with an index from each pair to the words
// that contain it, so a merge touches only the words it changes.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loom {
class ThreadPool;
}

namespace loom::text {

// How equally frequent pairs are ordered.
enum class BpeTieBreak {
  // The lexicographically greatest (left bytes, right bytes) first (the bpe-train-reference rule).
  kGreatestBytes,
  // Hugging Face's BpeTrainer: the pair of smallest ids first, ids as HF assigns them (special
  // tokens, the alphabet in code point order of its GPT-2 characters, then merged tokens in order).
  // A merge whose string is already a token reuses it (the merge is kept, the vocabulary does not
  // grow), and vocab_size counts tokens, not merges.
  kHuggingFace,
};

struct BpeTrainerOptions {
  // Final vocabulary size: special tokens + 256 bytes + merges.
  int32_t vocab_size = 30000;
  // Stop once the best pair occurs fewer than this many times (Hugging Face's min_frequency).
  int64_t min_frequency = 0;
  // Ids 0..n-1, in this order; never split or merged.
  std::vector<std::string> special_tokens;
  BpeTieBreak tie_break = BpeTieBreak::kGreatestBytes;
};

struct BpeTrainerResult {
  // id -> token bytes: special tokens, then the 256 single bytes in the order of their GPT-2
  // bytes-to-unicode characters (as Hugging Face's byte-level trainer), then one per merge.
  std::vector<std::string> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
};

// word_counts: pre-token bytes -> occurrences. Deterministic for a given input.
BpeTrainerResult train_byte_bpe(const std::vector<std::pair<std::string, int64_t>>& word_counts,
                                const BpeTrainerOptions& options);

// Counts pre-tokens: convenience for callers that have a list of pre-tokens.
std::vector<std::pair<std::string, int64_t>> count_words(const std::vector<std::string>& tokens);

// GPT-2's printable alphabet for bytes (byte b -> one Unicode character, UTF-8 encoded), used by
// vocab.json / merges.txt files.
std::string gpt2_bytes_to_unicode(std::string_view bytes);
// The 256 bytes in the order of their GPT-2 characters' code points.
std::vector<uint8_t> gpt2_byte_order();

}  // namespace loom::text

namespace loom::text {

// WordPiece trainer as Hugging Face's WordPieceTrainer: BPE training on Unicode characters where
// every non-initial character carries the continuation prefix ("##"); merging (a, b) yields
// a + b-without-prefix (an existing token's id is reused). Ties between equally frequent pairs go
// to the pair of smaller ids. Stops at vocab_size tokens (special tokens and alphabet included).
struct WordPieceTrainerOptions {
  int32_t vocab_size = 30000;
  int64_t min_frequency = 0;
  std::vector<std::string> special_tokens;  // ids 0..n-1, e.g. [PAD] [UNK] [CLS] [SEP] [MASK]
  int32_t limit_alphabet = -1;              // keep only the most frequent characters (-1: all)
  std::string continuing_subword_prefix = "##";
};

struct WordPieceTrainerResult {
  std::vector<std::string> vocab;  // id -> token, the lines of vocab.txt
  std::string to_vocab_txt() const;
};

// word_counts: pre-tokenized words (UTF-8; invalid bytes count as one character) -> counts.
// Words are visited in the given order, which fixes the ids of the "##c" tokens.
WordPieceTrainerResult train_wordpiece(
    const std::vector<std::pair<std::string, int64_t>>& word_counts,
    const WordPieceTrainerOptions& options);

}  // namespace loom::text
