// nlohmann::json with checked access. nlohmann leaves a missing key or index under the const
// operator[] undefined (an assert); here it throws, so a crafted or truncated result file gives
// an error message, never a crash or garbage. Include this, never <nlohmann/json.hpp> itself,
// so that every file sees the same definition.
#pragma once

#include <stdexcept>

namespace spiker::json_detail {
[[noreturn]] inline void missing() {
  throw std::out_of_range("the JSON lacks a key or index it needs");
}
}  // namespace spiker::json_detail

#ifndef JSON_ASSERT
#define JSON_ASSERT(x) ((x) ? static_cast<void>(0) : ::spiker::json_detail::missing())
#endif
#include <nlohmann/json.hpp>
