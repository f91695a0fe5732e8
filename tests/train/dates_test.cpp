// The dates task (train/dates.h): every form written for known dates, seeded splits of distinct
// days, and the character vocabulary's round trip and errors.
#include "train/dates.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"

namespace loom::train {
namespace {

TEST(Dates, WritesEveryFormOfAKnownDate) {
  const std::vector<std::string> want = {
      "3 March 2021",  "March 3rd, 2021",   "03/03/21",       "Wednesday, 3 Mar 2021",
      "2021-3-3",      "3rd of March 2021", "Wed Mar 3 2021", "03.03.2021",
      "MARCH 3, 2021", "3 mar 21",          "20210303",       "Wednesday, March 3, 2021"};
  ASSERT_EQ(static_cast<int>(want.size()), kDateForms);
  for (int f = 0; f < kDateForms; ++f) EXPECT_EQ(write_date(2021, 3, 3, f), want[f]) << f;
  EXPECT_EQ(iso_date(2021, 3, 3), "2021-03-03");
  EXPECT_THROW(write_date(2021, 3, 3, kDateForms), Error);
}

TEST(Dates, WeekdaysOrdinalsAndTwoDigitYears) {
  EXPECT_EQ(write_date(1950, 1, 1, 3), "Sunday, 1 Jan 1950");
  EXPECT_EQ(write_date(1969, 12, 31, 6), "Wed Dec 31 1969");  // before the 1970 epoch
  EXPECT_EQ(write_date(2000, 2, 29, 11), "Tuesday, February 29, 2000");
  EXPECT_EQ(write_date(2049, 12, 31, 3), "Friday, 31 Dec 2049");
  EXPECT_EQ(write_date(2011, 11, 11, 1), "November 11th, 2011");
  EXPECT_EQ(write_date(2012, 12, 12, 5), "12th of December 2012");
  EXPECT_EQ(write_date(2022, 8, 22, 1), "August 22nd, 2022");
  EXPECT_EQ(write_date(2023, 5, 31, 1), "May 31st, 2023");
  EXPECT_EQ(write_date(1999, 7, 4, 2), "07/04/99");
  EXPECT_EQ(write_date(2005, 7, 4, 9), "4 jul 05");
}

TEST(Dates, SplitsAreSeededAndHoldDistinctDays) {
  const DateSplits a = make_date_splits(7, 3000, 200, 400), b = make_date_splits(7, 3000, 200, 400);
  const DateSplits c = make_date_splits(8, 3000, 200, 400);
  ASSERT_EQ(a.train.size(), 3000u);
  ASSERT_EQ(a.valid.size(), 200u);
  ASSERT_EQ(a.test.size(), 400u);
  EXPECT_EQ(a.test[17].source, b.test[17].source);
  EXPECT_NE(a.test[17].target, c.test[17].target);  // another seed, other days
  std::set<std::string> days;
  std::set<int> forms;
  for (const auto* split : {&a.train, &a.valid, &a.test}) {
    for (const DateExample& e : *split) {
      days.insert(e.target);
      ASSERT_EQ(e.target.size(), 10u);
      const int y = std::stoi(e.target.substr(0, 4));
      EXPECT_TRUE(y >= 1950 && y <= 2049) << e.target;
    }
  }
  EXPECT_EQ(days.size(), 3600u);  // no day in two splits, nor twice in one
  for (const DateExample& e : a.test)
    for (int f = 0; f < kDateForms; ++f) {
      const int y = std::stoi(e.target.substr(0, 4)), m = std::stoi(e.target.substr(5, 2));
      if (write_date(y, m, std::stoi(e.target.substr(8, 2)), f) == e.source) forms.insert(f);
    }
  EXPECT_EQ(static_cast<int>(forms.size()), kDateForms);  // every form is drawn
  EXPECT_THROW(make_date_splits(1, 40000, 1, 1), Error);  // more days than 1950..2049 holds
}

TEST(Dates, CharVocabRoundTripAndErrors) {
  CharVocab v({"<pad>", "<unk>"});
  v.add("3 Mar, 2021");
  EXPECT_EQ(v.size(), 2 + 9);
  const std::vector<int32_t> ids = v.encode("Mar 3");
  EXPECT_EQ(ids[0], 4);  // '3' is 2 (the first after the specials), ' ' 3, 'M' 4
  EXPECT_EQ(v.decode(ids), "Mar 3");
  EXPECT_EQ(v.encode("Maz", 1).back(), 1);  // unknown -> <unk>
  try {
    v.encode("Maz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("offset 2"), std::string::npos) << e.what();
  }
  const CharVocab back = CharVocab::parse(v.text(), "vocab.txt");
  EXPECT_EQ(back.text(), v.text());
  EXPECT_EQ(back.encode("2021, 3"), v.encode("2021, 3"));
  EXPECT_EQ(back.label(0), "<pad>");
  EXPECT_THROW(CharVocab::parse("<pad>\nab\n", "v.txt"), Error);
  EXPECT_THROW(CharVocab::parse("a\n<pad>\n", "v.txt"), Error);  // a special after characters
}

}  // namespace
}  // namespace loom::train
