#include "jobs/output_tail.h"

#include <gtest/gtest.h>

#include <random>

namespace hivehook {
namespace {

std::string last(const std::string& s, std::size_t n) { return s.size() <= n ? s : s.substr(s.size() - n); }

TEST(OutputTail, KeepsEverythingWhileUnderCapacity) {
  OutputTail t(16);
  t.append("hello ");
  t.append("world");
  EXPECT_EQ(t.str(), "hello world");
  EXPECT_EQ(t.total(), 11u);
}

TEST(OutputTail, KeepsOnlyTheLastBytesAcrossWraps) {
  OutputTail t(8);
  t.append("abcdef");
  t.append("ghij");  // fills, then wraps
  EXPECT_EQ(t.str(), "cdefghij");
  t.append("k");
  EXPECT_EQ(t.str(), "defghijk");
  t.append("0123456789");  // larger than the ring
  EXPECT_EQ(t.str(), "23456789");
  EXPECT_EQ(t.total(), 21u);
}

TEST(OutputTail, MatchesAReferenceForRandomChunks) {
  std::mt19937 rng(7);
  for (std::size_t cap : {1u, 3u, 64u, 1000u}) {
    OutputTail t(cap);
    std::string all;
    for (int i = 0; i < 500; ++i) {
      std::string chunk(std::uniform_int_distribution<std::size_t>(0, cap * 2 + 3)(rng), '\0');
      for (auto& c : chunk) c = static_cast<char>('a' + rng() % 26);
      t.append(chunk);
      all += chunk;
      ASSERT_EQ(t.str(), last(all, cap)) << "cap " << cap << " step " << i;
    }
    EXPECT_EQ(t.total(), all.size());
  }
}

TEST(OutputTail, ZeroCapacityCountsButKeepsNothing) {
  OutputTail t(0);
  t.append("abc");
  EXPECT_EQ(t.str(), "");
  EXPECT_EQ(t.total(), 3u);
}

}  // namespace
}  // namespace hivehook
