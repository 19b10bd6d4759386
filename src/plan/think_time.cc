#include "plan/think_time.h"

#include <fmt/format.h>

#include "core/duration.h"
#include "core/error.h"

namespace spiker::plan {

ThinkTime ThinkTime::parse(std::string_view text, std::string_view where) {
  ThinkTime t;
  if (text.empty()) return t;
  std::string_view kWhat = where;
  if (text.starts_with("exp:")) {
    t.kind_ = Kind::kExponential;
    t.a_ns_ = parse_duration(text.substr(4), kWhat).count();
  } else if (size_t dots = text.find(".."); dots != std::string_view::npos) {
    t.kind_ = Kind::kUniform;
    t.a_ns_ = parse_duration(text.substr(0, dots), kWhat).count();
    t.b_ns_ = parse_duration(text.substr(dots + 2), kWhat).count();
    if (t.b_ns_ < t.a_ns_) {
      throw SetupError(fmt::format("{}: '{}' has its high end below its low end", where, text));
    }
  } else {
    t.kind_ = Kind::kFixed;
    t.a_ns_ = parse_duration(text, kWhat).count();
  }
  if (t.a_ns_ == 0 && t.b_ns_ == 0) t.kind_ = Kind::kNone;
  return t;
}

int64_t ThinkTime::mean_ns() const { return kind_ == Kind::kUniform ? (a_ns_ + b_ns_) / 2 : a_ns_; }

int64_t ThinkTime::sample(std::mt19937_64& rng) const {
  switch (kind_) {
    case Kind::kNone:
      return 0;
    case Kind::kFixed:
      return a_ns_;
    case Kind::kUniform:
      return std::uniform_int_distribution<int64_t>(a_ns_, b_ns_)(rng);
    case Kind::kExponential:
      return static_cast<int64_t>(
          std::exponential_distribution<double>(1.0 / static_cast<double>(a_ns_))(rng));
  }
  return 0;
}

std::string ThinkTime::to_string() const {
  auto d = [](int64_t ns) { return format_duration(std::chrono::nanoseconds(ns)); };
  switch (kind_) {
    case Kind::kNone:
      return "";
    case Kind::kFixed:
      return d(a_ns_);
    case Kind::kUniform:
      return d(a_ns_) + ".." + d(b_ns_);
    case Kind::kExponential:
      return "exp:" + d(a_ns_);
  }
  return "";
}

}  // namespace spiker::plan
