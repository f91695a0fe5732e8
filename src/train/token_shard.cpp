#include "train/token_shard.h"

#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"

namespace loom::train {

namespace {
constexpr char kMagic[8] = {'L', 'O', 'O', 'M', 'T', 'O', 'K', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 64;

uint64_t fnv1a(const void* data, size_t n) {
  auto p = static_cast<const uint8_t*>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

template <typename T>
void put(std::string& s, size_t off, T v) {
  std::memcpy(&s[off], &v, sizeof(T));
}
}  // namespace

TokenShardWriter::TokenShardWriter(uint32_t vocab_size, int32_t separator)
    : vocab_size_(vocab_size), separator_(separator) {
  if (separator >= 0 && static_cast<uint32_t>(separator) >= vocab_size) {
    throw Error("token shard: separator id " + std::to_string(separator) +
                " is outside the vocabulary of " + std::to_string(vocab_size));
  }
}

void TokenShardWriter::add_document(const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    if (id < 0 || static_cast<uint32_t>(id) >= vocab_size_) {
      throw Error("token shard: id " + std::to_string(id) + " in document " +
                  std::to_string(docs_) + " is outside the vocabulary of " +
                  std::to_string(vocab_size_));
    }
    tokens_.push_back(static_cast<uint32_t>(id));
  }
  if (separator_ >= 0) tokens_.push_back(static_cast<uint32_t>(separator_));
  ++docs_;
}

void TokenShardWriter::write(const std::string& path) const {
  const uint32_t tb = vocab_size_ <= 65536 ? 2 : 4;
  std::string out(kHeader + tokens_.size() * tb, '\0');
  std::memcpy(&out[0], kMagic, 8);
  put<uint32_t>(out, 8, kVersion);
  put<uint32_t>(out, 12, tb);
  put<uint64_t>(out, 16, tokens_.size());
  put<uint64_t>(out, 24, static_cast<uint64_t>(docs_));
  put<uint32_t>(out, 32, vocab_size_);
  put<int32_t>(out, 36, separator_);
  char* body = &out[kHeader];
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tb == 2) {
      uint16_t v = static_cast<uint16_t>(tokens_[i]);
      std::memcpy(body + 2 * i, &v, 2);
    } else {
      std::memcpy(body + 4 * i, &tokens_[i], 4);
    }
  }
  put<uint64_t>(out, 40, fnv1a(body, tokens_.size() * tb));
  write_file_atomic(path, out);
}

TokenShard TokenShard::open(const std::string& path) {
  TokenShard s;
  s.file_ = MappedFile::open(path);
  s.path_ = path;
  ByteReader r(s.file_->data(), s.file_->size(), path);
  const uint8_t* magic = r.take(8, "magic");
  if (std::memcmp(magic, kMagic, 8) != 0) {
    r.seek(0, "magic");
    r.fail("expected the token-shard magic \"LOOMTOK\" (not a Loom token shard)");
  }
  uint32_t version = r.read<uint32_t>("version");
  if (version != kVersion)
    r.fail("unsupported token-shard version " + std::to_string(version) + ", expected 1");
  s.token_bytes_ = r.read<uint32_t>("bytes per token");
  if (s.token_bytes_ != 2 && s.token_bytes_ != 4) r.fail("bytes per token must be 2 or 4");
  uint64_t n = r.read<uint64_t>("token count");
  s.n_docs_ = static_cast<int64_t>(r.read<uint64_t>("document count"));
  s.vocab_size_ = r.read<uint32_t>("vocabulary size");
  s.separator_ = r.read<int32_t>("separator id");
  uint64_t checksum = r.read<uint64_t>("checksum");
  r.seek(kHeader, "token data");
  if (n > r.remaining() / s.token_bytes_ || n * s.token_bytes_ != r.remaining()) {
    r.fail("header says " + std::to_string(n) + " tokens of " + std::to_string(s.token_bytes_) +
           " bytes but " + std::to_string(r.remaining()) + " bytes follow (truncated?)");
  }
  s.n_tokens_ = static_cast<int64_t>(n);
  s.data_ = s.file_->data() + kHeader;
  if (fnv1a(s.data_, n * s.token_bytes_) != checksum) {
    throw Error(path + ": checksum mismatch in the token data (corrupted file)");
  }
  for (int64_t i = 0; i < s.n_tokens_; ++i) {
    if (static_cast<uint32_t>(s[i]) >= s.vocab_size_) {
      throw Error(path + ": token " + std::to_string(i) + " has id " + std::to_string(s[i]) +
                  " outside the vocabulary of " + std::to_string(s.vocab_size_));
    }
  }
  return s;
}

void TokenShard::read(int64_t begin, int64_t n, int32_t* out) const {
  LOOM_ASSERT(begin >= 0 && n >= 0 && begin + n <= n_tokens_, "read outside the shard");
  for (int64_t i = 0; i < n; ++i) out[i] = (*this)[begin + i];
}

BatchSampler::BatchSampler(const int32_t* tokens, int64_t n_tokens, int64_t batch, int64_t seq,
                           uint64_t seed, const std::string& what)
    : tokens_(tokens), n_tokens_(n_tokens), batch_(batch), seq_(seq), seed_(seed) {
  if (batch <= 0 || seq <= 0) throw Error(what + ": batch and seq must be > 0");
  if (n_tokens <= seq)
    throw Error(what + ": " + std::to_string(n_tokens) + " tokens, need more than seq " +
                std::to_string(seq) + " (one window of seq + 1)");
}

void BatchSampler::sample(int64_t step, int64_t micro, int32_t* ids, int32_t* targets) const {
  Rng rng(seed_ ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(step + 1)) ^
          (0xc2b2ae3d27d4eb4full * static_cast<uint64_t>(micro + 1)));
  const uint64_t windows = static_cast<uint64_t>(n_tokens_ - seq_);  // start in [0, n - seq)
  for (int64_t b = 0; b < batch_; ++b) {
    const int64_t s = static_cast<int64_t>(rng.below(windows));
    std::memcpy(ids + b * seq_, tokens_ + s, static_cast<size_t>(seq_) * sizeof(int32_t));
    std::memcpy(targets + b * seq_, tokens_ + s + 1, static_cast<size_t>(seq_) * sizeof(int32_t));
  }
}

bool is_validation_doc(uint64_t index, double fraction, uint64_t seed) {
  uint64_t z = index * 0x9e3779b97f4a7c15ull + seed;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0) < fraction;
}

}  // namespace loom::train
