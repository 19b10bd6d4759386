#include "core/mapped_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace spiker {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path, std::string_view what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw SetupError(fmt::format("{}: cannot read '{}': {}", what, path, std::strerror(errno)));
  }
  struct stat st {};
  std::shared_ptr<MappedFile> f(new MappedFile());
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {  // a pipe: read whole
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        throw SetupError(fmt::format("{}: cannot read '{}': {}", what, path, std::strerror(err)));
      }
      if (n == 0) break;
      f->read_.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    f->data_ = f->read_.data();
    f->size_ = f->read_.size();
    return f;
  }
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw SetupError(fmt::format("{}: cannot map '{}': {}", what, path, std::strerror(err)));
    }
    f->data_ = static_cast<const char*>(p);
    f->size_ = static_cast<size_t>(st.st_size);
    f->mapped_ = true;
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace spiker
