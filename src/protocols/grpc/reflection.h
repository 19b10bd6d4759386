// Server reflection: the serialized FileDescriptorProtos that define `service` and what it
// imports, asked of the server before the run (grpc:// only: one blocking h2c connection).
// Throws SetupError naming `where`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/url.h"

namespace spiker::grpc {

std::vector<std::string> reflect(const Url& url, std::string_view service, int timeout_ms,
                                 const std::string& where);

}  // namespace spiker::grpc
