// Contrastive losses for embedding training on the tape: row L2 normalisation, InfoNCE with
// in-batch negatives (optionally hard negatives and the symmetric direction), and the Matryoshka
// loss over several leading dimensions. Same definitions as sentence-transformers'
// MultipleNegativesRankingLoss / MultipleNegativesSymmetricRankingLoss / MatryoshkaLoss.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/tape.h"

namespace loom::nn {

// x (N,C) -> y (N,C), y_i = x_i / max(||x_i||, 1e-12) (torch.nn.functional.normalize).
Var l2_normalize_rows(Tape& t, Var x);

struct InfoNceOptions {
  float temperature = 0.05f;  // logits = similarity / temperature (sentence-transformers scale 20)
  // Also the positive-to-query direction: each positive p_j classifies its query among the
  // batch's queries; the loss is the mean of both directions.
  bool symmetric = false;
};

// q (B,C) queries, p (B,C) their positives, neg (M,C) hard negatives or undefined -> loss (1).
// S = q · [p; neg]ᵀ / temperature (B, B+M); loss = mean_i (logsumexp(S_i) - S_ii): query i's
// positive is p_i, every other positive and every hard negative is a negative for it.
// Symmetric: 0.5 · that + 0.5 · mean_j (logsumexp(S[:B, j]) - S_jj) over the first B columns.
// Similarities are raw dot products: normalise the inputs first for cosine (as l2_normalize_rows).
// Sums run in double; B and M are batch sizes, so the O(B·(B+M)·C) loops are cheap.
Var info_nce(Tape& t, Var q, Var p, Var neg, const InfoNceOptions& options = {});

// Matryoshka: sum_k weights[k] · info_nce(norm(q[:, :dims[k]]), norm(p[:, :dims[k]]),
// norm(neg[:, :dims[k]])), each truncation re-normalised (so dims[k] = C is the plain cosine
// InfoNCE). dims in (0, C], weights the same length (empty: all 1).
Var matryoshka_info_nce(Tape& t, Var q, Var p, Var neg, const std::vector<int64_t>& dims,
                        const std::vector<float>& weights, const InfoNceOptions& options = {});

}  // namespace loom::nn
