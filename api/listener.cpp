#include "api/listener.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <map>
#include <set>
#include <stdexcept>
#include <spdlog/spdlog.h>

#include "api/params.h"
#include "api/read_auth.h"
#include "api/views.h"
#include "base/clock.h"
#include "console/assets.h"
#include "base/utf8.h"
#include "store/activity.h"
#include "store/partitions.h"
#include "store/queries.h"
#include "store/store.h"

namespace hivehook::api {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using http::Exchange;
using http::Response;
using json = nlohmann::json;

namespace {

constexpr std::chrono::seconds kKeepalive{15};
constexpr std::size_t kMaxActionBody = 64 * 1024;

Response json_response(int status, const json& body) {
  Response r;
  r.status = static_cast<bhttp::status>(status);
  r.headers.set(bhttp::field::content_type, "application/json");
  r.headers.set(bhttp::field::cache_control, "no-store");
  r.body = safe_dump(body) + "\n";
  return r;
}

std::pair<int, json> error(int status, std::string message) { return {status, json{{"error", std::move(message)}}}; }

std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

// A query parameter the API cannot use: 400 with the reason (fault: limit=-1, before=abc,
// latest=maybe, state=quarantine were ignored silently, answering something else than asked).
struct BadParameter : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An integer parameter in [min, max]; `fallback` when absent; BadParameter when malformed.
int64_t int_param(const Query& q, const char* name, int64_t fallback, int64_t min, int64_t max) {
  auto v = query_value(q, name);
  if (!v) return fallback;
  auto n = parse_int(*v, min, max);
  if (!n)
    throw BadParameter("'" + std::string(name) + "' must be a whole number from " + std::to_string(min) + " to " +
                       std::to_string(max) + ", not '" + utf8_sanitize(*v) + "'");
  return *n;
}

int limit_param(const Query& q, int fallback, int max) { return static_cast<int>(int_param(q, "limit", fallback, 1, max)); }

// A flag parameter (api/params.h parse_flag); `fallback` when absent; BadParameter when neither.
bool flag_param(const Query& q, const char* name, bool fallback) {
  auto v = query_value(q, name);
  if (!v) return fallback;
  auto b = parse_flag(*v);
  if (!b) throw BadParameter("'" + std::string(name) + "' must be 1/true/yes or 0/false/no, not '" + utf8_sanitize(*v) + "'");
  return *b;
}

// An object state parameter: one of store/states.h's names.
std::optional<std::string> state_param(const Query& q) {
  auto v = query_value(q, "state");
  if (!v) return std::nullopt;
  if (!object_state_from(*v)) throw BadParameter("'state' must be an object state (archived, quarantined, ...), not '" + utf8_sanitize(*v) + "'");
  return v;
}

Query query_of(const std::string& target) { return parse_query(http::target_query(target)); }

// Whether a runs request asks for job output (`output` set to a true flag): a heavy read.
bool asks_output(std::string_view target) {
  auto v = query_value(query_of(std::string(target)), "output");
  return v && parse_flag(*v).value_or(false);
}

// The query parameters each GET path takes (docs/console.md's table); any other is a 400 naming it
// (issue 15 finding F10: `runs?rules=nope`, a typo for `rule`, answered every run; `objects?foo=1`
// everything). Paths below /api/v1/objects/ and /api/v1/runs/ take none.
void check_parameters(const std::string& target) {
  static const std::map<std::string_view, std::vector<std::string_view>> kTaken = {
      {"/api/v1/status", {}},
      {"/api/v1/objects", {"key", "table", "partition", "state", "latest", "before", "limit"}},
      {"/api/v1/runs", {"key", "rule", "failed", "output", "before", "limit"}},
      {"/api/v1/partitions", {"table"}},
      {"/api/v1/rules", {}},
      {"/api/v1/quarantine", {"before", "limit"}},
      {"/api/v1/activity", {"minutes"}},
      {"/api/v1/events", {"after"}},
  };
  const std::string_view path = http::target_path(target);
  auto it = kTaken.find(path);
  const std::vector<std::string_view> none;
  const auto& taken = it == kTaken.end() ? none : it->second;
  const Query q = query_of(target);
  for (const auto& [name, _] : q)
    if (std::find(taken.begin(), taken.end(), name) == taken.end()) {
      std::string list;
      for (auto t : taken) list += (list.empty() ? "" : ", ") + std::string(t);
      throw BadParameter("unknown parameter '" + utf8_sanitize(name) + "' for " + std::string(path) +
                         (list.empty() ? " (it takes none)" : " (it takes: " + list + ")"));
    }
  // Each parameter once (issue 15 finding C9: `limit=1&limit=2` answered with the last, the other
  // ignored silently; a script appending its own `limit` to a default one got whichever came last).
  for (const auto& [name, _] : q)
    if (auto n = query_values(q, name).size(); n > 1)
      throw BadParameter("parameter '" + utf8_sanitize(name) + "' is given " + std::to_string(n) +
                         " times; give it once");
}

}  // namespace

http::Options ListenerOptions::default_http_options() {
  http::Options o;
  o.header_timeout = std::chrono::seconds(5);
  o.idle_timeout = std::chrono::seconds(30);
  o.max_body_bytes = kMaxActionBody;
  // A replay/retry body is a few hundred bytes sent at once: one trickled slower than 1 KiB/s over
  // 5 s holds a connection for nothing (issue 15 finding F13) and ends with 408-like BodyEnd::timed_out.
  o.min_body_bytes_per_second = 1024;
  o.body_rate_window = std::chrono::seconds(5);
  o.max_connections = 512;
  o.max_connections_per_client = 256;
  o.evict_waiting_when_full = true;
  o.evict_open_responses_when_full = true;  // event streams resume with Last-Event-ID
  // A replay/retry body still arriving is evictable like a head still arriving (issue 15 finding
  // C2: a token holder's trickled POST bodies held every slot for the 5 s rate window).
  o.evict_reading_bodies_when_full = true;
  o.threads = 2;
  return o;
}

Listener::Listener(ListenerOptions options) : options_(std::move(options)), keepalive_timer_(pool_.get_executor()) {
  // Every error the listener writes is JSON {"error": ...}, as docs/console.md says: the server's
  // own (413 body too large, 400 malformed, 431 head too large) and the router's 404/405 too.
  auto json_error = [](bhttp::status status, const std::string& message) {
    return json_response(static_cast<int>(status), json{{"error", message}});
  };
  if (!options_.http.error_response) options_.http.error_response = json_error;
  router_.set_error_response(json_error);
  hub_.set_post([this](std::function<void()> task) { asio::post(fanout_, std::move(task)); });
  routes();
}

Listener::~Listener() { stop(); }

// The client a refused token is held against: its address, except that every loopback address
// (127.0.0.0/8, ::1, ::ffff:127.x) is one client, "127.0.0.1" — a local user could otherwise move
// to 127.0.0.2, 127.0.0.3, ... for fresh guesses (issue 15 verification V1).
static std::string guard_address(const boost::asio::ip::address& a) {
  const bool loopback = a.is_loopback() || (a.is_v6() && a.to_v6().is_v4_mapped() &&
                                            a.to_v6().to_v4().is_loopback());
  return loopback ? "127.0.0.1" : a.to_string();
}

// The one token check of every guarded route (reads under http.read_auth: token, replay, retry).
// The daemon's local token passes even a lockout; a client locked out gets `locked` before its
// token is compared; a wrong or unusable credential (any Authorization header that is not the
// token, or a wrong console cookie) is counted against the client (TokenGuard, issue 15 finding
// C10) and is `refused`; no credential at all is `absent` and not counted.
Listener::TokenCheck Listener::check_token(const Exchange& ex, bool cookie_allowed, std::chrono::seconds* left) {
  const std::optional<std::string> presented = presented_token(ex, cookie_allowed);
  if (!presented && ex.header("Authorization").empty()) return TokenCheck::absent;
  const auto accepted = [&](const std::string& token) {
    return presented && !token.empty() && token_matches(*presented, token);
  };
  if (accepted(options_.local_token)) return TokenCheck::accepted;
  const std::string address = guard_address(ex.remote().address());
  if (auto locked_for = tokens_.locked(address)) {
    *left = *locked_for;
    return TokenCheck::locked;
  }
  if (accepted(options_.token)) return TokenCheck::accepted;
  tokens_.refused(address, std::string(ex.request().method_string()) + " " + std::string(http::target_path(ex.target())));
  return TokenCheck::refused;
}

// http.read_auth: token (issue 16 P11): a read below /api/ without the token is a 401 before the
// router sees it; POSTs (replay, retry) are left to post_action, which takes the header only.
// A wrong token on a read is refused, counted and locked out as one on a POST (check_token): a
// token that reads also replays, so reads must not be the unguarded way to guess it (issue 15
// retest X2).
http::Handler Listener::guard_reads(http::Handler inner) {
  return [this, inner = std::move(inner)](std::shared_ptr<Exchange> ex) {
    if (!read_auth_guards(ex->target()) || ex->method() == bhttp::verb::post) return inner(std::move(ex));
    std::chrono::seconds left{};
    switch (check_token(*ex, /*cookie_allowed=*/true, &left)) {
      case TokenCheck::accepted: return inner(std::move(ex));
      case TokenCheck::locked: return respond_locked_out(ex, left);
      case TokenCheck::refused:
      case TokenCheck::absent: break;
    }
    respond_unauthorized(ex, "reading the API needs a token (http.read_auth: token): send 'Authorization: Bearer "
                             "<http.token>', or enter the token in the console");
  };
}

http::StartError Listener::start() {
  http::Handler handler = router_.handler();
  if (options_.read_needs_token) handler = guard_reads(std::move(handler));
  server_ = std::make_unique<http::Server>(std::move(handler), options_.http);
  if (auto err = server_->start(options_.listen); !err.empty()) return err;
  keepalive();
  return {};
}

void Listener::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::post(pool_, [this] { keepalive_timer_.cancel(); });
  if (server_) server_->stop();
  // The open event streams go before the server's io_context does (EventHub::close); events
  // published from now on are kept in the ring only.
  hub_.set_post(nullptr);
  hub_.close();
  fanout_.join();
  pool_.join();
  heavy_.join();
  reader_.reset();
  heavy_reader_.reset();
}

unsigned short Listener::port() const { return server_ ? server_->port() : 0; }

Store& Listener::reader(Lane lane) {
  auto& r = lane == Lane::heavy ? heavy_reader_ : reader_;
  if (!r) r = std::make_unique<Store>(options_.state, Store::Mode::reader);
  return *r;
}

void Listener::query(std::shared_ptr<Exchange> ex,
                     std::function<std::pair<int, json>(Store&, const std::string&)> fn, Lane lane) {
  auto& pool = lane == Lane::heavy ? heavy_ : pool_;
  asio::post(pool, [this, ex = std::move(ex), fn = std::move(fn), lane] {
    try {
      check_parameters(std::string(ex->target()));
      auto [status, body] = fn(reader(lane), std::string(ex->target()));
      ex->respond(json_response(status, body));
    } catch (const BadParameter& e) {
      ex->respond(json_response(400, json{{"error", e.what()}}));
    } catch (const std::exception& e) {
      spdlog::error("api: {} failed: {}", std::string(ex->target()), e.what());
      (lane == Lane::heavy ? heavy_reader_ : reader_).reset();  // a broken connection is reopened by the next request
      ex->respond(json_response(500, json{{"error", std::string("the store could not be read: ") + e.what()}}));
    }
  });
}

Redactor Listener::redactor_in_force() const { return options_.redactor ? options_.redactor() : Redactor(); }

void Listener::routes() {
  auto& r = router_;
  // ---- Prometheus and health, as before the listener moved onto http/ ----
  auto metrics = [this](std::shared_ptr<Exchange> ex) {
    Response res;
    res.headers.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.headers.set(bhttp::field::cache_control, "no-store");
    try {
      res.body = options_.metrics ? options_.metrics() : std::string();
      res.body += tokens_.prometheus();
    } catch (const std::exception& e) {
      spdlog::error("metrics: rendering failed: {}", e.what());
      res.status = bhttp::status::internal_server_error;
      res.body = "internal error\n";
    }
    ex->respond(std::move(res));
  };
  auto health = [this](std::shared_ptr<Exchange> ex) {
    Response res;
    res.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.headers.set(bhttp::field::cache_control, "no-store");
    auto [ok, detail] = options_.health ? options_.health() : std::pair<bool, std::string>{true, ""};
    res.status = ok ? bhttp::status::ok : bhttp::status::service_unavailable;
    // 200 "ok"; 200 with the reason when working but degraded; 503 with the reason.
    if (ok) res.body = detail.empty() ? "ok\n" : one_line(detail) + "\n";
    else res.body = one_line(detail.empty() ? "unhealthy" : detail) + "\n";
    ex->respond(std::move(res));
  };
  for (const char* m : {"GET", "HEAD"}) {
    r.add(m, "/metrics", metrics);
    r.add(m, "/healthz", health);
  }

  // ---- the console's files ----
  auto asset = [](std::shared_ptr<Exchange> ex) {
    std::string_view path = http::target_path(ex->target());
    std::string_view name = path == "/" ? std::string_view("index.html") : path.substr(path.rfind('/') + 1);
    const console::Asset* a = console::find_asset(name);
    if (!a || (path != "/" && path.substr(0, 9) != "/console/")) {
      Response res;
      res.status = bhttp::status::not_found;
      res.headers.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      res.body = "not found\n";
      return ex->respond(std::move(res));
    }
    Response res;
    res.headers.set(bhttp::field::content_type, a->content_type);
    res.headers.set(bhttp::field::etag, a->etag);
    res.headers.set(bhttp::field::cache_control, "no-cache");
    res.headers.set("X-Content-Type-Options", "nosniff");
    res.headers.set("Referrer-Policy", "no-referrer");
    res.headers.set("Content-Security-Policy",
                    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    if (ex->header("If-None-Match") == a->etag) {
      res.status = bhttp::status::not_modified;
    } else {
      res.body = std::string(a->body);
    }
    ex->respond(std::move(res));
  };
  for (const char* m : {"GET", "HEAD"}) {
    r.add(m, "/", asset);  // "/" is a prefix route: anything unknown below is a 404 from `asset`
    r.add(m, "/console/", asset);
  }

  // ---- /api/v1 ----
  r.add("", "/api/", [](std::shared_ptr<Exchange> ex) {
    ex->respond(json_response(404, json{{"error", "no such API path: " + std::string(http::target_path(ex->target()))}}));
  });
  r.add("GET", "/api/v1/status", [this](auto ex) {
    query(ex, [this](Store& s, const std::string&) {
      auto c = status_counts(s);
      const auto now = present_counts(s);
      // What is true now (as `hivehook status` says it), beside the totals over every arrival ever
      // (fault: the console's header said "18 quarantined" — every object ever — for 3 in quarantine).
      json present = {{"in_progress", now.in_progress}, {"in_quarantine", now.in_quarantine},
                      {"left_in_landing", now.left_in_landing}, {"running", now.running}, {"queued", now.queued},
                      {"retry_wait", now.retry_wait}, {"waiting", now.waiting}, {"outbox_pending", now.outbox_pending},
                      {"move_failed", now.stuck}};
      // Health as /healthz and `status` see it, degradation included (fault: a rules file with an
      // unset ${VAR} showed DEGRADED in `status` and /healthz, nothing in the API or console).
      json health = {{"ok", true}, {"detail", nullptr}};
      if (options_.health) {
        auto [ok, why] = options_.health();
        health = {{"ok", ok}, {"detail", why.empty() ? json(nullptr) : json(why)}};
      }
      json body = {{"version", HIVEHOOK_VERSION},
                   {"now", present},
                   {"health", health},
                   {"objects", c.objects},
                   {"tasks", c.tasks},
                   {"outbox", c.outbox},
                   {"runs_in_flight", c.runs_in_flight},
                   {"last_event_id", hub_.last_id()},
                   {"can_act", !options_.token.empty()}};
      // Batches and schedules as `hivehook status --json` has them (issue 14 F16).
      for (const char* k : {"batches", "abandoned_batches", "batch_offers", "schedules", "schedule_times"})
        body[k] = json::array();
      if (options_.orchestration) {
        json orchestration = options_.orchestration(s);
        for (auto& [k, v] : orchestration.items()) body[k] = std::move(v);
      }
      return std::pair<int, json>{200, body};
    });
  });
  r.add("GET", "/api/v1/objects", [this](auto ex) {
    query(ex, [](Store& s, const std::string& target) {
      auto q = query_of(target);
      ObjectFilter f;
      f.key_prefix = query_value(q, "key");
      f.table = query_value(q, "table");
      f.partition = query_value(q, "partition");
      f.state = state_param(q);
      f.latest_only = flag_param(q, "latest", false);
      if (query_value(q, "before")) f.before_id = int_param(q, "before", 0, 1, INT64_MAX);
      f.limit = limit_param(q, 100, 1000);
      json arr = json::array();
      for (const auto& o : list_objects(s, f)) arr.push_back(object_json(o));
      return std::pair<int, json>{200, json{{"objects", arr}}};
    });
  });
  r.add("GET", "/api/v1/objects/", [this](auto ex) {
    query(ex, [redact = redactor_in_force()](Store& s, const std::string& target) {
      auto id_text = path_parameter(http::target_path(target), "/api/v1/objects/");
      auto id = id_text ? parse_int(*id_text, 1, INT64_MAX) : std::nullopt;
      if (!id) return error(404, "no such object");
      auto o = s.object(*id);
      if (!o) return error(404, "no object " + std::to_string(*id));
      json tasks = json::array(), runs = json::array(), history = json::array();
      for (const auto& t : s.tasks_of(*id)) tasks.push_back(task_json(t));
      std::set<std::string> own_runs;
      for (const auto& r : runs_of_object(s, *id)) {
        own_runs.insert(r.run_id);
        runs.push_back(run_json(r, true, redact));
      }
      ObjectFilter same;
      same.key_prefix = o->key;
      same.limit = 20;
      // This arrival's events: at its key exactly, from its discovery (1 s before, for the clock
      // granularity, but not before the previous arrival's) to the next arrival's; a run's events
      // only for its own runs (issue 15 C7: a replay's and earlier arrivals' events were listed as
      // this object's, and on a busy key earlier arrivals' used up the page).
      int64_t since = o->discovered_at - 1000;
      std::optional<int64_t> until;
      for (const auto& other : list_objects(s, same)) {
        if (other.key != o->key) continue;
        history.push_back(object_json(other));
        if (other.id > o->id) until = until ? std::min(*until, other.discovered_at) : other.discovered_at;
        if (other.id < o->id) since = std::max(since, other.discovered_at + 1);
      }
      EventFilter ef;
      ef.key_prefix = o->key;
      ef.since_ms = since;
      ef.limit = 500;
      json events = json::array();
      for (int pages = 0; pages < 20 && events.size() < 200; ++pages) {
        auto page = list_events(s, ef);
        for (const auto& e : page) {
          ef.after_id = e.id;
          if (until && e.time_ms >= *until) break;
          if (e.key != o->key || (e.run_id && !own_runs.count(*e.run_id))) continue;
          events.push_back(e.to_json());
          if (events.size() == 200) break;
        }
        if (page.size() < static_cast<std::size_t>(ef.limit) || (until && !page.empty() && page.back().time_ms >= *until)) break;
      }
      // The latest arrival at the key: when it is not this object, this one was replaced (replayed,
      // re-uploaded) and its final_path may hold the later one's file, or nothing. A `duplicate`
      // (the same bytes re-dropped) replaced nothing: it is never the latest (kLatestArrivalClause).
      int64_t latest = o->state == ObjectState::duplicate ? 0 : o->id;
      for (const auto& h : history)
        if (h.value("state", "") != "duplicate") {
          latest = std::max(latest, h.value("id", int64_t{0}));
          break;
        }
      if (latest == 0) latest = o->id;  // its arrival is older than the 20 arrivals listed
      return std::pair<int, json>{200, json{{"object", object_json(*o)}, {"tasks", tasks}, {"runs", runs},
                                            {"arrivals", history}, {"latest_id", latest},
                                            {"events", events}}};
    }, Lane::heavy);
  });
  r.add("GET", "/api/v1/runs", [this](auto ex) {
    query(ex, [redact = redactor_in_force()](Store& s, const std::string& target) {
      auto q = query_of(target);
      RunFilter f;
      f.key_prefix = query_value(q, "key");
      f.rule = query_value(q, "rule");
      f.failed_only = flag_param(q, "failed", false);
      if (query_value(q, "before")) f.before_id = int_param(q, "before", 0, 1, INT64_MAX);
      const int limit = limit_param(q, 50, 1000);
      const bool output = flag_param(q, "output", false);
      // Bounded in bytes, whatever the jobs print (issue 15 finding F20): with output, the runs are
      // read kChunk at a time (never `limit` runs' tails at once), each run's tails capped, and the
      // page ends once it passes kRunsPageBytes; `next_before` (a row id) continues it.
      constexpr int kChunk = 50;
      json arr = json::array();
      std::size_t bytes = 0;
      int64_t last_id = 0;
      bool more = false;
      f.limit = output ? std::min(kChunk, limit) : limit;
      while (true) {
        auto runs = list_runs(s, f);
        for (auto it = runs.rbegin(); it != runs.rend(); ++it) {  // newest first
          if (static_cast<int>(arr.size()) == limit || (output && bytes >= kRunsPageBytes)) {
            more = true;
            break;
          }
          json j = run_json(*it, output, redact, output ? kRunsPageTailBytes : static_cast<std::size_t>(-1));
          if (output) bytes += safe_dump(j).size();
          arr.push_back(std::move(j));
          last_id = it->id;
        }
        if (more || static_cast<int>(runs.size()) < f.limit) break;
        if (static_cast<int>(arr.size()) == limit) {  // exactly full: is there an older one?
          RunFilter probe = f;
          probe.before_id = last_id;
          probe.limit = 1;
          more = !list_runs(s, probe).empty();
          break;
        }
        f.before_id = last_id;
        f.limit = std::min(kChunk, limit - static_cast<int>(arr.size()));
      }
      json body = {{"runs", arr}};
      body["next_before"] = more ? json(last_id) : json(nullptr);
      return std::pair<int, json>{200, body};
    }, asks_output(ex->target()) ? Lane::heavy : Lane::light);
  });
  r.add("GET", "/api/v1/runs/", [this](auto ex) {
    query(ex, [redact = redactor_in_force()](Store& s, const std::string& target) {
      auto id = path_parameter(http::target_path(target), "/api/v1/runs/");
      auto run = id ? run_by_id(s, *id) : std::nullopt;
      if (!run) return error(404, "no such run");
      return std::pair<int, json>{200, json{{"run", run_json(*run, true, redact)}}};
    }, Lane::heavy);
  });
  r.add("GET", "/api/v1/partitions", [this](auto ex) {
    query(ex, [](Store& s, const std::string& target) {
      auto q = query_of(target);
      PartitionFilter f;
      f.table = query_value(q, "table");
      json arr = json::array();
      for (const auto& c : partition_matrix(s, f)) arr.push_back(partition_json(c));
      return std::pair<int, json>{200, json{{"partitions", arr}}};
    });
  });
  r.add("GET", "/api/v1/rules", [this](auto ex) {
    query(ex, [this](Store& s, const std::string&) {
      json rules = options_.rules ? options_.rules() : json::array();
      auto recent = recent_runs_by_rule(s, 5);
      for (auto& rule : rules) {
        json matched = json::array();
        auto it = recent.find(rule.value("name", ""));
        if (it != recent.end())
          for (const auto& run : it->second) {
            json m = {{"key", utf8_sanitize(run.key)}, {"run_id", run.run_id},
                      {"state", to_string(run.state)}, {"started", time_json(run.started_at)}};
            if (!run.node.empty()) m["node"] = run.node;
            matched.push_back(std::move(m));
          }
        rule["recent"] = matched;
      }
      return std::pair<int, json>{200, json{{"rules", rules}}};
    });
  });
  r.add("GET", "/api/v1/quarantine", [this](auto ex) {
    query(ex, [redact = redactor_in_force()](Store& s, const std::string& target) {
      auto q = query_of(target);
      // Bounded in bytes as runs?output=1 is (issue 15 finding F20, the same kind): objects read
      // kChunk at a time, each with its last kQuarantineRuns failed runs, tails capped, the page cut
      // after kRunsPageBytes with `next_before` (an object id) to continue.
      constexpr int kChunk = 50;
      constexpr std::size_t kQuarantineRuns = 3;
      const int limit = limit_param(q, 200, 1000);
      int64_t before = query_value(q, "before") ? int_param(q, "before", 0, 1, INT64_MAX) : 0;
      json arr = json::array();
      std::size_t bytes = 0;
      bool more = false;
      while (true) {
        const int want = std::min(kChunk, limit - static_cast<int>(arr.size()));
        auto entries = quarantine_report(s, want + 1, before, kQuarantineRuns);  // one more: is there another?
        bool cut = false;
        for (std::size_t i = 0; i < entries.size() && static_cast<int>(i) < want; ++i) {
          if (bytes >= kRunsPageBytes) {
            cut = true;
            break;
          }
          json runs = json::array();
          for (const auto& r : entries[i].failed_runs) runs.push_back(run_json(r, true, redact, kRunsPageTailBytes));
          json entry = {{"object", object_json(entries[i].object)}, {"failed_runs", runs}};
          bytes += safe_dump(entry).size();
          arr.push_back(std::move(entry));
          before = entries[i].object.id;
        }
        if (cut || (static_cast<int>(entries.size()) > want && static_cast<int>(arr.size()) == limit)) {
          more = true;
          break;
        }
        if (static_cast<int>(entries.size()) <= want) break;  // no more objects
      }
      json body = {{"quarantine", arr}};
      body["next_before"] = more ? json(before) : json(nullptr);
      return std::pair<int, json>{200, body};
    }, Lane::heavy);
  });
  r.add("GET", "/api/v1/activity", [this](auto ex) {
    query(ex, [](Store& s, const std::string& target) {
      auto q = query_of(target);
      const int minutes = static_cast<int>(int_param(q, "minutes", 60, 1, 24 * 60));
      const int64_t now = unix_ms(std::chrono::system_clock::now());
      return std::pair<int, json>{200, json{{"minutes", activity_json(activity(s, now, minutes))}}};
    });
  });
  r.add("GET", "/api/v1/events", [this](auto ex) { serve_events(std::move(ex)); });
  r.add("POST", "/api/v1/replay", [this](auto ex) { post_action(std::move(ex), false); });
  r.add("POST", "/api/v1/retry", [this](auto ex) { post_action(std::move(ex), true); });
}

// ---- Server-Sent Events -------------------------------------------------------------------------

void Listener::serve_events(std::shared_ptr<Exchange> ex) {
  auto q = query_of(std::string(ex->target()));
  std::optional<int64_t> after = parse_event_id(ex->header("Last-Event-ID"));
  try {
    check_parameters(std::string(ex->target()));
    if (auto v = query_value(q, "after"); v && !after) {
      after = parse_event_id(*v);
      if (!after) throw BadParameter("'after' must be an event id (a whole number), not '" + utf8_sanitize(*v) + "'");
    }
  } catch (const BadParameter& e) {
    return ex->respond(json_response(400, json{{"error", e.what()}}));
  }
  Response head;
  head.headers.set(bhttp::field::content_type, "text/event-stream; charset=utf-8");
  head.headers.set(bhttp::field::cache_control, "no-store");
  head.headers.set("X-Accel-Buffering", "no");
  auto writer = ex->respond_open(std::move(head));
  if (!writer) return;
  writer->write("retry: 2000\n\n");
  {
    std::lock_guard lock(streams_mu_);
    streams_.push_back(writer);
  }
  attach(writer, after.value_or(hub_.last_id()));
}

void Listener::attach(std::shared_ptr<http::BodyWriter> writer, int64_t after, int rounds) {
  asio::post(heavy_, [this, writer, after, rounds]() mutable {
    if (writer->closed() || rounds >= 1000) return;
    auto sink = [writer](const SseEvent& e) { return writer->write(*e.message); };
    if (hub_.subscribe(after, sink)) return;
    // Older than the ring: one page from the store, then the next turn (behind the heavy reads
    // queued meanwhile) tries again from the last one sent.
    EventFilter f;
    f.after_id = after;
    f.limit = 500;
    std::vector<AuditEvent> events;
    try {
      events = list_events(reader(Lane::heavy), f);
    } catch (const std::exception& e) {
      spdlog::error("api: events after {}: {}", after, e.what());
      heavy_reader_.reset();
      return writer->end();
    }
    if (events.empty()) after = hub_.last_id();  // gone from the store too: continue with the newest
    for (const auto& e : events) {
      if (!writer->write(sse_message(e))) return;
      after = e.id;
    }
    attach(writer, after, rounds + 1);
  });
}

void Listener::keepalive() {
  keepalive_timer_.expires_after(kKeepalive);
  keepalive_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    std::lock_guard lock(streams_mu_);
    std::erase_if(streams_, [](const std::weak_ptr<http::BodyWriter>& w) {
      auto s = w.lock();
      return !s || !s->write(": keepalive\n\n");
    });
    keepalive();
  });
}

// ---- replay and retry ---------------------------------------------------------------------------

void Listener::respond_locked_out(const std::shared_ptr<Exchange>& ex, std::chrono::seconds left) {
  auto res = json_response(429, json{{"error", "too many refused tokens from this address: tokens from it are not "
                                               "checked for " + std::to_string(left.count()) + " s more"}});
  res.headers.set(bhttp::field::retry_after, std::to_string(left.count()));
  ex->respond(std::move(res));
}

void Listener::respond_unauthorized(const std::shared_ptr<Exchange>& ex, const std::string& message) {
  auto res = json_response(401, json{{"error", message}});
  res.headers.set(bhttp::field::www_authenticate, "Bearer realm=\"hivehook\"");
  ex->respond(std::move(res));
}

void Listener::post_action(std::shared_ptr<Exchange> ex, bool retry) {
  if (options_.token.empty() && options_.local_token.empty())
    return ex->respond(json_response(403, json{{"error", "replay and retry are turned off: set http.token in the config "
                                                         "and send it as 'Authorization: Bearer <token>'"}}));
  std::chrono::seconds left{};
  switch (check_token(*ex, /*cookie_allowed=*/false, &left)) {
    case TokenCheck::accepted: break;
    case TokenCheck::locked: return respond_locked_out(ex, left);
    case TokenCheck::refused:
    case TokenCheck::absent: return respond_unauthorized(ex, "replay and retry need 'Authorization: Bearer <http.token>'");
  }
  if (!options_.actions.replay)
    return ex->respond(json_response(503, json{{"error", "this listener cannot replay (no daemon behind it)"}}));
  ex->read_body_to_string(kMaxActionBody, [this, ex, retry](const http::BodyResult& r, std::string body) {
    if (!r.ok()) return ex->respond(json_response(r.end == http::BodyEnd::too_large ? 413 : 400, json{{"error", r.message}}));
    std::string why;
    auto req = parse_replay_body(body.empty() ? "{}" : body, retry, &why);
    if (!req) return ex->respond(json_response(400, json{{"error", why}}));
    // Who asked, for the audit (schedule.retried): the client's address and which token it sent —
    // the daemon's local token is the CLI of a local user who may read it (root or the service user).
    const auto presented = presented_token(*ex, /*cookie_allowed=*/false);
    const bool local = presented && !options_.local_token.empty() && token_matches(*presented, options_.local_token);
    // (Worded without "token:" before a word: the redactor would take that word for a secret.)
    req->asked_by = "api from " + ex->remote().address().to_string() +
                    (local ? " with the daemon's local token (a local user's CLI)" : " with http.token");
    options_.actions.replay(std::move(*req), [ex](int status, json reply) { ex->respond(json_response(status, reply)); });
  });
}

}  // namespace hivehook::api
