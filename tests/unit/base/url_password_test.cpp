// base/url_password: the one reading of a URL's password, for masking (notify targets, a
// postgresql:// state URL).
#include "base/url_password.h"

#include <gtest/gtest.h>

namespace hivehook {

TEST(UrlPassword, UserinfoOrLibpqsQueryParameterPercentDecoded) {
  EXPECT_EQ(url_password("postgresql://etl:p%40ss-word@db:5432/hh"), "p@ss-word");
  EXPECT_EQ(url_password("smtp://mailer:pa55-w0rd@127.0.0.1:25"), "pa55-w0rd");
  EXPECT_EQ(url_password("postgres://db/hh?user=etl&password=q-secret&sslmode=require"), "q-secret");
  EXPECT_EQ(url_password("postgresql://etl@db/hh"), "");
  EXPECT_EQ(url_password("https://hooks.example/x?q=1"), "");
  EXPECT_EQ(url_password("not a url"), "");
}

TEST(UrlPassword, F2TheBasicCredentialsAClientSendsForAUrlsUserinfo) {
  // Issue 10 retest 3, F2: what "Authorization: Basic ..." carries for the URL, percent-decoded first.
  EXPECT_EQ(url_basic_credentials("http://hookuser:bpas-Uu66dd78yzR@127.0.0.1:1/h"), "aG9va3VzZXI6YnBhcy1VdTY2ZGQ3OHl6Ug==");
  EXPECT_EQ(url_basic_credentials("https://u%40x:p%2Fq@h/"), "dUB4OnAvcQ==");  // "u@x:p/q"
  EXPECT_EQ(url_basic_credentials("https://user@h/"), "");
  EXPECT_EQ(url_basic_credentials("https://h/?password=x"), "");
  EXPECT_EQ(url_basic_credentials("not a url"), "");
}

}  // namespace hivehook
