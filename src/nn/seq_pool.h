// Pooling a batch of right-padded sequences' hidden states into one vector per sequence, on the
// tape — the training side of src/embed's pooling (embed/pooling.h), with the same definitions,
// so a model trained through these pools the way `loom embed` later embeds with it.
#pragma once

#include <cstdint>
#include <string>

#include "nn/tape.h"

namespace loom::nn {

enum class SeqPool {
  Mean,          // mean over positions 0 .. len_i-1
  Last,          // position len_i - 1 (decoder-only models)
  Cls,           // position 0
  WeightedMean,  // sum_t (t+1)·h_t / (len_i·(len_i+1)/2) (SGPT), t < len_i
};

// "mean", "last", "cls", "weighted-mean" (embed's names); anything else is a loom::Error.
SeqPool seq_pool_from_name(const std::string& name);
const char* seq_pool_name(SeqPool p);

// h (B*T, C) hidden states of B sequences of T positions, right-padded; lens (B) the real
// lengths, each in [1, T] -> y (B, C). Padding positions get no gradient. With causal attention
// the pad tail cannot change positions before it, so this equals pooling each sequence alone.
Var pool_sequences(Tape& t, Var h, const int32_t* lens, int64_t batch, int64_t seq, SeqPool kind);

}  // namespace loom::nn
