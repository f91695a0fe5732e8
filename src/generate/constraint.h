// A constraint on what a generator may produce next (constrained decoding): the generator asks it
// which tokens keep the output valid, masks the rest to -inf before sampling, and tells it the
// token chosen. json_constraint.h holds the JSON-schema one.
#pragma once

#include <cstdint>
#include <span>

namespace loom::generate {

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // May `token` come next? An end token (EOS, BOS) may when the output is complete.
  virtual bool allowed(int32_t token) = 0;
  // logits (V): every token not allowed -> -inf. A loom::Error when none is allowed.
  virtual void mask(std::span<float> logits) = 0;
  // `token` (allowed) was chosen.
  virtual void accept(int32_t token) = 0;
  // The output is complete and nothing may follow: the generator stops.
  virtual bool finished() const = 0;
};

}  // namespace loom::generate
