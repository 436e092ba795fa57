#include "s3/server.h"

#include <sys/resource.h>

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "base/host_port.h"
#include "s3/errors.h"
#include "s3/upload_sink.h"

namespace hivehook::s3 {

namespace bhttp = boost::beast::http;

ServerSettings settings_from(const Config& config) {
  ServerSettings s;
  const S3Config& c = *config.s3;
  s.listen = c.listen;
  s.service.credentials = Credentials{c.access_key_id, c.secret_access_key, c.region};
  s.service.landing = config.landing;
  s.service.archive = config.archive;
  s.service.quarantine = config.quarantine;
  s.service.landing_bucket = config.bucket;
  s.service.staging = config.state_dir / "s3-uploads";
  s.service.fsync = c.fsync;
  s.service.multipart_expiry = std::chrono::duration_cast<std::chrono::seconds>(c.multipart_expiry);
  s.service.ignore = config.ignore;
  // A test seam (s3/service.h assembly_delay): never set in service.
  if (const char* delay = std::getenv("HIVEHOOK_TEST_S3_ASSEMBLY_DELAY_MS"); delay && *delay)
    s.service.assembly_delay = std::chrono::milliseconds(std::strtoll(delay, nullptr, 10));
  s.http.max_connections_per_client = c.max_connections_per_client;
  // Abandoned uploads go within a minute of their expiry (the sweep is a scan of a map in memory).
  s.sweep_every = std::min<std::chrono::seconds>(std::chrono::seconds(60), s.service.multipart_expiry);
  return s;
}

Server::Server(ServerSettings settings) : settings_(std::move(settings)), pool_(settings_.pool_threads) {
  auto& o = settings_.http;
  // A 5 GiB part in aws-chunked coding is a little larger than 5 GiB.
  o.max_body_bytes = std::max<std::uint64_t>(o.max_body_bytes, kMaxObjectBytes + (64ULL << 20));
  o.server_name = "hivehook";
  // Slots are for clients that use them (docs/decisions.md, "S3: slow clients and the loopback
  // budget"): a body slower than 1 KiB/s over 30 s is RequestTimeout, and over a connection
  // limit the connection that has waited longest for a request makes room for the new one.
  if (o.min_body_bytes_per_second == 0) o.min_body_bytes_per_second = kMinUploadBytesPerSecond;
  o.evict_waiting_when_full = true;
  // Every local client connects from 127.0.0.1: each process gets its own per-client budget.
  o.local_clients_by_process = true;
  // ... and all of one user's processes together at most three quarters of the total (or the
  // per-client budget, when that was raised above it): another user always finds a quarter free.
  if (o.max_connections_per_local_user == 0)
    o.max_connections_per_local_user = std::max(o.max_connections_per_client, o.max_connections * 3 / 4);
  o.on_turned_away = [log = turned_away_, tell = settings_.on_turned_away](const char* reason, const std::string& client,
                                                                          const std::string& message) {
    log->note(reason, client, message);
    if (tell) tell(reason, client, message);
  };
  if (!o.error_response) {
    o.error_response = [](bhttp::status status, const std::string& message) {
      S3Error e;
      e.status = static_cast<unsigned>(status);
      e.message = message;
      switch (status) {
        case bhttp::status::payload_too_large: e.code = "EntityTooLarge"; break;
        case bhttp::status::request_header_fields_too_large: e.code = "RequestHeaderSectionTooLarge"; break;
        case bhttp::status::service_unavailable: e.code = "SlowDown"; break;
        case bhttp::status::request_timeout: e.code = "RequestTimeout"; break;
        case bhttp::status::internal_server_error: e.code = "InternalError"; break;
        default: e.code = "BadRequest";
      }
      http::Response r;
      r.status = status;
      r.headers.set(bhttp::field::content_type, "application/xml");
      r.body = error_xml(e, "", "0000000000000000");
      return r;
    };
  }
}

namespace {

// Every connection uploading holds two descriptors (its socket and the upload's file), and a
// multipart completion a third: `connections` of them need more than the soft RLIMIT_NOFILE most
// systems start a process with (1,024). Raises the soft limit toward the hard one
// (getrlimit(2)), as servers that expect many connections do; says so when the hard one is short.
void raise_open_file_limit(std::size_t connections) {
  const rlim_t wanted = static_cast<rlim_t>(connections) * 2 + 512;
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= wanted) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, rl.rlim_max);
  if (rl.rlim_cur > before && ::setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = before;
  if (rl.rlim_cur < wanted)
    spdlog::warn("s3: at most {} open files (RLIMIT_NOFILE); {} connections uploading at once need about {}: raise "
                 "the limit (systemd: LimitNOFILE=)",
                 static_cast<unsigned long long>(rl.rlim_cur), connections, static_cast<unsigned long long>(wanted));
}

}  // namespace

Server::~Server() { stop(); }

http::StartError Server::start() {
  try {
    service_ = std::make_unique<Service>(settings_.service, pool_);
  } catch (const std::exception& e) {
    return {e.what()};
  }
  raise_open_file_limit(settings_.http.max_connections);
  if (const std::size_t n = service_->clear_leftovers(); n > 0)
    spdlog::info("s3: removed {} unfinished upload(s) left by a previous run", n);
  http_ = std::make_unique<http::Server>([svc = service_.get()](std::shared_ptr<http::Exchange> ex) { svc->handle(std::move(ex)); },
                                         settings_.http);
  if (auto err = http_->start(settings_.listen); !err.empty()) {
    http_.reset();
    return err;
  }
  sweep_ = std::make_unique<boost::asio::steady_timer>(pool_.get_executor());
  schedule_sweep();
  return {};
}

void Server::schedule_sweep() {
  sweep_->expires_after(settings_.sweep_every);
  sweep_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (const auto& id : service_->expire_uploads())
      spdlog::info("s3: aborted multipart upload {}: no new part for {}s", id, settings_.service.multipart_expiry.count());
    schedule_sweep();
  });
}

void Server::stop() {
  if (http_) http_->stop();
  if (sweep_) {
    boost::asio::post(pool_, [t = sweep_.get()] { t->cancel(); });
  }
  pool_.join();
  sweep_.reset();
  http_.reset();
  service_.reset();
}

unsigned short Server::port() const { return http_ ? http_->port() : 0; }

std::string Server::endpoint_url() const {
  std::string err;
  auto a = parse_host_port(settings_.listen, &err);
  if (!a) return "";
  return local_url(*a, port());
}

}  // namespace hivehook::s3
