#include "wordvec/huffman.h"

#include <cmath>

#include "core/error.h"

namespace loom::wordvec {

HuffmanTree build_huffman(const std::vector<int64_t>& counts) {
  // Leaves 0..V-1 sorted by falling count, inner nodes V..2V-2 created in rising weight order, so
  // the two smallest are always at the front of one of the two runs (word2vec's two-queue build).
  const int64_t v = static_cast<int64_t>(counts.size());
  LOOM_ASSERT(v >= 1);
  std::vector<int64_t> weight(static_cast<size_t>(2 * v), 0), parent(static_cast<size_t>(2 * v), 0);
  std::vector<uint8_t> branch(static_cast<size_t>(2 * v), 0);
  for (int64_t i = 0; i < v; ++i) weight[i] = counts[i];
  int64_t leaf = v - 1, inner = v;
  int64_t next_inner = v;  // first inner node not yet used as a child
  for (int64_t k = 0; k < v - 1; ++k) {
    int64_t pick[2];
    for (int64_t& p : pick) {
      if (leaf >= 0 && (next_inner >= inner || weight[leaf] < weight[next_inner])) {
        p = leaf--;
      } else {
        p = next_inner++;
      }
    }
    weight[inner] = weight[pick[0]] + weight[pick[1]];
    parent[pick[0]] = parent[pick[1]] = inner;
    branch[pick[1]] = 1;
    ++inner;
  }
  HuffmanTree t;
  t.offsets.push_back(0);
  const int64_t root = 2 * v - 2;
  std::vector<int32_t> pts;
  std::vector<uint8_t> cds;
  for (int64_t w = 0; w < v; ++w) {
    pts.clear();
    cds.clear();
    for (int64_t n = w; n != root; n = parent[n]) {
      cds.push_back(branch[n]);
      pts.push_back(static_cast<int32_t>(parent[n] - v));
    }
    t.points.insert(t.points.end(), pts.rbegin(), pts.rend());
    t.codes.insert(t.codes.end(), cds.rbegin(), cds.rend());
    t.offsets.push_back(static_cast<int64_t>(t.points.size()));
  }
  return t;
}

AliasTable::AliasTable(const std::vector<int64_t>& counts, double power)
    : n_(counts.size()), threshold_(counts.size()), alias_(counts.size()), prob_(counts.size()) {
  LOOM_ASSERT(!counts.empty());
  double total = 0;
  for (size_t i = 0; i < counts.size(); ++i) total += prob_[i] = std::pow(double(counts[i]), power);
  std::vector<double> scaled(counts.size());
  std::vector<int32_t> small, large;
  for (size_t i = 0; i < counts.size(); ++i) {
    prob_[i] /= total;
    scaled[i] = prob_[i] * double(n_);
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<int32_t>(i));
    alias_[i] = static_cast<int32_t>(i);
  }
  while (!small.empty() && !large.empty()) {
    int32_t s = small.back(), l = large.back();
    small.pop_back();
    alias_[s] = l;
    threshold_[s] = static_cast<uint32_t>(std::min(scaled[s] * 4294967296.0, 4294967295.0));
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (int32_t i : small) threshold_[i] = 0xffffffffu;
  for (int32_t i : large) threshold_[i] = 0xffffffffu;
}

double AliasTable::probability(int32_t i) const { return prob_[static_cast<size_t>(i)]; }

}  // namespace loom::wordvec
