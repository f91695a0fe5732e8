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

// Deterministic training batches over a token array (a shard read into memory, or any ids).
// The windows of (step, micro-batch) come from an Rng seeded by (seed, step, micro), not from a
// running stream: the same seed gives the same batches, and resuming at step s needs no state.
class BatchSampler {
 public:
  // tokens (n_tokens ids) stay owned by the caller; n_tokens must exceed seq. `what` names the
  // data in errors.
  BatchSampler(const int32_t* tokens, int64_t n_tokens, int64_t batch, int64_t seq, uint64_t seed,
               const std::string& what = "training data");
  // ids, targets (batch*seq each): every row is a random window tokens[s .. s+seq) and its
  // targets tokens[s+1 .. s+seq] (shifted by one).
  void sample(int64_t step, int64_t micro, int32_t* ids, int32_t* targets) const;
  int64_t batch() const { return batch_; }
  int64_t seq() const { return seq_; }

 private:
  const int32_t* tokens_;
  int64_t n_tokens_, batch_, seq_;
  uint64_t seed_;
};

// Whether document `index` goes to the validation split: a seeded hash, so the split does not
// depend on the order documents are processed in.
bool is_validation_doc(uint64_t index, double fraction, uint64_t seed);

}  // namespace loom::train
