// A file mapped read-only into memory for the whole run: a large request body is sent from the
// page cache as it is, never copied per request or per connection. A file that cannot be mapped
// (a pipe, /dev/stdin) is read whole instead. Truncating a mapped file during the run is not
// supported (reads past its new end fault).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace spiker {

class MappedFile {
 public:
  // Maps `path`; throws SetupError naming `what` (a flag) when it cannot be read.
  static std::shared_ptr<const MappedFile> open(const std::string& path, std::string_view what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const noexcept { return {data_, size_}; }

 private:
  MappedFile() = default;
  const char* data_ = "";  // "" for an empty file (nothing mapped)
  size_t size_ = 0;
  bool mapped_ = false;
  std::string read_;  // what a file that is not mapped held
};

}  // namespace spiker
