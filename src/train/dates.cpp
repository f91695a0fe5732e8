#include "train/dates.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"

namespace loom::train {

namespace {

constexpr const char* kMonths[12] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
constexpr const char* kWeekdays[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                      "Thursday", "Friday", "Saturday"};
constexpr int kFirstYear = 1950, kLastYear = 2049;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The inverse (civil_from_days): {year, month, day}.
std::array<int, 3> civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const auto d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const auto m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {static_cast<int>(yoe + era * 400 + (m <= 2)), m, d};
}

std::string ordinal(int d) {
  const char* suffix = (d % 100 >= 11 && d % 100 <= 13) ? "th"
                       : d % 10 == 1                    ? "st"
                       : d % 10 == 2                    ? "nd"
                       : d % 10 == 3                    ? "rd"
                                                        : "th";
  return std::to_string(d) + suffix;
}

std::string two(int v) {
  char b[8];
  std::snprintf(b, sizeof b, "%02d", v % 100);
  return b;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string iso_date(int year, int month, int day) {
  return std::to_string(year) + "-" + two(month) + "-" + two(day);
}

std::string write_date(int y, int m, int d, int form) {
  const std::string month = kMonths[m - 1], mon = month.substr(0, 3), ys = std::to_string(y);
  const int64_t days = days_from_civil(y, m, d);
  const std::string wday = kWeekdays[((days % 7) + 11) % 7];  // 1970-01-01 was a Thursday
  const std::string ds = std::to_string(d), ms = std::to_string(m);
  switch (form) {
    case 0:
      return ds + " " + month + " " + ys;
    case 1:
      return month + " " + ordinal(d) + ", " + ys;
    case 2:
      return two(m) + "/" + two(d) + "/" + two(y);
    case 3:
      return wday + ", " + ds + " " + mon + " " + ys;
    case 4:
      return ys + "-" + ms + "-" + ds;
    case 5:
      return ordinal(d) + " of " + month + " " + ys;
    case 6:
      return wday.substr(0, 3) + " " + mon + " " + ds + " " + ys;
    case 7:
      return two(d) + "." + two(m) + "." + ys;
    case 8:
      return upper(month) + " " + ds + ", " + ys;
    case 9:
      return ds + " " + lower(mon) + " " + two(y);
    case 10:
      return ys + two(m) + two(d);
    case 11:
      return wday + ", " + month + " " + ds + ", " + ys;
    default:
      throw Error("date form " + std::to_string(form) + ": expected 0.." +
                  std::to_string(kDateForms - 1));
  }
}

DateSplits make_date_splits(uint64_t seed, int64_t n_train, int64_t n_valid, int64_t n_test) {
  const int64_t first = days_from_civil(kFirstYear, 1, 1);
  const int64_t n_days = days_from_civil(kLastYear + 1, 1, 1) - first;
  const int64_t want = n_train + n_valid + n_test;
  if (n_train < 0 || n_valid < 0 || n_test < 0 || want > n_days)
    throw Error("dates: " + std::to_string(n_train) + " + " + std::to_string(n_valid) + " + " +
                std::to_string(n_test) + " examples: expected >= 0 each and at most " +
                std::to_string(n_days) + " (the days of " + std::to_string(kFirstYear) + ".." +
                std::to_string(kLastYear) + ")");
  Rng rng(seed);
  std::vector<int64_t> days(static_cast<size_t>(n_days));
  std::iota(days.begin(), days.end(), first);
  for (int64_t i = 0; i < want; ++i) {  // the first `want` of a Fisher-Yates shuffle
    const auto j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n_days - i)));
    std::swap(days[static_cast<size_t>(i)], days[static_cast<size_t>(j)]);
  }
  DateSplits s;
  for (int64_t i = 0; i < want; ++i) {
    const auto [y, m, d] = civil_from_days(days[static_cast<size_t>(i)]);
    const int form = static_cast<int>(rng.below(kDateForms));
    auto& split = i < n_train ? s.train : i < n_train + n_valid ? s.valid : s.test;
    split.push_back({write_date(y, m, d, form), iso_date(y, m, d)});
  }
  return s;
}

// ---- CharVocab ----

void CharVocab::add(std::string_view text) {
  for (char c : text) {
    if (index_.count(c)) continue;
    index_[c] = static_cast<int32_t>(size());
    chars_.push_back(c);
  }
}

std::vector<int32_t> CharVocab::encode(std::string_view text, int32_t unk) const {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto it = index_.find(text[i]);
    if (it != index_.end()) {
      ids.push_back(it->second);
    } else if (unk >= 0) {
      ids.push_back(unk);
    } else {
      throw Error("'" + std::string(text) + "': character '" + std::string(1, text[i]) +
                  "' at offset " + std::to_string(i) + " is not in the vocabulary");
    }
  }
  return ids;
}

std::string CharVocab::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  const auto n = static_cast<int32_t>(specials_.size());
  for (int32_t id : ids)
    if (id >= n && id < size()) out.push_back(chars_[static_cast<size_t>(id - n)]);
  return out;
}

std::string CharVocab::label(int32_t id) const {
  const auto n = static_cast<int32_t>(specials_.size());
  if (id >= 0 && id < n) return specials_[static_cast<size_t>(id)];
  if (id >= n && id < size()) return std::string(1, chars_[static_cast<size_t>(id - n)]);
  return "?";
}

std::string CharVocab::text() const {
  std::string out;
  for (const std::string& s : specials_) out += s + "\n";
  for (char c : chars_) out += c == ' ' ? std::string("<space>\n") : std::string(1, c) + "\n";
  return out;
}

CharVocab CharVocab::parse(const std::string& text, const std::string& source) {
  CharVocab v;
  size_t pos = 0;
  for (int line = 1; pos < text.size(); ++line) {
    const size_t end = text.find('\n', pos);
    const std::string entry =
        text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (entry == "<space>") {
      v.add(" ");
    } else if (entry.size() == 1) {
      v.add(entry);
    } else if (entry.size() > 2 && entry.front() == '<' && entry.back() == '>' &&
               v.chars_.empty()) {
      v.specials_.push_back(entry);
    } else {
      throw Error(source + ": line " + std::to_string(line) + ": '" + entry +
                  "': expected one character, <space>, or a <special> before the characters");
    }
  }
  return v;
}

}  // namespace loom::train
