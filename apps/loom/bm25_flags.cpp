#include "bm25_flags.h"

namespace loom::cli {

std::vector<Flag> bm25_flags(const std::string& prefix) {
  return {{prefix + "k1", "X", "bm25 k1 (term-frequency saturation, >= 0)", "0.9"},
          {prefix + "b", "X", "bm25 b (length normalisation, 0..1)", "0.4"},
          {"stopwords", "", "bm25: drop English stopwords (Lucene's 33)", ""},
          {"stem", "", "bm25: Porter-stem words (Porter 1980, as SQLite FTS5's porter)", ""}};
}

retrieval::Bm25Params bm25_params(const Args& args, const std::string& prefix) {
  retrieval::Bm25Params p;
  p.k1 = args.number(prefix + "k1", p.k1);
  p.b = args.number(prefix + "b", p.b);
  p.analyzer.stopwords = args.flag("stopwords");
  p.analyzer.stem = args.flag("stem");
  if (!(p.k1 >= 0) || !(p.b >= 0 && p.b <= 1))
    throw UsageError{"flags --" + prefix + "k1 --" + prefix + "b: expected k1 >= 0, 0 <= b <= 1"};
  return p;
}

}  // namespace loom::cli
