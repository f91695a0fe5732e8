#include "train/text_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loom::train {
namespace {

TEST(TextLines, HeldOutByOneBasedLineNumberEmptyLinesCountedButSkipped) {
  std::vector<std::string> train, held;
  for_each_line("a\nb\r\n\nd\ne\nf", 2,
                [&](std::string_view l, bool h) { (h ? held : train).emplace_back(l); });
  EXPECT_EQ(train, (std::vector<std::string>{"a", "e"}));
  EXPECT_EQ(held, (std::vector<std::string>{"b", "d", "f"}));  // lines 2, 4, 6; line 3 is empty
  train.clear();
  for_each_line("x\n\ny\n", 0, [&](std::string_view l, bool h) {
    EXPECT_FALSE(h);
    train.emplace_back(l);
  });
  EXPECT_EQ(train, (std::vector<std::string>{"x", "y"}));
  int calls = 0;
  for_each_line("", 3, [&](std::string_view, bool) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace loom::train
