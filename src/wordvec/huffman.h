// Huffman tree over word counts for hierarchical softmax, and the alias table that draws
// negative samples from the unigram^0.75 distribution in O(1).
#pragma once

#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace loom::wordvec {

// Word w's path from the root: inner nodes points[offsets[w] .. offsets[w+1]) (rows of the
// output matrix, 0..V-2) and the branch taken at each, codes[...] (0 or 1).
struct HuffmanTree {
  std::vector<int32_t> points;
  std::vector<uint8_t> codes;
  std::vector<int64_t> offsets;
};
// counts must be sorted from most to least frequent (as Vocab is); V >= 1.
HuffmanTree build_huffman(const std::vector<int64_t>& counts);

// Walker's alias method: draw(r) picks word i with probability counts[i]^power / sum.
class AliasTable {
 public:
  AliasTable() = default;
  AliasTable(const std::vector<int64_t>& counts, double power);
  int32_t draw(Rng& rng) const {
    uint64_t r = rng.next_u64();
    uint32_t i = static_cast<uint32_t>(((r & 0xffffffffull) * n_) >> 32);
    return static_cast<uint32_t>(r >> 32) < threshold_[i] ? static_cast<int32_t>(i) : alias_[i];
  }
  // Probability of word i (for tests).
  double probability(int32_t i) const;

 private:
  uint64_t n_ = 0;
  std::vector<uint32_t> threshold_;  // keep i when the high 32 random bits are below this
  std::vector<int32_t> alias_;
  std::vector<double> prob_;
};

}  // namespace loom::wordvec
