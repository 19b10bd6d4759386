#include "plan/cookie_jar.h"

#include <gtest/gtest.h>

namespace spiker::plan {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15, Unix ms

std::string header(const std::vector<Cookie>& jar, std::string_view host, std::string_view path,
                   bool tls = false, int64_t now = kNow) {
  std::string value = cookie_header(jar, host, tls, path, now);
  return value.empty() ? "" : "Cookie: " + value + "\r\n";
}

TEST(CookieJar, SendsBackWhatMatchesHostAndPath) {
  std::vector<Cookie> jar;
  store_cookie(jar, "session=abc; Path=/; HttpOnly", "shop.test", kNow);
  store_cookie(jar, "cart=1; Path=/cart", "shop.test", kNow);
  EXPECT_EQ(header(jar, "shop.test", "/"), "Cookie: session=abc\r\n");
  EXPECT_EQ(header(jar, "shop.test", "/cart/items?x=1"), "Cookie: session=abc; cart=1\r\n");
  EXPECT_EQ(header(jar, "shop.test", "/cartoon"), "Cookie: session=abc\r\n");
  EXPECT_EQ(header(jar, "other.test", "/"), "");
  EXPECT_EQ(header(jar, "api.shop.test", "/"), "");  // host-only without Domain
}

TEST(CookieJar, DomainCoversSubdomainsButNotOtherSites) {
  std::vector<Cookie> jar;
  store_cookie(jar, "a=1; Domain=.shop.test", "www.shop.test", kNow);
  store_cookie(jar, "evil=1; Domain=bank.test", "www.shop.test", kNow);  // refused
  EXPECT_EQ(header(jar, "api.shop.test", "/"), "Cookie: a=1\r\n");
  EXPECT_EQ(header(jar, "shop.test", "/"), "Cookie: a=1\r\n");
  EXPECT_EQ(header(jar, "bank.test", "/"), "");
  EXPECT_EQ(header(jar, "notshop.test", "/"), "");
}

TEST(CookieJar, ExpiresMaxAgeAndReplacement) {
  std::vector<Cookie> jar;
  store_cookie(jar, "t=1; Max-Age=60", "h", kNow);
  EXPECT_EQ(header(jar, "h", "/", false, kNow + 59'000), "Cookie: t=1\r\n");
  EXPECT_EQ(header(jar, "h", "/", false, kNow + 61'000), "");
  store_cookie(jar, "t=2", "h", kNow);  // same name, domain, path: replaced
  EXPECT_EQ(header(jar, "h", "/"), "Cookie: t=2\r\n");
  store_cookie(jar, "t=gone; Max-Age=0", "h", kNow);  // deleted
  EXPECT_EQ(header(jar, "h", "/"), "");
  store_cookie(jar, "old=1; Expires=Thu, 01 Jan 2015 00:00:00 GMT", "h", kNow);
  EXPECT_EQ(header(jar, "h", "/"), "");
  store_cookie(jar, "later=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT", "h", kNow);
  EXPECT_EQ(header(jar, "h", "/"), "Cookie: later=1\r\n");
  EXPECT_EQ(jar.size(), 1u);
}

TEST(CookieJar, SecureCookiesGoOverTlsOnly) {
  std::vector<Cookie> jar;
  store_cookie(jar, "s=1; Secure; Path=/", "h", kNow);
  EXPECT_EQ(header(jar, "h", "/", false), "");
  EXPECT_EQ(header(jar, "h", "/", true), "Cookie: s=1\r\n");
  store_cookie(jar, "=novalue", "h", kNow);  // malformed: ignored
  store_cookie(jar, "junk", "h", kNow);
  EXPECT_EQ(jar.size(), 1u);
}

}  // namespace
}  // namespace spiker::plan
