// utf8_conninfo and loggable_conninfo: URLs and keyword/value strings come out as keyword/value
// with every value kept (percent-decoded, quoted), client_encoding forced to UTF8 and, for logs,
// the password left out. The strings are parsed by libpq and never connected to.
#include "events/database.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace tasklog::events {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ConninfoTest, UrlBecomesKeywordValueWithUtf8) {
  const auto pinned =
      utf8_conninfo("postgresql://app:p%40ss'w@db.example:5433/tasks?application_name=t&client_encoding=LATIN1");
  EXPECT_THAT(pinned, HasSubstr("user='app'"));
  EXPECT_THAT(pinned, HasSubstr(R"(password='p@ss\'w')"));
  EXPECT_THAT(pinned, HasSubstr("host='db.example'"));
  EXPECT_THAT(pinned, HasSubstr("port='5433'"));
  EXPECT_THAT(pinned, HasSubstr("dbname='tasks'"));
  EXPECT_THAT(pinned, HasSubstr("application_name='t'"));
  EXPECT_THAT(pinned, HasSubstr("client_encoding='UTF8'"));
  EXPECT_THAT(pinned, Not(HasSubstr("LATIN1")));
  // What it says is what libpq reads back: parsing it again changes nothing.
  EXPECT_EQ(utf8_conninfo(pinned), pinned);
}

TEST(ConninfoTest, KeywordValueKeepsQuotedValues) {
  const auto pinned = utf8_conninfo(R"(host='/tmp/a dir' port=5432 dbname='it\'s' client_encoding=SJIS)");
  EXPECT_THAT(pinned, HasSubstr("host='/tmp/a dir'"));
  EXPECT_THAT(pinned, HasSubstr(R"(dbname='it\'s')"));
  EXPECT_THAT(pinned, HasSubstr("client_encoding='UTF8'"));
  EXPECT_THAT(pinned, Not(HasSubstr("SJIS")));
  EXPECT_EQ(utf8_conninfo(""), "client_encoding='UTF8'");
}

TEST(ConninfoTest, LoggableDropsOnlyThePassword) {
  const auto logged = loggable_conninfo("postgresql://app:secret@db.example/tasks");
  EXPECT_THAT(logged, Not(HasSubstr("secret")));
  EXPECT_THAT(logged, HasSubstr("user='app'"));
  EXPECT_THAT(logged, HasSubstr("host='db.example'"));
  EXPECT_THAT(loggable_conninfo("host=h password=secret"), Not(HasSubstr("secret")));
}

TEST(ConninfoTest, WhatDoesNotParseIsRefusedWithLibpqsReason) {
  try {
    utf8_conninfo("host='unterminated");
    FAIL() << "an unterminated quote was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not parse"));
    EXPECT_THAT(e.what(), HasSubstr("quoted"));
  }
  EXPECT_THROW(utf8_conninfo("postgresql://h/db?no_such_option=1"), std::invalid_argument);
}

}  // namespace
}  // namespace tasklog::events
