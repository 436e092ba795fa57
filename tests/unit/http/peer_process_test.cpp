// Telling local clients apart on loopback: sock_diag finds the peer socket, /proc its process.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include "http/peer_process.h"

using namespace hivehook::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Pair {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket client{io}, server{io};
  Pair() {
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
};

TEST(PeerProcess, TheSocketAtTheOtherEndOfALoopbackConnectionIsFoundWithItsOwnerAndProcess) {
  Pair p;
  auto peer = local_peer_socket(p.server.local_endpoint(), p.server.remote_endpoint());
  ASSERT_TRUE(peer.has_value()) << "sock_diag lookup failed";
  struct stat st;
  ASSERT_EQ(::fstat(p.client.native_handle(), &st), 0);
  EXPECT_EQ(peer->inode, st.st_ino);  // the client's socket, not ours
  EXPECT_EQ(peer->uid, ::geteuid());
  SocketOwners owners;
  EXPECT_EQ(owners.owner(peer->inode, peer->uid), ::getpid());
  const ClientId id = identify_client(p.server.local_endpoint(), p.server.remote_endpoint(), owners);
  EXPECT_EQ(id.pid, ::getpid());
  EXPECT_EQ(id.to_string(), "127.0.0.1 (pid " + std::to_string(::getpid()) + ")");
}

TEST(PeerProcess, APeerThatIsNoSocketOfThisMachineIsKnownByItsAddressOnly) {
  Pair p;
  const tcp::endpoint nowhere(asio::ip::make_address("192.0.2.7"), 40000);  // TEST-NET-1
  EXPECT_FALSE(local_peer_socket(p.server.local_endpoint(), nowhere).has_value());
  SocketOwners owners;
  const ClientId id = identify_client(p.server.local_endpoint(), nowhere, owners);
  EXPECT_EQ(id.pid, 0);
  EXPECT_EQ(id.to_string(), "192.0.2.7");
}

TEST(PeerProcess, ASocketNoProcessHoldsHasNoOwnerAndFullScansAreRateLimited) {
  SocketOwners owners("/proc", std::chrono::hours(1));
  EXPECT_EQ(owners.owner(1, ::geteuid()), std::nullopt);  // scans once, finds nothing
  Pair p;
  struct stat st;
  ASSERT_EQ(::fstat(p.client.native_handle(), &st), 0);
  // Within the interval no second full scan: a process not seen yet stays unknown for now.
  EXPECT_EQ(owners.owner(st.st_ino, ::geteuid()), std::nullopt);
  SocketOwners fresh;
  EXPECT_EQ(fresh.owner(st.st_ino, ::geteuid()), ::getpid());
  // Seen once, the process's next socket is found in its own fd table without a full scan.
  Pair q;
  ASSERT_EQ(::fstat(q.client.native_handle(), &st), 0);
  EXPECT_EQ(fresh.owner(st.st_ino, ::geteuid()), ::getpid());
}

}  // namespace
