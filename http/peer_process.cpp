#include "http/peer_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "base/unique_fd.h"

namespace hivehook::http {

namespace asio = boost::asio;

bool ClientId::operator<(const ClientId& o) const {
  return std::tie(address, uid, pid) < std::tie(o.address, o.uid, o.pid);
}

bool ClientId::operator==(const ClientId& o) const { return address == o.address && uid == o.uid && pid == o.pid; }

std::string ClientId::to_string() const {
  std::string s = address.to_string();
  if (pid > 0) return s + " (pid " + std::to_string(pid) + ")";
  if (uid != static_cast<uid_t>(-1)) return s + " (uid " + std::to_string(uid) + ")";
  return s;
}

namespace {

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

void put_address(const asio::ip::address& a, __be32 out[4]) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::memcpy(out, b.data(), b.size());
  } else {
    const auto b = a.to_v6().to_bytes();
    std::memcpy(out, b.data(), b.size());
  }
}

// Decimal pid of a /proc entry name, or 0.
pid_t pid_of(const char* name) {
  if (*name < '1' || *name > '9') return 0;
  char* end = nullptr;
  const long v = std::strtol(name, &end, 10);
  return *end == '\0' && v > 0 ? static_cast<pid_t>(v) : 0;
}

// The inode of a "socket:[N]" link, or 0.
std::uint64_t socket_inode(const char* link, ssize_t n) {
  static constexpr char kPrefix[] = "socket:[";
  constexpr ssize_t k = sizeof kPrefix - 1;
  if (n <= k + 1 || std::memcmp(link, kPrefix, k) != 0 || link[n - 1] != ']') return 0;
  std::uint64_t v = 0;
  for (ssize_t i = k; i < n - 1; ++i) {
    if (link[i] < '0' || link[i] > '9') return 0;
    v = v * 10 + static_cast<std::uint64_t>(link[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<PeerSocket> local_peer_socket(const asio::ip::tcp::endpoint& local, const asio::ip::tcp::endpoint& remote) {
  const asio::ip::address la = unmapped(local.address()), ra = unmapped(remote.address());
  if (la.is_v4() != ra.is_v4()) return std::nullopt;
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd) return std::nullopt;
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.req.sdiag_family = ra.is_v4() ? AF_INET : AF_INET6;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = ~0U;
  // The peer's socket: its own end is `remote`, its other end `local` (sock_diag(7)).
  msg.req.id.idiag_sport = htons(remote.port());
  msg.req.id.idiag_dport = htons(local.port());
  put_address(ra, msg.req.id.idiag_src);
  put_address(la, msg.req.id.idiag_dst);
  msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return std::nullopt;
  alignas(nlmsghdr) char buf[8192];
  // The kernel answers a single-socket request while handling the send: the reply is queued.
  const ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < static_cast<ssize_t>(sizeof(nlmsghdr))) return std::nullopt;
  const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
  if (!NLMSG_OK(h, static_cast<int>(n)) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg)))
    return std::nullopt;  // NLMSG_ERROR (ENOENT): not a socket of this machine
  const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
  if (m->idiag_inode == 0) return std::nullopt;
  return PeerSocket{static_cast<uid_t>(m->idiag_uid), m->idiag_inode};
}

SocketOwners::SocketOwners(std::string proc_root, std::chrono::milliseconds full_scan_interval)
    : proc_root_(std::move(proc_root)), full_scan_interval_(full_scan_interval) {}

bool SocketOwners::scan_process(pid_t pid, std::uint64_t wanted) {
  const std::string dir = proc_root_ + "/" + std::to_string(pid) + "/fd";
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return false;
  DIR* d = ::fdopendir(dfd.get());
  if (!d) return false;
  dfd.release();
  bool found = false;
  char link[64];
  if (known_.size() > (1U << 16)) known_.clear();
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const ssize_t n = ::readlinkat(::dirfd(d), e->d_name, link, sizeof link);
    if (n <= 0) continue;
    if (const std::uint64_t ino = socket_inode(link, n)) {
      known_[ino] = pid;
      found = found || ino == wanted;
    }
  }
  ::closedir(d);
  return found;
}

std::optional<pid_t> SocketOwners::owner(std::uint64_t inode, uid_t uid) {
  std::lock_guard lock(mu_);
  auto remember = [&](pid_t pid) {
    recent_.erase(std::remove(recent_.begin(), recent_.end(), pid), recent_.end());
    recent_.push_back(pid);
    if (recent_.size() > 32) recent_.erase(recent_.begin());
    return pid;
  };
  if (auto it = known_.find(inode); it != known_.end()) return remember(it->second);
  // A client opening another connection: its own fd table first.
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it)
    if (scan_process(*it, inode)) return remember(*it);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_full_ < full_scan_interval_) return std::nullopt;
  last_full_ = now;
  known_.clear();
  DIR* d = ::opendir(proc_root_.c_str());
  if (!d) return std::nullopt;
  std::optional<pid_t> found;
  while (dirent* e = ::readdir(d)) {
    const pid_t pid = pid_of(e->d_name);
    if (pid == 0) continue;
    struct stat st;
    // The socket's owner is its process's uid: skip other users' processes without reading them.
    if (::fstatat(::dirfd(d), e->d_name, &st, 0) != 0 || st.st_uid != uid) continue;
    if (scan_process(pid, inode) && !found) found = pid;
  }
  ::closedir(d);
  if (found) return remember(*found);
  return std::nullopt;
}

ClientId identify_client(const asio::ip::tcp::endpoint& local, const asio::ip::tcp::endpoint& remote,
                         SocketOwners& owners) {
  ClientId id{unmapped(remote.address())};
  auto peer = local_peer_socket(local, remote);
  if (!peer) return id;
  id.uid = peer->uid;
  if (auto pid = owners.owner(peer->inode, peer->uid)) id.pid = *pid;
  return id;
}

}  // namespace hivehook::http
