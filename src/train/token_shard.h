// Token shards: a tokenised corpus as one memory-mapped file, and deterministic batch sampling.
//
// File layout (little-endian), 64-byte header then the tokens:
//   0  magic "LOOMTOK\0"        8  u32 version (1)      12 u32 bytes per token (2 or 4)
//   16 u64 number of tokens     24 u64 number of documents
//   32 u32 vocabulary size      36 i32 separator id (-1: none)
//   40 u64 FNV-1a-64 of the token bytes                48..63 zero
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"

namespace loom {
class MappedFile;
}

namespace loom::train {

// Collects documents and writes a shard atomically (temporary name, fsync, rename).
class TokenShardWriter {
 public:
  // separator: appended after every document (e.g. EOS), or -1 for none.
  TokenShardWriter(uint32_t vocab_size, int32_t separator);
  // Throws loom::Error if an id is outside [0, vocab_size).
  void add_document(const std::vector<int32_t>& ids);
  int64_t tokens() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t documents() const { return docs_; }
  void write(const std::string& path) const;

 private:
  uint32_t vocab_size_;
  int32_t separator_;
  std::vector<uint32_t> tokens_;
  int64_t docs_ = 0;
};

class TokenShard {
 public:
  // Validates magic, version, sizes and the checksum; errors name the file and field.
  static TokenShard open(const std::string& path);
  int64_t size() const { return n_tokens_; }
  int64_t documents() const { return n_docs_; }
  uint32_t vocab_size() const { return vocab_size_; }
  int32_t separator() const { return separator_; }
  int32_t operator[](int64_t i) const {
    return token_bytes_ == 2 ? static_cast<const uint16_t*>(data_)[i]
                             : static_cast<int32_t>(static_cast<const uint32_t*>(data_)[i]);
  }
  // Copies tokens [begin, begin + n) into out.
  void read(int64_t begin, int64_t n, int32_t* out) const;
  const std::string& path() const { return path_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::string path_;
  const void* data_ = nullptr;
  int64_t n_tokens_ = 0, n_docs_ = 0;
  uint32_t vocab_size_ = 0, token_bytes_ = 4;
  int32_t separator_ = -1;
};

// Random windows of seq_len + 1 tokens (inputs and shifted targets), the same sequence for the
// same seed; state() / restore() make resumption exact.
class BatchSampler {
 public:
  BatchSampler(const TokenShard& shard, int64_t seq_len, int64_t batch, uint64_t seed);
  // out: batch x (seq_len + 1) token ids.
  void next(std::vector<int32_t>& out);
  uint64_t state() const { return draws_; }
  void restore(uint64_t draws);

 private:
  const TokenShard& shard_;
  int64_t seq_len_, batch_;
  uint64_t seed_, draws_ = 0;
  Rng rng_;
};

// Whether document `index` goes to the validation split: a seeded hash, so the split does not
// depend on the order documents are processed in.
bool is_validation_doc(uint64_t index, double fraction, uint64_t seed);

}  // namespace loom::train
