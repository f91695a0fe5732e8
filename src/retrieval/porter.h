// Porter's suffix-stripping stemmer, the original algorithm of M. F. Porter, "An algorithm for
// suffix stripping", Program 14(3), 1980 (steps 1a-5b as printed, ABLI -> ABLE, no LOGI rule).
// Words of one or two letters and words holding anything but a-z come back unchanged.
#pragma once

#include <string>
#include <string_view>

namespace loom::retrieval {

std::string porter_stem(std::string_view word);

}  // namespace loom::retrieval
