// NormalizedString: text after normalisation with the original byte range of every byte, so
// tokens can point back into the caller's input. PreTokenized: that text cut into splits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/unicode.h"

namespace loom::text {

// A byte range [begin, end).
struct Offset {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool operator==(const Offset&) const = default;
};

class NormalizedString {
 public:
  NormalizedString() = default;
  // The text itself, byte i coming from original byte base + i.
  void reset(std::string_view original, uint32_t base = 0) {
    text_.assign(original);
    ob_.clear();
    oe_.clear();
    base_ = base;
  }
  const std::string& text() const { return text_; }
  std::string& mutable_text() { return text_; }  // only for length-preserving, aligned edits
  bool identity() const { return ob_.empty(); }
  uint32_t base() const { return base_; }

  // Original range covered by normalized bytes [nb, ne); an empty range maps to a point.
  Offset original(uint32_t nb, uint32_t ne) const {
    if (identity()) return {base_ + nb, base_ + ne};
    if (nb >= ne) {
      uint32_t p = nb < ob_.size() ? ob_[nb] : (oe_.empty() ? base_ : oe_.back());
      return {p, p};
    }
    return {ob_[nb], oe_[ne - 1]};
  }
  uint32_t orig_begin(uint32_t i) const { return identity() ? base_ + i : ob_[i]; }
  uint32_t orig_end(uint32_t i) const { return identity() ? base_ + i + 1 : oe_[i]; }

  // Builder interface: appends bytes that all come from original range [ob, oe).
  void clear_for_build() {
    text_.clear();
    ob_.clear();
    oe_.clear();
    base_ = 0;
  }
  void append(std::string_view bytes, uint32_t ob, uint32_t oe) {
    text_.append(bytes);
    ob_.insert(ob_.end(), bytes.size(), ob);
    oe_.insert(oe_.end(), bytes.size(), oe);
  }
  // Appends normalized bytes [nb, ne) of src with their alignment.
  void append_from(const NormalizedString& src, uint32_t nb, uint32_t ne) {
    text_.append(src.text_, nb, ne - nb);
    for (uint32_t i = nb; i < ne; ++i) {
      ob_.push_back(src.orig_begin(i));
      oe_.push_back(src.orig_end(i));
    }
  }
  void swap(NormalizedString& o) {
    text_.swap(o.text_);
    ob_.swap(o.ob_);
    oe_.swap(o.oe_);
    std::swap(base_, o.base_);
  }

  // Replaces every char by what fn(cp, bytes, out) appends to out (nothing = delete). Each output
  // byte keeps the original range of the char it came from. `scratch` is reused storage.
  template <typename F>
  void map_chars(F&& fn, NormalizedString& scratch) {
    scratch.clear_for_build();
    std::string piece;
    bool aligned = identity();  // stays identity while every char keeps its byte length
    std::string out;
    out.reserve(text_.size());
    for (size_t i = 0; i < text_.size();) {
      Utf8Char c = utf8_next(text_, i);
      piece.clear();
      fn(c.cp, std::string_view(text_).substr(i, c.len), piece);
      if (aligned && piece.size() != c.len) {
        // Switch to explicit alignment: replay what was kept so far.
        aligned = false;
        scratch.clear_for_build();
        for (size_t k = 0; k < out.size(); ++k) {
          scratch.text_.push_back(out[k]);
          scratch.ob_.push_back(orig_begin(uint32_t(k)));
          scratch.oe_.push_back(orig_end(uint32_t(k)));
        }
      }
      if (aligned) {
        out.append(piece);
      } else {
        scratch.append(piece, orig_begin(uint32_t(i)), orig_end(uint32_t(i + c.len - 1)));
      }
      i += c.len;
    }
    if (aligned) {
      text_.swap(out);
    } else {
      swap(scratch);
    }
  }

 private:
  std::string text_;
  std::vector<uint32_t> ob_, oe_;  // per normalized byte; empty = identity from base_
  uint32_t base_ = 0;
};

// One piece of pre-tokenized text: bytes [begin, end) of the normalized string. token_id >= 0
// marks an added token that was matched already and bypasses the model.
struct Split {
  uint32_t begin = 0;
  uint32_t end = 0;
  int32_t token_id = -1;
};

struct PreTokenized {
  NormalizedString norm;
  std::vector<Split> splits;
};

}  // namespace loom::text
