// gRPC messages at run time: services and message types from .proto files (libprotobuf's
// Importer) or from the descriptors a server hands out by reflection, and JSON <-> protobuf
// binary for a method's request and reply. libprotobuf stays inside schema.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spiker::grpc {

// A method as a call needs it.
struct Method {
  std::string path;  // "/pkg.Service/Method"
  std::string input_type, output_type;
  bool client_streaming = false;
  bool server_streaming = false;
};

class Schema {
 public:
  ~Schema();
  // Parses `files` (found in `import_paths`, then beside each file); throws SetupError naming
  // `where` with protoc's messages.
  static std::shared_ptr<Schema> from_files(const std::vector<std::string>& files,
                                            const std::vector<std::string>& import_paths,
                                            const std::string& where);
  // Serialized FileDescriptorProtos (server reflection); well-known types come from the
  // library. Throws SetupError naming `where`.
  static std::shared_ptr<Schema> from_descriptors(const std::vector<std::string>& files,
                                                  const std::string& where);
  // "pkg.Service/Method" (or "pkg.Service.Method", with or without a leading /); throws
  // SetupError naming `where` and listing the services known.
  Method method(std::string_view call, const std::string& where) const;
  // A message of `type` from JSON text (proto3 JSON mapping) to binary; false with `error`.
  bool encode(const std::string& type, std::string_view json, std::string* out,
              std::string* error) const;
  // Binary to JSON (field names as in JSON, defaults left out); false with `error`.
  bool decode(const std::string& type, std::string_view binary, std::string* out,
              std::string* error) const;

 private:
  struct Impl;
  explicit Schema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace spiker::grpc
