// Which client a TCP connection is, for the connection budget: its address, and when the other end
// is a socket on this machine (a loopback connection; every local client shares 127.0.0.1), the
// process holding that socket, so one local process cannot take the budget of the others.
//
// The peer socket is found with the kernel's sock_diag netlink interface (sock_diag(7): an exact
// 4-tuple lookup of a TCP socket gives its owner's uid and its inode); the process holding that
// inode by its /proc/<pid>/fd links (proc(5), "socket:[inode]"). A process whose fds cannot be
// read (another user's, when the daemon is not root) is told apart by its uid only.
#pragma once

#include <sys/types.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hivehook::http {

// A client of the connection budget. uid/pid are set for a peer on this machine (pid 0: its
// process could not be found, uid -1: not a local socket or sock_diag unavailable).
struct ClientId {
  boost::asio::ip::address address;
  uid_t uid = static_cast<uid_t>(-1);
  pid_t pid = 0;

  bool operator<(const ClientId& o) const;
  bool operator==(const ClientId& o) const;
  // "127.0.0.1", "127.0.0.1 (pid 4242)", "127.0.0.1 (uid 1000)": for log lines and 503 messages.
  std::string to_string() const;
};

// The owner (uid) and inode of the TCP socket at the other end of a connection whose ends are
// `local` (ours) and `remote`, when that socket is on this machine (in this network namespace);
// nullopt for a remote peer, or when sock_diag cannot be asked.
struct PeerSocket {
  uid_t uid = 0;
  std::uint64_t inode = 0;
};
std::optional<PeerSocket> local_peer_socket(const boost::asio::ip::tcp::endpoint& local,
                                            const boost::asio::ip::tcp::endpoint& remote);

// Finds the process holding a socket inode by reading /proc/<pid>/fd, remembering what it read:
// the processes found recently are looked at first (a client opening its next connection costs
// one read of its own fd table), a read of every process happens at most once per
// `full_scan_interval`. Thread-safe.
class SocketOwners {
 public:
  explicit SocketOwners(std::string proc_root = "/proc",
                        std::chrono::milliseconds full_scan_interval = std::chrono::milliseconds(100));
  // The pid (thread group id) holding socket `inode`, owned by `uid`; nullopt when it cannot be
  // found (gone, unreadable, or a full scan was done too recently).
  std::optional<pid_t> owner(std::uint64_t inode, uid_t uid);

 private:
  bool scan_process(pid_t pid, std::uint64_t wanted);  // true when `wanted` is among its sockets
  std::string proc_root_;
  std::chrono::milliseconds full_scan_interval_;
  std::mutex mu_;
  std::unordered_map<std::uint64_t, pid_t> known_;  // socket inode -> pid, as last read
  std::vector<pid_t> recent_;                        // pids found lately, newest last
  std::chrono::steady_clock::time_point last_full_{};
};

// The ClientId of a connection: `remote`'s address, plus uid and pid when the peer socket is on
// this machine (`owners` finds the pid).
ClientId identify_client(const boost::asio::ip::tcp::endpoint& local, const boost::asio::ip::tcp::endpoint& remote,
                         SocketOwners& owners);

}  // namespace hivehook::http
