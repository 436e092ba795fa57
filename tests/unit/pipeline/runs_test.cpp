// Runs: retries and backoff timing, data errors, concurrency, on the manual clock.
#include <fcntl.h>

#include "base/unique_fd.h"
#include "harness.h"
#include "landing/etag.h"

namespace hivehook::test {
namespace {

const char* kRetrying = R"(rules:
  - name: flaky
    match: {prefix: t/}
    job: {command: [/bin/false]}
    retries: 2
    backoff: {initial: 10s, max: 1m}
)";

int64_t delay_of_last_retry(PipelineHarness& h) {
  int64_t delay = -1;
  for (const auto& e : h.store->events_after(0, 100000))
    if (e.event == "run.retry_scheduled") delay = e.detail["delay_ms"].get<int64_t>();
  return delay;
}

TEST(Retries, AFailedRunIsRetriedAfterItsBackoffAndNotBefore) {
  PipelineHarness h(kRetrying);
  h.land("t/a.csv");
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  h.runner.finish(0, 1);
  h.drain();
  const int64_t first = delay_of_last_retry(h);
  EXPECT_GE(first, 5000) << "equal jitter: at least half the base";
  EXPECT_LE(first, 10000);
  h.advance(std::chrono::milliseconds(first - 1));
  EXPECT_TRUE(h.runner.jobs().empty()) << "not before its time";
  h.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  EXPECT_EQ(h.runner.jobs()[0].request.attempt, 2);

  h.runner.finish(0, 1);
  h.drain();
  const int64_t second = delay_of_last_retry(h);
  EXPECT_GE(second, 10000) << "the base doubles";
  EXPECT_LE(second, 20000);
  h.advance(std::chrono::milliseconds(second));
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  h.runner.finish(0, 1);  // the third failure: retries exhausted
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::quarantined);
  EXPECT_EQ(h.events("run.failed").size(), 3u);
  EXPECT_EQ(h.events("run.retry_scheduled").size(), 2u);
  EXPECT_TRUE(h.exists(Area::quarantine, "t/a.csv.error.json"));
}

TEST(Retries, ExitCode65IsADataErrorAndNeverRetried) {
  PipelineHarness h(kRetrying);
  h.land("t/a.csv");
  h.runner.finish(0, 65);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::quarantined);
  EXPECT_TRUE(h.events("run.retry_scheduled").empty());
  EXPECT_EQ(h.clock.armed(), 0u) << "no retry timer left behind";
}

TEST(Retries, ASucceedingRetryArchives) {
  PipelineHarness h(kRetrying);
  h.land("t/a.csv");
  h.runner.finish(0, 1);
  h.drain();
  h.advance(std::chrono::minutes(1));
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_TRUE(h.pipeline->idle());
}

TEST(Scheduling, ConcurrencyOneStartsRunsInDiscoveryOrder) {
  PipelineHarness h(R"(rules:
  - name: daily
    match: {prefix: t/}
    job: {command: [/bin/true, "{key}"]}
    concurrency: 1
)");
  h.put("t/day=03/f.csv");
  h.put("t/day=01/f.csv");
  h.put("t/day=02/f.csv");
  h.pipeline->scan(h.config.landing);  // a scan discovers in key order
  h.drain();
  std::vector<std::string> order;
  while (!h.runner.jobs().empty()) {
    EXPECT_EQ(h.runner.jobs().size(), 1u) << "one at a time";
    order.push_back(h.runner.finish().process.argv.back());
    h.drain();
  }
  EXPECT_EQ(order, (std::vector<std::string>{"t/day=01/f.csv", "t/day=02/f.csv", "t/day=03/f.csv"}));
}

TEST(Scheduling, TheJobIsToldItsKeyETagAndAttempt) {
  PipelineHarness h(R"(rules:
  - name: etl
    match: {prefix: t/}
    job: {command: [/bin/true, "{path}", "{table}", "{partition.day}"], env: {MODE: test}}
)");
  h.land("t/day=07/f.csv", "abc");
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  const auto& p = h.runner.jobs()[0].request.process;
  EXPECT_EQ(p.argv[1], (h.dir.path() / "landing/t/day=07/f.csv").string());
  EXPECT_EQ(p.argv[2], "t");
  EXPECT_EQ(p.argv[3], "07");
  EXPECT_EQ(p.env.at("MODE"), "test");
  EXPECT_EQ(p.env.at("HIVEHOOK_ATTEMPT"), "1");
  auto event = nlohmann::json::parse(p.stdin_data);
  EXPECT_EQ(event["Records"][0]["s3"]["object"]["eTag"], "900150983cd24fb0d6963f7d28e17f72");  // md5("abc")
}

TEST(Scheduling, AnObjectTheS3ApiCreatedIsAnnouncedAsItWasCreatedAtEveryAttemptAndAfterARestart) {
  PipelineHarness h(R"(rules:
  - name: etl
    match: {prefix: t/}
    job: {command: [/bin/true]}
    retries: 2
    backoff: {initial: 1s, max: 1s}
)");
  h.put("t/multi.bin", "abc");
  const UploadEvent made{"ObjectCreated:CompleteMultipartUpload", "44425877B7D0A2F9", "aWQtMg=="};
  {
    UniqueFd fd(::open((h.dir.path() / "landing/t/multi.bin").c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(record_etag(fd.get(), "0123456789abcdef0123456789abcdef-2", &made));
  }
  h.pipeline->offer("t/multi.bin");
  h.drain();
  auto told = [&] {
    const auto event = nlohmann::json::parse(h.runner.jobs().at(0).request.process.stdin_data);
    return event["Records"][0];
  };
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  EXPECT_EQ(told()["eventName"], "ObjectCreated:CompleteMultipartUpload");
  EXPECT_EQ(told()["responseElements"]["x-amz-request-id"], "44425877B7D0A2F9");
  EXPECT_EQ(told()["s3"]["object"]["eTag"], "0123456789abcdef0123456789abcdef-2");
  h.runner.finish(0, 1);  // fails: the retry is told the same
  h.drain();
  h.advance(std::chrono::seconds(2));
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  EXPECT_EQ(told()["eventName"], "ObjectCreated:CompleteMultipartUpload");
  EXPECT_EQ(told()["responseElements"]["x-amz-id-2"], "aWQtMg==");
  h.restart();  // killed mid-run: the run started again after recovery is told the same
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  EXPECT_EQ(told()["eventName"], "ObjectCreated:CompleteMultipartUpload");
  EXPECT_EQ(told()["responseElements"]["x-amz-request-id"], "44425877B7D0A2F9");
}

TEST(Scheduling, AFileRewrittenAfterTheApiCreatedItIsAnnouncedAsAPlainPut) {
  PipelineHarness h(R"(rules:
  - name: etl
    match: {prefix: t/}
    job: {command: [/bin/true]}
)");
  h.put("t/x.csv", "abc");
  const UploadEvent made{"ObjectCreated:Copy", "44425877B7D0A2F9", "aWQtMg=="};
  {
    UniqueFd fd(::open((h.dir.path() / "landing/t/x.csv").c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(record_etag(fd.get(), "900150983cd24fb0d6963f7d28e17f72", &made));
  }
  h.put("t/x.csv", "abcd");
  h.land("t/x.csv", "abcd");
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  const auto event = nlohmann::json::parse(h.runner.jobs().at(0).request.process.stdin_data);
  EXPECT_EQ(event["Records"][0]["eventName"], "ObjectCreated:Put");
  EXPECT_NE(event["Records"][0]["responseElements"]["x-amz-request-id"], "44425877B7D0A2F9");
}

}  // namespace
}  // namespace hivehook::test
