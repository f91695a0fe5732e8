// Per-thread working memory of one encode call, reused across calls so the hot path does not
// allocate. One Scratch per thread; never shared.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "text/added_vocab.h"
#include "text/components.h"
#include "text/normalized.h"
#include "text/regex.h"

namespace loom::text {

struct Scratch {
  PreTokenized pt;
  NormalizedString norm_tmp;  // normalizers' and pre-tokenizers' output buffer
  NormalizedString segment;   // the pipeline's per-segment buffer
  std::vector<Split> splits_tmp;
  std::vector<Offset> matches;
  std::vector<std::pair<Offset, bool>> marked;  // split candidates: (range, is_match)
  MatchScratch match;
  std::unique_ptr<ModelState> model_state;
  bool model_state_ready = false;
  std::vector<ModelToken> model_out;
  std::string buf;
  std::vector<uint32_t> grapheme_ends;
  std::vector<AddedVocabulary::Match> added_raw, added_norm;
};

}  // namespace loom::text
