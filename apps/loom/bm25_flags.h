// `--bm25-k1 --bm25-b --stopwords --stem`: the BM25 settings of `loom collection create` (recorded
// with the collection) and of `loom eval retrieval` (there named --k1 and --b as before).
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "retrieval/bm25.h"

namespace loom::cli {

// prefix "" gives --k1/--b, "bm25-" gives --bm25-k1/--bm25-b; defaults are Bm25Params'.
std::vector<Flag> bm25_flags(const std::string& prefix);
retrieval::Bm25Params bm25_params(const Args& args, const std::string& prefix);

}  // namespace loom::cli
