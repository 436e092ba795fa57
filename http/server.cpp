#include "http/server.h"

#include <algorithm>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "http/connection.h"
#include "base/host_port.h"

namespace hivehook::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

void accept_next(const std::shared_ptr<Server::State>& st, asio::io_context& io);

// Whose connections may give way to a new one: anyone's, the same client's, or the same local user's.
enum class Among { anyone, client, user };

bool among(Among who, const ClientId& c, const ClientId& client) {
  switch (who) {
    case Among::anyone: return true;
    case Among::client: return c == client;
    case Among::user: return c.uid == client.uid;
  }
  return false;
}

// Closes the connection (among `who`) that has waited longest for a request head, or (`streams`)
// the one whose open-ended response started longest ago. False when there is no such connection.
bool evict_longest(const std::shared_ptr<Server::State>& st, Among who, const ClientId& client, bool streams) {
  std::vector<std::pair<std::int64_t, std::shared_ptr<Connection>>> candidates;  // (since, connection)
  {
    std::lock_guard lock(st->mu);
    for (auto& [_, weak] : st->live)
      if (auto c = weak.lock(); c && among(who, c->client(), client))
        if (const std::int64_t since = streams ? c->streaming_since() : c->waiting_since(); since != 0)
          candidates.emplace_back(since, std::move(c));
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [since, c] : candidates)
    if (streams ? c->evict_stream(since) : c->evict(since)) return true;  // else it moved on meanwhile: the next
  return false;
}

bool make_room(const std::shared_ptr<Server::State>& st, Among who, const ClientId& client) {
  if (!st->options.evict_waiting_when_full) return false;
  if (evict_longest(st, who, client, false)) return true;
  return st->options.evict_open_responses_when_full && evict_longest(st, who, client, true);
}

// With Options::max_connections_per_local_user: a process holding fewer than kLightClient
// connections is light, and may go past its user's budget (retest R16: two greedy processes of one
// user filled the user's 768 and every other process of that user, a probe or a CLI, got
// SlowDown), up to all but kOtherUsersReserve of the total, which stays other users'.
constexpr std::size_t kLightClient = 32;
constexpr std::size_t kOtherUsersReserve = 64;

// A new connection over a limit: 503 with `message`, and Options::on_turned_away told.
void refuse(const std::shared_ptr<Server::State>& st, Connection& conn, const char* reason, const ClientId& client,
            std::string message) {
  if (st->options.on_turned_away) st->options.on_turned_away(reason, client.to_string(), message);
  conn.refuse(bhttp::status::service_unavailable, std::move(message));
}

void on_accept(const std::shared_ptr<Server::State>& st, asio::io_context& io, error_code ec, tcp::socket socket) {
  if (st->stopping) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // EMFILE/ENFILE and the like: back off instead of spinning on the error.
    spdlog::warn("http: accept on port {} failed: {}", st->port.load(), ec.message());
    st->accept_backoff->expires_after(std::chrono::milliseconds(100));
    st->accept_backoff->async_wait([st, &io](error_code e) {
      if (!e) accept_next(st, io);
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  const auto remote = socket.remote_endpoint(ignored);
  const ClientId client = st->options.local_clients_by_process
                              ? identify_client(socket.local_endpoint(ignored), remote, st->socket_owners)
                              : ClientId{remote.address()};
  std::size_t from_client = 0, from_user = 0;
  const bool local_user = st->options.local_clients_by_process && st->options.max_connections_per_local_user > 0 &&
                          client.uid != static_cast<uid_t>(-1);
  {
    std::lock_guard lock(st->mu);
    auto it = st->per_client.find(client);
    if (it != st->per_client.end()) from_client = it->second;
    if (local_user)
      if (auto u = st->per_user.find(client.uid); u != st->per_user.end()) from_user = u->second;
  }
  const std::size_t total = st->total.load();
  auto conn = std::make_shared<Connection>(std::move(socket), st, client);
  const bool full = total >= st->options.max_connections,
             client_full = from_client >= st->options.max_connections_per_client,
             user_full = local_user && from_user >= (from_client < kLightClient
                                                             ? std::max(st->options.max_connections_per_local_user,
                                                                        st->options.max_connections -
                                                                            std::min(st->options.max_connections, kOtherUsersReserve))
                                                             : st->options.max_connections_per_local_user);
  // Room is made among the connections of whoever is at a limit: the client's own, else its user's.
  const Among who = client_full ? Among::client : user_full ? Among::user : Among::anyone;
  if ((full || client_full || user_full) && make_room(st, who, client)) {
    conn->start();
  } else if (client_full) {
    refuse(st, *conn, "connections_per_client", client,
           "too many connections from " + client.to_string() + " (" +
               std::to_string(st->options.max_connections_per_client) + ")");
  } else if (user_full) {
    refuse(st, *conn, "connections_per_user", client,
           "too many connections from user " + std::to_string(client.uid) + " on this machine (" +
               std::to_string(st->options.max_connections_per_local_user) + ", all its processes together)");
  } else if (full) {
    refuse(st, *conn, "connections", client, "too many connections (" + std::to_string(st->options.max_connections) + ")");
  } else {
    conn->start();
  }
  accept_next(st, io);
}

void accept_next(const std::shared_ptr<Server::State>& st, asio::io_context& io) {
  if (st->stopping || !st->acceptor) return;
  st->acceptor->async_accept(asio::make_strand(io), [st, &io](error_code ec, tcp::socket socket) {
    on_accept(st, io, ec, std::move(socket));
  });
}

}  // namespace

Server::Server(Handler handler, Options options) : state_(std::make_shared<State>()) {
  state_->handler = std::move(handler);
  state_->options = std::move(options);
  if (state_->options.threads == 0) state_->options.threads = 1;
}

Server::~Server() { stop(); }

StartError Server::listen(asio::io_context& io, const std::string& host_port) {
  std::string err;
  auto addr = parse_host_port(host_port, &err);
  if (!addr) return {err};
  error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(addr->host, std::to_string(addr->port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) return {"cannot resolve " + addr->host + ": " + (ec ? ec.message() : "no address")};
  const tcp::endpoint ep = results.begin()->endpoint();
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  if (acceptor->open(ep.protocol(), ec) || acceptor->set_option(tcp::acceptor::reuse_address(true), ec) ||
      acceptor->bind(ep, ec) || acceptor->listen(asio::socket_base::max_listen_connections, ec))
    return {"cannot listen on " + host_port + ": " + ec.message(), ec == asio::error::address_in_use};
  state_->port = acceptor->local_endpoint(ec).port();
  state_->acceptor = std::move(acceptor);
  state_->accept_backoff = std::make_unique<asio::steady_timer>(io);
  accept_next(state_, io);
  return {};
}

StartError Server::start(const std::string& host_port) {
  if (state_->acceptor) return {"the server is already started"};
  state_->own_io = std::make_unique<asio::io_context>(static_cast<int>(state_->options.threads));
  if (auto err = listen(*state_->own_io, host_port); !err.empty()) {
    state_->own_io.reset();
    return err;
  }
  for (unsigned i = 0; i < state_->options.threads; ++i)
    state_->threads.emplace_back([st = state_] {
      ++st->running_threads;
      try {
        st->own_io->run();
      } catch (const std::exception& e) {
        spdlog::error("http: server thread stopped: {}", e.what());
      }
      --st->running_threads;
    });
  return {};
}

StartError Server::start(asio::io_context& io, const std::string& host_port) {
  if (state_->acceptor) return {"the server is already started"};
  return listen(io, host_port);
}

void Server::stop() {
  if (state_->stopping.exchange(true)) return;
  if (state_->acceptor) {
    // The acceptor and its timer belong to the io threads: close them there.
    auto st = state_;
    asio::post(state_->acceptor->get_executor(), [st] {
      error_code ec;
      st->acceptor->close(ec);
      st->accept_backoff->cancel();
    });
  }
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(state_->mu);
    for (auto& [_, weak] : state_->live)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) c->shut();
  live.clear();
  if (state_->own_io) {
    // With the listener and every connection closed the io threads run out of work and return;
    // a handler still holding an exchange keeps no work alive, but give up waiting after 2 s.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (state_->running_threads.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    state_->own_io->stop();
    for (auto& t : state_->threads) t.join();
    state_->threads.clear();
    // Run what the closes left queued, so connections release the state.
    state_->own_io->restart();
    while (state_->own_io->poll() > 0) {
    }
  }
}

unsigned short Server::port() const { return state_->port.load(); }

std::size_t Server::connections() const { return state_->total.load(); }

}  // namespace hivehook::http
