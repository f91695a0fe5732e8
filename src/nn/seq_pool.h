// Pooling on the tape: the training side of core/pooling.h's definitions (pool_rows forward,
// its backward beside it), so a model trained through these pools the way `loom embed` later
// embeds with it.
#pragma once

#include <cstdint>

#include "core/pooling.h"
#include "nn/tape.h"

namespace loom::nn {

// h (B*T, C) hidden states of B sequences of T positions, right-padded; lens (B) the real
// lengths, each in [1, T] -> y (B, C), each row pool_rows of its sequence's first len_b rows.
// Padding positions get no gradient. With causal attention the pad tail cannot change positions
// before it, so this equals pooling each sequence alone.
Var pool_sequences(Tape& t, Var h, const int32_t* lens, int64_t batch, int64_t seq, Pooling kind);

}  // namespace loom::nn
