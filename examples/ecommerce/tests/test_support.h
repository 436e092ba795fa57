// Shared helpers for etl_tests: temp dirs, files, child processes, warehouse dumps.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etl/job.h"
#include "etl/warehouse.h"

namespace etl_test {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "etl-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str(const std::string& rel = "") const { return rel.empty() ? path_.string() : (path_ / rel).string(); }

 private:
  fs::path path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline constexpr const char* kHeader =
    "transaction_id,customer_id,product_id,quantity,transaction_ts,status,payment_method\n";

inline const char* kProducts =
    "product_id,product_name,category,price,supplier_id\n"
    "P1,\"Widget, A\",Gadgets,29.99,S1\n"
    "P2,Eighth,Gadgets,0.125,S1\n"
    "P3,Edge,Home,49.995,S2\n"
    "P4,Big,Home,500,S2\n"
    "P5,Tiny,Toys,0.0001,S3\n";
inline const char* kCustomers =
    "customer_id,first_name,last_name,email,membership_level,country\n"
    "C1,John,Doe,john@example.com,Gold,US\n"
    "C2,Zoë,Müller,zoe@example.com,Silver,DE\n";

// Starts a child; returns its pid. env entries are "NAME=value" added to ours.
inline pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                   const std::string& out_file = "/dev/null") {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

inline int run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
               const std::string& out_file = "/dev/null") {
  return wait_exit(spawn(argv, env, out_file));
}

// Every row of a query as one '|'-joined line.
inline std::vector<std::string> dump(hivehook::etl::Warehouse& wh, const std::string& sql) {
  std::vector<std::string> lines;
  auto r = wh.query(sql);
  for (const auto& row : r.rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i].value_or("NULL");
    lines.push_back(line);
  }
  return lines;
}

inline const char* kFactsSqlite =
    "SELECT transaction_id, customer_id, product_id, product_name, category, supplier_id, "
    "membership_level, country, quantity, unit_price, amount, amount_class, transaction_ts, "
    "transaction_date, status, payment_method, source_file FROM fact_transactions ORDER BY "
    "transaction_id";
inline const char* kRejectsSql =
    "SELECT source_file, line_number, reason, raw FROM rejected_transactions ORDER BY "
    "source_file, line_number";

}  // namespace etl_test
