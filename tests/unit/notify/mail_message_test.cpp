// The SMTP message composer: pure functions, no server.
#include <gtest/gtest.h>

#include "notify/mail_message.h"
#include "notify/smtp.h"

using namespace hivehook;
using namespace hivehook::notify_detail;

TEST(MailMessage, DateIsRfc5322InUtc) {
  auto t = *parse_rfc3339("2023-03-05T07:08:09Z");
  EXPECT_EQ(rfc5322_date(t), "Sun, 05 Mar 2023 07:08:09 +0000");
}

TEST(MailMessage, EnvelopeAddress) {
  EXPECT_EQ(envelope_address("ops@example.com"), "<ops@example.com>");
  EXPECT_EQ(envelope_address("Data Team <data@example.com>"), "<data@example.com>");
  EXPECT_EQ(envelope_address(" <x@y> "), "<x@y>");
}

TEST(MailMessage, AsciiHeaderTextStaysReadable) {
  EXPECT_EQ(encode_header_text("[hivehook] FAILED r: a/b.csv"), "[hivehook] FAILED r: a/b.csv");
  // Something that looks like an encoded word is encoded, so it is not decoded by mistake.
  EXPECT_EQ(encode_header_text("=?x?=").rfind("=?UTF-8?B?", 0), 0u);
}

TEST(MailMessage, EncodedWordsAreShortAndNeverSplitACharacter) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "é€日";  // 2-, 3- and 3-byte characters
  std::string enc = encode_header_text(text);
  size_t pos = 0, words = 0;
  while (pos < enc.size()) {
    size_t end = enc.find("\r\n ", pos);
    std::string word = enc.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u);
    EXPECT_EQ(word.substr(word.size() - 2), "?=");
    ++words;
    if (end == std::string::npos) break;
    pos = end + 3;
  }
  EXPECT_GT(words, 5u);
}

TEST(MailMessage, QuotedPrintableWrapsAndEscapes) {
  std::string line(200, 'a');
  std::string qp = quoted_printable(line + "=\xc3\xa9 \r\nnext\r\n");
  size_t pos = 0;
  while (pos < qp.size()) {
    size_t end = qp.find("\r\n", pos);
    EXPECT_LE(end - pos, 76u);
    pos = end + 2;
  }
  EXPECT_NE(qp.find("=3D=C3=A9=20\r\nnext\r\n"), std::string::npos) << qp;
}

TEST(MailMessage, VeryLongLinesSwitchToQuotedPrintable) {
  SmtpTarget t;
  t.from = "h@example.com";
  t.to = {"a@example.com"};
  Notification n;
  n.delivery_id = "id";
  n.event = "object.failed";
  n.body = {{"rule", "r"}, {"key", "k"}, {"error", std::string(3000, 'e')}};
  std::string m = compose_mail(t, n, std::chrono::system_clock::now());
  EXPECT_NE(m.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  for (size_t pos = 0; pos < m.size();) {
    size_t end = m.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - pos, 998u);
    pos = end + 2;
  }
  n.body["error"] = "short";
  EXPECT_NE(compose_mail(t, n, std::chrono::system_clock::now()).find("Content-Transfer-Encoding: 8bit\r\n"),
            std::string::npos);
}

TEST(MailMessage, EveryLineEndsWithCrLf) {
  SmtpTarget t;
  t.from = "h@example.com";
  t.to = {"a@example.com", "b@example.com"};
  Notification n;
  n.delivery_id = "id";
  n.event = "object.succeeded";
  n.body = {{"rule", "r"}, {"key", "k"}, {"error", "line1\nline2\rline3\r\nline4"}, {"result", {{"a", 1}}}};
  std::string m = compose_mail(t, n, std::chrono::system_clock::now());
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      EXPECT_TRUE(i > 0 && m[i - 1] == '\r') << "bare LF at " << i;
    }
    if (m[i] == '\r') {
      EXPECT_TRUE(i + 1 < m.size() && m[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  EXPECT_NE(m.find("To: a@example.com, b@example.com\r\n"), std::string::npos);
  EXPECT_NE(m.find("Subject: [hivehook] SUCCEEDED r: k\r\n"), std::string::npos);
}

TEST(MailMessage, TlsModeSelectsTheUrlScheme) {
  SmtpTarget t;
  t.url = "smtp://127.0.0.1:2525";
  t.tls = TlsMode::tls;
  EXPECT_EQ(smtp_curl_url(t), "smtps://127.0.0.1:2525");
  t.tls = TlsMode::starttls;
  EXPECT_EQ(smtp_curl_url(t), "smtp://127.0.0.1:2525");
}

// Gap of issue 14: the mail of a late partition said "LATE r: -" (an alert has no key), and its
// resolution ("ARRIVED r: <the file>") shared neither subject nor thread with it.
TEST(MailMessage, AnExpectationsMailsShareTheirSubjectAndTheResolutionAnswersTheLateMail) {
  SmtpTarget t;
  t.from = "h@example.com";
  t.to = {"a@example.com"};
  Notification late;
  late.delivery_id = "late-1";
  late.event = "expect.late";
  late.body = {{"event", "expect.late"}, {"rule", "tx"}, {"key", nullptr}, {"partition", "year=2024/month=01/day=01"}};
  EXPECT_EQ(mail_subject(late), "[hivehook] LATE tx: year=2024/month=01/day=01");
  std::string m = compose_mail(t, late, std::chrono::system_clock::now());
  EXPECT_EQ(m.find("In-Reply-To:"), std::string::npos) << "the alert itself answers nothing";

  Notification cleared = late;
  cleared.delivery_id = "cleared-1";
  cleared.event = "expect.cleared";
  cleared.body["event"] = "expect.cleared";
  cleared.body["late_delivery_id"] = "late-1";
  EXPECT_EQ(mail_subject(cleared), "[hivehook] CLEARED tx: year=2024/month=01/day=01");
  m = compose_mail(t, cleared, std::chrono::system_clock::now());
  EXPECT_NE(m.find("In-Reply-To: <late-1@hivehook>\r\nReferences: <late-1@hivehook>\r\n"), std::string::npos) << m;

  Notification arrived = cleared;
  arrived.body["event"] = "expect.arrived";
  arrived.body["key"] = "tx/year=2024/month=01/day=01/t.csv";
  EXPECT_EQ(mail_subject(arrived), "[hivehook] ARRIVED tx: year=2024/month=01/day=01");
  EXPECT_NE(mail_body_text(arrived).find("key: tx/year=2024/month=01/day=01/t.csv\n"), std::string::npos);
}
