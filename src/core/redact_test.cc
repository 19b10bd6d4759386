#include "core/redact.h"

#include <gtest/gtest.h>

using spiker::redact_url;
using spiker::redact_urls_in;

TEST(Redact, UserInfoAndSecretQueryValues) {
  EXPECT_EQ(redact_url("postgres://app:pw@db:5432/x"), "postgres://<redacted>@db:5432/x");
  EXPECT_EQ(redact_url("http://h/p?api_key=k1&page=2"), "http://h/p?api_key=<redacted>&page=2");
  EXPECT_EQ(redact_url("http://h:8080/users/a@b.example"), "http://h:8080/users/a@b.example");
}

// A password with an unencoded '/', '?' or '#' ends the authority early: the audit found such
// URLs printed whole in errors.
TEST(Redact, PasswordsWithDelimiters) {
  for (const char* url : {"postgres://app:pa/ss99@db/x", "mysql://app:pa?ss99@db/x",
                          "redis://:pa#ss99@db:6379", "https://u:pa/ss99@h/p"}) {
    std::string out = redact_url(url);
    EXPECT_EQ(out.find("ss99"), std::string::npos) << url << " -> " << out;
    EXPECT_NE(out.find("<redacted>@"), std::string::npos) << out;
  }
}

TEST(Redact, UrlsInALineOfAFile) {
  size_t col = 4;  // before the URL: unmoved
  EXPECT_EQ(redact_urls_in(R"(    url = "postgres://app:pw@db/x"  # ok)", &col),
            R"(    url = "postgres://<redacted>@db/x"  # ok)");
  EXPECT_EQ(col, 4u);
  std::string line = R"(a = "amqp://u:secret@h/" b)";
  col = line.find(" b");  // after it: moved by the change in length
  std::string out = redact_urls_in(line, &col);
  EXPECT_EQ(out.substr(col), " b");
  col = 0;
  EXPECT_EQ(redact_urls_in("no url here", &col), "no url here");
}
