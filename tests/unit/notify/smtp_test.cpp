// SMTP delivery against a real aiosmtpd server on 127.0.0.1 (plain, STARTTLS, AUTH).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <map>
#include <set>

#include "unit/notify/helper_process.h"
#include "notify/sender.h"
#include "notify/smtp.h"

using namespace hivehook;
using hivehook::test::HelperProcess;
using hivehook::test::TempDir;

namespace {

struct Mail {
  std::vector<std::string> header_lines;  // unfolded
  std::map<std::string, std::string> headers;  // first of each name
  std::vector<std::string> envelope_to;
  std::string envelope_from;
  std::string body;
};

Mail parse_mail(const std::string& raw) {
  Mail m;
  size_t split = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, split);
  m.body = split == std::string::npos ? "" : raw.substr(split + 4);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos <= head.size();) {
    size_t end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !lines.empty())
      lines.back() += line;  // unfold
    else
      lines.push_back(line);
    if (end == std::string::npos) break;
    pos = end + 2;
  }
  for (const auto& l : lines) {
    size_t colon = l.find(':');
    if (colon == std::string::npos) continue;
    std::string name = l.substr(0, colon), value = l.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (name == "X-Envelope-To") m.envelope_to.push_back(value);
    else if (name == "X-Envelope-From") m.envelope_from = value;
    else {
      m.header_lines.push_back(l);
      m.headers.emplace(name, value);
    }
  }
  return m;
}

struct SmtpServer {
  TempDir dir;
  std::filesystem::path out = dir.path() / "mail";
  std::unique_ptr<HelperProcess> proc;
  explicit SmtpServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"/usr/bin/python3", test::support_script("smtp_server.py"), "--out", out.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<HelperProcess>(argv);
  }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(proc->port()); }
  std::vector<Mail> mails() const {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::exists(out))
      for (const auto& e : std::filesystem::directory_iterator(out))
        if (e.path().extension() == ".eml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<Mail> out_mails;
    for (const auto& f : files) out_mails.push_back(parse_mail(test::read_file(f)));
    return out_mails;
  }
  // The server writes the file before it answers 250, so after deliver() it is there; wait anyway.
  Mail only_mail() const {
    EXPECT_TRUE(test::wait_for([&] { return mails().size() == 1; })) << "mail count " << mails().size();
    auto m = mails();
    return m.empty() ? Mail{} : m[0];
  }
};

NotifyTarget smtp(const std::string& url, TlsMode tls = TlsMode::none) {
  NotifyTarget t;
  t.name = "ops-mail";
  SmtpTarget s;
  s.url = url;
  s.tls = tls;
  s.from = "hivehook@example.com";
  s.to = {"ops@example.com", "Data Team <data@example.com>", "oncall@example.org"};
  t.kind = s;
  t.timeout = std::chrono::seconds(5);
  return t;
}

Notification sample(const std::string& key = "transactions/year=2023/month=03/day=15/t.csv",
                    const std::string& event = "object.failed") {
  Notification n;
  n.delivery_id = "d-77";
  n.event = event;
  n.body = {{"event", event},
            {"delivery_id", "d-77"},
            {"time", "2023-03-15T13:45:12.345Z"},
            {"rule", "transactions-etl"},
            {"bucket", "landing"},
            {"key", key},
            {"run_id", "r-9"},
            {"attempts", 3},
            {"duration_ms", 1234},
            {"exit_code", 65},
            {"error", "bad input"},
            {"result", {{"rows", 12}, {"rejects", 2}}},
            {"destination", "quarantine/" + key}};
  return n;
}

std::string b64decode(const std::string& in) {
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) ++pad;  // decoded as zero bytes
  out.resize(n > static_cast<int>(pad) ? n - pad : 0);
  return out;
}

// Decodes a header made of "=?UTF-8?B?...?=" words (the folding whitespace between them dropped).
std::string decode_words(std::string v) {
  std::string out;
  size_t pos = 0;
  while ((pos = v.find("=?UTF-8?B?", pos)) != std::string::npos) {
    size_t end = v.find("?=", pos + 10);
    out += b64decode(v.substr(pos + 10, end - pos - 10));
    pos = end + 2;
  }
  return out;
}

}  // namespace

TEST(Smtp, PlainMailToSeveralRecipients) {
  SmtpServer server;
  DeliveryAttempt a = deliver(smtp(server.url()), sample());
  EXPECT_TRUE(a.delivered) << a.detail;
  EXPECT_EQ(a.status, 250);
  Mail m = server.only_mail();
  EXPECT_EQ(m.envelope_from, "hivehook@example.com");
  EXPECT_EQ(m.envelope_to, (std::vector<std::string>{"ops@example.com", "data@example.com", "oncall@example.org"}));
  EXPECT_EQ(m.headers["Subject"], "[hivehook] FAILED transactions-etl: transactions/year=2023/month=03/day=15/t.csv");
  EXPECT_EQ(m.headers["From"], "hivehook@example.com");
  EXPECT_NE(m.headers["To"].find("ops@example.com"), std::string::npos);
  EXPECT_NE(m.headers["To"].find("Data Team <data@example.com>"), std::string::npos);
  EXPECT_NE(m.headers["To"].find("oncall@example.org"), std::string::npos);
  EXPECT_EQ(m.headers["Message-ID"], "<d-77@hivehook>");
  EXPECT_EQ(m.headers["MIME-Version"], "1.0");
  EXPECT_EQ(m.headers["Content-Type"], "text/plain; charset=UTF-8");
  EXPECT_EQ(m.headers["X-Hivehook-Delivery"], "d-77");
  // "Sat, 21 Nov 2026 23:45:04 +0000"
  const std::string& date = m.headers["Date"];
  EXPECT_EQ(date.size(), 31u) << date;
  EXPECT_EQ(date.substr(3, 2), ", ") << date;
  EXPECT_EQ(date.substr(date.size() - 6), " +0000") << date;
  for (const char* fact : {"event: object.failed\r\n", "rule: transactions-etl\r\n", "bucket: landing\r\n",
                           "key: transactions/year=2023/month=03/day=15/t.csv\r\n", "run_id: r-9\r\n",
                           "attempts: 3\r\n", "duration_ms: 1234\r\n", "exit_code: 65\r\n", "error: bad input\r\n",
                           "destination: quarantine/transactions/", "result:\r\n{\r\n  \"rejects\": 2,\r\n  \"rows\": 12\r\n}"})
    EXPECT_NE(m.body.find(fact), std::string::npos) << "missing " << fact << " in\n" << m.body;
}

TEST(Smtp, SucceededSubject) {
  SmtpServer server;
  EXPECT_TRUE(deliver(smtp(server.url()), sample("sales/a.csv", "object.succeeded")).delivered);
  EXPECT_EQ(server.only_mail().headers["Subject"], "[hivehook] SUCCEEDED transactions-etl: sales/a.csv");
}

TEST(Smtp, NonAsciiSubjectIsEncodedWords) {
  SmtpServer server;
  std::string key = "données/année=2023/été-€-日本語-" + std::string(40, 'x') + ".csv";
  EXPECT_TRUE(deliver(smtp(server.url()), sample(key)).delivered);
  Mail m = server.only_mail();
  const std::string& subject = m.headers["Subject"];
  EXPECT_EQ(subject.rfind("=?UTF-8?B?", 0), 0u) << subject;
  for (unsigned char c : subject) EXPECT_LT(c, 0x80);  // the header itself is ASCII
  EXPECT_EQ(decode_words(subject), "[hivehook] FAILED transactions-etl: " + key);
  EXPECT_NE(m.body.find("key: " + key), std::string::npos);  // 8bit UTF-8 body
}

TEST(Smtp, CrLfInKeyDoesNotInjectHeaders) {
  SmtpServer server;
  auto n = sample("evil\r\nBcc: victim@example.net\r\nX-Injected: yes\r\n\r\nfake body");
  n.body["rule"] = "r\nX-Rule-Injected: 1";
  n.delivery_id = "d-1\r\nX-Id-Injected: 1";
  n.event = "object.failed\r\nX-Event-Injected: 1";
  EXPECT_TRUE(deliver(smtp(server.url()), n).delivered);
  Mail m = server.only_mail();
  static const std::set<std::string> allowed{"Date", "From", "To", "Subject", "Message-ID", "MIME-Version",
                                            "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted",
                                            "X-Hivehook-Event", "X-Hivehook-Delivery"};
  for (const auto& line : m.header_lines) EXPECT_TRUE(allowed.count(line.substr(0, line.find(':')))) << line;
  EXPECT_EQ(m.header_lines.size(), allowed.size());
  EXPECT_EQ(m.headers.count("X-Injected"), 0u);
  EXPECT_EQ(m.headers.count("X-Rule-Injected"), 0u);
  EXPECT_EQ(m.headers.count("X-Id-Injected"), 0u);
  EXPECT_EQ(m.headers.count("X-Event-Injected"), 0u);
  EXPECT_EQ(m.envelope_to.size(), 3u);
  EXPECT_NE(m.headers["Subject"].find("evil  Bcc: victim@example.net"), std::string::npos) << m.headers["Subject"];
}

TEST(Smtp, StartTlsWithTestCertificate) {
  TempDir certs;
  ASSERT_EQ(std::system(("/bin/bash " + test::support_script("make_test_cert.sh") + " " + certs.path().string()).c_str()), 0);
  std::string cert = (certs.path() / "cert.pem").string(), key = (certs.path() / "key.pem").string();
  SmtpServer server({"--starttls", cert, key});

  // Without trusting the test certificate, verification fails: TLS is really checked.
  unsetenv(notify_detail::kSmtpCaInfoEnv);
  DeliveryAttempt untrusted = deliver(smtp(server.url(), TlsMode::starttls), sample());
  EXPECT_FALSE(untrusted.delivered);
  EXPECT_FALSE(untrusted.detail.empty());

  // A plain client is refused by a server that requires STARTTLS.
  DeliveryAttempt plain = deliver(smtp(server.url(), TlsMode::none), sample());
  EXPECT_FALSE(plain.delivered);

  setenv(notify_detail::kSmtpCaInfoEnv, cert.c_str(), 1);
  DeliveryAttempt a = deliver(smtp(server.url(), TlsMode::starttls), sample());
  unsetenv(notify_detail::kSmtpCaInfoEnv);
  EXPECT_TRUE(a.delivered) << a.detail;
  Mail m = server.only_mail();
  EXPECT_EQ(m.envelope_to.size(), 3u);
}

TEST(Smtp, AuthWithUsernameAndPassword) {
  SmtpServer server({"--auth", "mailer:pa55-w0rd"});
  auto target = smtp(server.url());
  auto& s = std::get<SmtpTarget>(target.kind);
  s.username = "mailer";
  s.password = "wrong-pa55";
  DeliveryAttempt bad = deliver(target, sample());
  EXPECT_FALSE(bad.delivered);
  EXPECT_EQ(bad.detail.find("wrong-pa55"), std::string::npos) << bad.detail;
  EXPECT_TRUE(server.mails().empty());

  s.password = "pa55-w0rd";
  DeliveryAttempt good = deliver(target, sample());
  EXPECT_TRUE(good.delivered) << good.detail;
  EXPECT_EQ(good.detail.find("pa55-w0rd"), std::string::npos);
  server.only_mail();

  // Without credentials the server refuses the mail.
  s.username.clear();
  s.password.clear();
  EXPECT_FALSE(deliver(target, sample()).delivered);
}

TEST(Smtp, ConnectionRefusedIsNotDelivered) {
  auto target = smtp("smtp://127.0.0.1:" + std::to_string(test::refused_port()));
  std::get<SmtpTarget>(target.kind).password = "hunter22";
  std::get<SmtpTarget>(target.kind).username = "u";
  DeliveryAttempt a = deliver(target, sample());
  EXPECT_FALSE(a.delivered);
  EXPECT_FALSE(a.give_up);
  EXPECT_NE(a.detail.find("Couldn't connect"), std::string::npos) << a.detail;
  EXPECT_EQ(a.detail.find("hunter22"), std::string::npos);
}
