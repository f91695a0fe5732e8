// The dates task for sequence-to-sequence models: a date written in one of many human forms
// ("3 March 2021", "March 3rd, 2021", "03/03/21", "Wednesday, 3 Mar 2021", "2021-3-3", ...) ->
// its ISO form "2021-03-03", character by character. Dates are days of 1950-01-01..2049-12-31;
// the splits hold different days (drawn without replacement from one seeded shuffle), each
// written in a form drawn from the same seed, so a run is reproducible from its seed alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loom::train {

struct DateExample {
  std::string source;  // "Wednesday, 3 Mar 2021"
  std::string target;  // "2021-03-03"
};

// The number of forms date_forms writes, and one date in form f (0..kDateForms-1). Slashes are
// month/day/year (US), dots day.month.year; two-digit years are 1950..2049.
constexpr int kDateForms = 12;
std::string write_date(int year, int month, int day, int form);
// "YYYY-MM-DD".
std::string iso_date(int year, int month, int day);

struct DateSplits {
  std::vector<DateExample> train, valid, test;
};
// n_train + n_valid + n_test distinct days (at most 36525), shuffled and written from seed; more
// days than the range holds is a loom::Error.
DateSplits make_date_splits(uint64_t seed, int64_t n_train, int64_t n_valid, int64_t n_test);

// A character vocabulary: specials first (ids 0..), then characters in the order added.
// Characters outside it encode to `unk` (when there is one) or are a loom::Error naming the
// text and the offset.
class CharVocab {
 public:
  explicit CharVocab(std::vector<std::string> specials = {}) : specials_(std::move(specials)) {}
  void add(std::string_view text);
  int64_t size() const { return static_cast<int64_t>(specials_.size() + chars_.size()); }
  std::vector<int32_t> encode(std::string_view text, int32_t unk = -1) const;
  // Ids back to text; specials are skipped.
  std::string decode(const std::vector<int32_t>& ids) const;
  // The printable form of id: the character, or the special's name.
  std::string label(int32_t id) const;
  // One entry a line: specials as written, then each character (a space as "<space>").
  std::string text() const;
  // The inverse of text(); a malformed line is a loom::Error naming `source` and the line.
  static CharVocab parse(const std::string& text, const std::string& source);

 private:
  std::vector<std::string> specials_;
  std::string chars_;
  std::unordered_map<char, int32_t> index_;
};

}  // namespace loom::train
