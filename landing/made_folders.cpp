#include "landing/made_folders.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

namespace hivehook {

bool mark_made_for_upload(int dir_fd) {
  // fsetxattr(2) refuses an O_PATH descriptor (EBADF): the folder is opened through it.
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsetxattr(fd, kMadeForUploadXattr, "1", 1, 0) == 0;
  const int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

namespace {
bool marked(const Tree& landing, const std::string& folder) {
  auto fd = landing.open_dir(folder);
  if (!fd) return false;
  char v[4];
  return ::fgetxattr(fd->get(), kMadeForUploadXattr, v, sizeof v) >= 0;
}
}  // namespace

std::size_t prune_made_folders(const Tree& landing, std::string_view key) {
  std::size_t removed = 0;
  std::string folder(key);
  for (auto slash = folder.rfind('/'); slash != std::string::npos && slash > 0; slash = folder.rfind('/')) {
    folder.resize(slash);
    if (!marked(landing, folder) || !landing.remove_dir(folder).ok()) break;  // ENOTEMPTY: still in use
    ++removed;
  }
  return removed;
}

}  // namespace hivehook
