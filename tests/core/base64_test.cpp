#include "core/base64.hpp"

#include <gtest/gtest.h>

using tasklog::decode_base64;

TEST(Base64, DecodesPaddedText) {
  EXPECT_EQ(decode_base64("bGlzdF9wcm9qZWN0cw=="), "list_projects");
  EXPECT_EQ(decode_base64("aMOpbGxv"), "h\xc3\xa9llo");
  EXPECT_EQ(decode_base64("SGVsbG8sIOS4lueVjA=="), "Hello, \xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(decode_base64("YWI="), "ab");
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("AA=="), std::string(1, '\0'));  // a NUL is a byte like any other
}

// A header value is exactly an encoding: anything else is refused, not repaired.
TEST(Base64, RefusesWhatIsNotCanonical) {
  EXPECT_FALSE(decode_base64("bGlzdF9wcm9qZWN0cw"));     // padding missing
  EXPECT_FALSE(decode_base64("YWI"));                    // a length that is not a multiple of 4
  EXPECT_FALSE(decode_base64("Y=Fi"));                   // padding inside
  EXPECT_FALSE(decode_base64("Y==="));                   // three padding characters
  EXPECT_FALSE(decode_base64(" YWI"));                   // whitespace (OpenSSL would skip it)
  EXPECT_FALSE(decode_base64("YW-="));                   // the URL-safe alphabet is another encoding
  EXPECT_FALSE(decode_base64("YW\xc3\xa9"));             // not ASCII at all
}
