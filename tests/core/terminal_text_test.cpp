// Text for a terminal: every control character (C0, DEL, C1) comes out as a \u escape and nothing
// else changes; a cut by characters never splits one.
#include "core/terminal_text.hpp"

#include <gtest/gtest.h>

namespace tasklog {
namespace {

TEST(TerminalText, ControlCharactersAreEscapedAndTheRestKept) {
  EXPECT_EQ(for_terminal("plain \"json\" ✓ é"), "plain \"json\" ✓ é");
  EXPECT_EQ(for_terminal("a\x1b[2Jb\x07\n"), R"(a\u001b[2Jb\u0007\u000a)");
  EXPECT_EQ(for_terminal("del\x7f"), R"(del\u007f)");
  EXPECT_EQ(for_terminal("\u0080 \u0085 \u009b2J \u009f \u00a0"), "\\u0080 \\u0085 \\u009b2J \\u009f \u00a0");
}

TEST(TerminalText, FirstCharactersCutsBetweenCharacters) {
  EXPECT_EQ(first_characters("abc", 2), "ab");
  EXPECT_EQ(first_characters("abc", 3), "abc");
  EXPECT_EQ(first_characters("abc", 9), "abc");
  EXPECT_EQ(first_characters("éé✓x", 0), "");
  EXPECT_EQ(first_characters("éé✓x", 1), "é");
  EXPECT_EQ(first_characters("éé✓x", 3), "éé✓");
  EXPECT_EQ(first_characters("😀a", 1), "😀");
}

}  // namespace
}  // namespace tasklog
