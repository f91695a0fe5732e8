// Reference log-probabilities for DPO and their cache file (format in ref_logprobs.h).
#include "train/ref_logprobs.h"

#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/sha256.h"
#include "nn/preference.h"
#include "train/sft_trainer.h"

namespace loom::train {
namespace {

constexpr char kMagic[8] = {'L', 'O', 'O', 'M', 'R', 'E', 'F', 'L'};
constexpr uint32_t kVersion = 1;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const std::string& in, size_t& at, const std::string& path, const char* what) {
  if (at + sizeof(T) > in.size())
    throw Error(path + ": offset " + std::to_string(at) + ": truncated (expected " + what + ")");
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

void append_ints(std::string& out, const std::vector<int32_t>& v) {
  put<uint64_t>(out, v.size());
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t));
}

}  // namespace

std::string preference_data_sha256(const std::vector<PreferenceExample>& pairs) {
  std::string bytes;
  for (const auto& p : pairs)
    for (const SftExample* e : {&p.chosen, &p.rejected}) {
      append_ints(bytes, e->ids);
      append_ints(bytes, e->labels);
    }
  return sha256_hex(bytes);
}

RefLogprobs compute_ref_logprobs(models::CausalLm& model,
                                 const std::vector<PreferenceExample>& pairs, int64_t batch,
                                 int64_t seq, ThreadPool& pool) {
  std::vector<SftExample> seqs;  // chosen, rejected, chosen, ...
  for (const auto& p : pairs) {
    seqs.push_back(p.chosen);
    seqs.push_back(p.rejected);
  }
  std::vector<float> lp(seqs.size());
  std::vector<int32_t> ids(static_cast<size_t>(batch * seq)), targets(ids.size());
  for (size_t begin = 0; begin < seqs.size(); begin += static_cast<size_t>(batch)) {
    std::vector<int64_t> pick;
    for (size_t k = begin; k < std::min(seqs.size(), begin + batch); ++k) pick.push_back(k);
    const int64_t b = static_cast<int64_t>(pick.size());
    sft_batch(seqs, pick, seq, 0, ids.data(), targets.data());
    nn::Tape t(pool);
    nn::Var out =
        nn::sequence_logprobs(t, model.logits(t, ids.data(), b, seq), targets.data(), b, seq);
    for (int64_t k = 0; k < b; ++k) lp[begin + k] = t.data(out)[k];
  }
  RefLogprobs r;
  for (size_t i = 0; i < pairs.size(); ++i) {
    r.chosen.push_back(lp[2 * i]);
    r.rejected.push_back(lp[2 * i + 1]);
  }
  r.data_sha256 = preference_data_sha256(pairs);
  return r;
}

void save_ref_logprobs(const RefLogprobs& r, const std::string& path) {
  LOOM_ASSERT(r.chosen.size() == r.rejected.size() && r.data_sha256.size() == 64);
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kVersion);
  put<uint64_t>(out, r.chosen.size());
  out += r.data_sha256;
  for (size_t i = 0; i < r.chosen.size(); ++i) {
    put<float>(out, r.chosen[i]);
    put<float>(out, r.rejected[i]);
  }
  put<uint64_t>(out, fnv1a(out));
  write_file_atomic(path, out);
}

RefLogprobs load_ref_logprobs(const std::string& path, const std::string& expected_sha256) {
  const std::string in = read_file(path);
  if (in.size() < sizeof kMagic || std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    throw Error(path + ": offset 0: not a reference log-prob file (expected magic LOOMREFL)");
  size_t at = sizeof kMagic;
  const uint32_t version = get<uint32_t>(in, at, path, "the version");
  if (version != kVersion)
    throw Error(path + ": offset 8: version " + std::to_string(version) + ", expected 1");
  const uint64_t n = get<uint64_t>(in, at, path, "the pair count");
  if (n > in.size() / 8 || in.size() != at + 64 + n * 8 + 8)
    throw Error(path + ": " + std::to_string(in.size()) + " bytes do not hold " +
                std::to_string(n) + " pairs (truncated or corrupted)");
  RefLogprobs r;
  r.data_sha256 = in.substr(at, 64);
  at += 64;
  for (uint64_t i = 0; i < n; ++i) {
    r.chosen.push_back(get<float>(in, at, path, "a log-prob"));
    r.rejected.push_back(get<float>(in, at, path, "a log-prob"));
  }
  const uint64_t body = at;
  if (get<uint64_t>(in, at, path, "the checksum") != fnv1a(std::string_view(in).substr(0, body)))
    throw Error(path + ": checksum mismatch (the file is corrupted)");
  if (r.data_sha256 != expected_sha256)
    throw Error(path + ": computed on other preference data (sha256 " +
                r.data_sha256.substr(0, 12) + "..., this data " + expected_sha256.substr(0, 12) +
                "...): delete it to recompute");
  return r;
}

}  // namespace loom::train
