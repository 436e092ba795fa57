#include "etl/csv_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace hivehook::etl;

struct Rec {
  std::uint64_t line;
  std::string raw;
  std::vector<std::string> fields;
  bool malformed;
};

std::vector<Rec> read_all(const std::string& data, std::size_t chunk = 1 << 20,
                          std::size_t reader_chunk = 1 << 20,
                          std::size_t max_record = CsvReader::kMaxRecordBytes) {
  MemorySource src(data, chunk);
  CsvReader reader(src, reader_chunk, max_record);
  CsvRecord rec;
  std::vector<Rec> out;
  while (reader.next(rec) == ReadStatus::record)
    out.push_back(Rec{rec.line, std::string(rec.raw),
                      std::vector<std::string>(rec.fields.begin(), rec.fields.end()), rec.malformed});
  return out;
}

TEST(CsvReader, QuotedLineBreaksKeepPhysicalLineNumbers) {
  auto r = read_all("h\n\"a\nb\",c\nd\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"a\nb", "c"}));
  EXPECT_EQ(r[2].line, 4u);
}

TEST(CsvReader, CrlfBomMissingFinalNewlineAndBlankLines) {
  auto r = read_all("\xEF\xBB\xBFh1,h2\r\n\r\na,b\r\n\nc,\"d\r\ne\"\r\nlast,x");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].fields, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(r[1].line, 3u);
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r[2].line, 5u);
  EXPECT_EQ(r[2].fields, (std::vector<std::string>{"c", "d\r\ne"}));  // CR inside quotes is data
  EXPECT_EQ(r[3].line, 7u);
  EXPECT_EQ(r[3].fields, (std::vector<std::string>{"last", "x"}));
}

TEST(CsvReader, OnlyTheCrBeforeTheRecordEndIsDropped) {
  auto r = read_all("a\r\r\nb\rc\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].raw, "a\r");
  EXPECT_EQ(r[1].raw, "b\rc");
}

TEST(CsvReader, WhitespaceLineIsARecordAndCommasAreEmptyFields) {
  auto r = read_all(" \n,,,,,,\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields, (std::vector<std::string>{" "}));
  EXPECT_EQ(r[1].fields.size(), 7u);
}

TEST(CsvReader, GrammarViolationsAreMalformed) {
  EXPECT_TRUE(read_all("a\"b,c\n")[0].malformed);     // quote in an unquoted field (odd: runs on)
  EXPECT_TRUE(read_all("\"a\"x,c\n")[0].malformed);   // junk after a closing quote
  EXPECT_TRUE(read_all("a\"\"b,c\n")[0].malformed);   // even quotes inside an unquoted field
  EXPECT_FALSE(read_all("\"a\"\"b\",c\n")[0].malformed);
  EXPECT_EQ(read_all("\"a\"\"b\",c\n")[0].fields[0], "a\"b");
  EXPECT_EQ(read_all("\"T16\"\n")[0].fields[0], "T16");  // unquoted before any check
}

TEST(CsvReader, UnclosedQuoteRunsToTheEndAsOneMalformedRecord) {
  auto r = read_all("h\n\"open,x\nmore\nrows\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_TRUE(r[1].malformed);
  EXPECT_EQ(r[1].raw, "\"open,x\nmore\nrows\n");
}

TEST(CsvReader, ChunkBoundariesDoNotChangeTheResult) {
  std::string data =
      "\xEF\xBB\xBFh,i\r\n\"x\ny\",\"q\"\"q\"\r\n\r\nplain,row\n\"open\n\nz,w\n\"\"\n,\n \nend";
  auto want = read_all(data);
  for (std::size_t chunk : {1u, 2u, 3u, 5u, 7u, 64u})
    for (std::size_t rchunk : {16u, 17u, 4096u}) {
      auto got = read_all(data, chunk, rchunk);
      ASSERT_EQ(got.size(), want.size()) << chunk << "/" << rchunk;
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].line, want[i].line);
        EXPECT_EQ(got[i].raw, want[i].raw);
        EXPECT_EQ(got[i].fields, want[i].fields);
      }
    }
}

TEST(CsvReader, InvalidUtf8IsAFileError) {
  for (std::string bad : {std::string("h\nok\nb\xC3(\n"), std::string("h\n\xED\xA0\x80\n"),
                          std::string("h\n\xC0\xAF\n")}) {
    MemorySource src(bad);
    CsvReader reader(src);
    CsvRecord rec;
    ReadStatus st;
    while ((st = reader.next(rec)) == ReadStatus::record) {
    }
    EXPECT_EQ(st, ReadStatus::bad_encoding);
    EXPECT_NE(reader.error().find("line"), std::string::npos);
  }
  EXPECT_EQ(read_all("h\nnaïve,日本\n")[1].fields[1], "日本");
}

// ECOMMERCE.md: a record containing a NUL byte (quoted or not) is malformed alone.
TEST(CsvReader, NulByteMakesItsRecordMalformedNotTheFile) {
  using namespace std::string_literals;
  auto r = read_all("h\nx\0y,z\n\"a\0\nb\",c\nok,1\n"s);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_TRUE(r[1].malformed);
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[1].raw, "x\0y,z"s);
  EXPECT_TRUE(r[2].malformed);  // inside quotes, across a line break: still one record
  EXPECT_EQ(r[2].line, 3u);
  EXPECT_FALSE(r[3].malformed);
  EXPECT_EQ(r[3].line, 5u);
  EXPECT_EQ(r[3].fields, (std::vector<std::string>{"ok", "1"}));
}

// Issue 18: "\r\r\n" was skipped as blank; it is a record (the last CR dropped, one CR of data).
TEST(CsvReader, CrCrLfLineIsARecordNotABlankLine) {
  auto r = read_all("h\n\r\r\n\r\nx\n\r\r\r\n\r");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[1].raw, "\r");
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"\r"}));
  EXPECT_EQ(r[2].line, 4u);  // "\r\n" on line 3 is blank
  EXPECT_EQ(r[3].line, 5u);
  EXPECT_EQ(r[3].raw, "\r\r");  // and the lone CR without LF ending the file is blank
}

// Issue 18 retest E4: a quote never closed in a large file made one record of the whole rest of
// the file, held in memory (the buffer doubled to the file's size). Past the cap a record is
// malformed alone, keeps only its first bytes (whole characters), and the reader's buffer stays
// near the cap whatever the file's size; quotes and line breaks past the cap still count.
TEST(CsvReader, E4_RecordPastTheCapIsMalformedAndItsTailIsNotHeld) {
  std::string big = "h\n\"open,";
  for (int i = 0; i < 4000; ++i) big += "ab\u00e9\n";  // 4 bytes + LF per line, a 2-byte character
  auto chunks = {1u, 7u, 64u};
  for (std::size_t chunk : chunks) {
    auto r = read_all(big, chunk, 64, 100);
    ASSERT_EQ(r.size(), 2u) << chunk;
    EXPECT_EQ(r[1].line, 2u);
    EXPECT_TRUE(r[1].malformed);
    EXPECT_LE(r[1].raw.size(), 100u);
    EXPECT_GE(r[1].raw.size(), 97u);
    EXPECT_EQ(r[1].raw.substr(0, 7), "\"open,a");
  }
  // A closed quote past the cap: the record is malformed, the next ones load with their lines.
  std::string closed = "h\n\"" + std::string(300, 'x') + "\n" + std::string(300, 'y') + "\",z\nok,1\n";
  auto r = read_all(closed, 5, 32, 100);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[1].malformed);
  EXPECT_EQ(r[1].raw, "\"" + std::string(99, 'x'));
  EXPECT_EQ(r[2].line, 4u);
  EXPECT_FALSE(r[2].malformed);
  EXPECT_EQ(r[2].fields, (std::vector<std::string>{"ok", "1"}));
  // A record exactly at the cap is whole, whether it ends in LF or CRLF (retest-2 finding 2: the
  // CR the record end drops counted toward the cap), whatever the reads' sizes.
  for (const char* end : {"\n", "\r\n"})
    for (std::size_t chunk : {3u, 100u, 101u, 4096u}) {
      std::string at = "h\n" + std::string(100, 'a') + end + "b\n";
      r = read_all(at, chunk, 16, 100);
      ASSERT_EQ(r.size(), 3u);
      EXPECT_FALSE(r[1].malformed) << chunk;
      EXPECT_EQ(r[1].raw.size(), 100u);
      EXPECT_EQ(r[2].line, 3u);
      std::string over = "h\n" + std::string(101, 'a') + end + "b\n";
      r = read_all(over, chunk, 16, 100);
      ASSERT_EQ(r.size(), 3u);
      EXPECT_TRUE(r[1].malformed) << chunk;
      EXPECT_EQ(r[1].raw.size(), 100u);
    }
}

TEST(CsvReader, E3_AQuoteNeverClosedIsFlaggedWithTheLinesItSpans) {
  MemorySource src("h\nok\n\"open,x\nmore\nrows\n");
  CsvReader reader(src);
  CsvRecord rec;
  ASSERT_EQ(reader.next(rec), ReadStatus::record);
  ASSERT_EQ(reader.next(rec), ReadStatus::record);
  EXPECT_FALSE(rec.unclosed_quote);
  EXPECT_EQ(rec.lines, 1u);
  ASSERT_EQ(reader.next(rec), ReadStatus::record);
  EXPECT_TRUE(rec.unclosed_quote);
  EXPECT_TRUE(rec.malformed);
  EXPECT_EQ(rec.line, 3u);
  EXPECT_EQ(rec.lines, 3u);
  EXPECT_EQ(reader.next(rec), ReadStatus::end);
}

TEST(CsvReader, E4_InvalidUtf8PastTheCapIsStillAFileError) {
  std::string bad = "h\n\"" + std::string(500, 'x') + "\xC3(" + std::string(500, 'y') + "\n";
  for (std::size_t chunk : {1u, 13u, 4096u}) {
    MemorySource src(bad, chunk);
    CsvReader reader(src, 32, 100);
    CsvRecord rec;
    ReadStatus st;
    while ((st = reader.next(rec)) == ReadStatus::record) {
    }
    EXPECT_EQ(st, ReadStatus::bad_encoding) << chunk;
  }
}

}  // namespace
