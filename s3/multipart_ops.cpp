// CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts,
// ListMultipartUploads.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>
#include <variant>
#include <spdlog/spdlog.h>

#include "s3/call.h"
#include "s3/complete_reply.h"
#include "s3/object_key.h"
#include "s3/sigv4.h"
#include "s3/upload_sink.h"
#include "s3/xml.h"

namespace hivehook::s3 {

namespace {

constexpr const char* kOwner = "hivehook";
// Another request is completing the upload (a client retrying a Complete whose answer is slow):
// 503, which SDKs retry, and by then the completion is remembered and answered the same.
constexpr const char* kCompletingElsewhere = "This upload is being completed by another request: retry shortly";

// Copies `size` bytes of `in` from `in_off` to `out` at `out_off` (copy_file_range, in the kernel;
// pread/pwrite where it cannot). False with *error (strerror's sentence) on failure.
bool copy_range(int in, std::uint64_t in_off, int out, std::uint64_t out_off, std::uint64_t size, std::string* error) {
  std::uint64_t done = 0;
  bool plain = false;
  std::vector<char> buf;
  while (done < size) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size - done, 1ULL << 30));
    if (!plain) {
      loff_t from = static_cast<loff_t>(in_off + done), to = static_cast<loff_t>(out_off + done);
      const ssize_t n = ::copy_file_range(in, &from, out, &to, want, 0);
      if (n > 0) {
        done += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n == 0) break;
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
        *error = std::strerror(errno);
        return false;
      }
      plain = true;
      buf.resize(1 << 20);
    }
    const ssize_t r = ::pread(in, buf.data(), std::min(buf.size(), want), static_cast<off_t>(in_off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *error = std::strerror(errno);
      return false;
    }
    if (r == 0) break;
    for (ssize_t off = 0; off < r;) {
      const ssize_t w = ::pwrite(out, buf.data() + off, static_cast<std::size_t>(r - off),
                                 static_cast<off_t>(out_off + done + static_cast<std::uint64_t>(off)));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        *error = std::strerror(errno);
        return false;
      }
      off += w;
    }
    done += static_cast<std::uint64_t>(r);
  }
  if (done != size) {
    *error = "a part is shorter than when it was uploaded";
    return false;
  }
  return true;
}

// Bytes an unprivileged writer may still use on the filesystem holding `path` (statvfs f_bavail);
// nullopt when it cannot be asked.
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& path) {
  struct statvfs v {};
  if (::statvfs(path.c_str(), &v) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
}

bool same_filesystem(const std::filesystem::path& a, const std::filesystem::path& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev;
}

S3Error no_room(const std::string& what, std::uint64_t need, std::uint64_t free, const std::filesystem::path& where) {
  return S3Error{507, "InsufficientStorage",
                 what + " needs " + std::to_string(need) + " bytes free on the filesystem of " + where.string() + ", " +
                     std::to_string(free) + " are free (a multipart upload needs its parts and, to be completed, "
                     "room for its largest part beside them; docs/s3.md, \"What an upload becomes\")",
                 {}};
}

}  // namespace

void Service::create_multipart(const std::shared_ptr<Call>& c) {
  if (auto bad = write_request_problem(c)) return c->fail(*bad);
  auto id = uploads_.create(c->bucket->name, c->req.key, ObjectAttrs::from_request(c->ex->request()));
  if (auto* e = std::get_if<S3Error>(&id)) return c->fail(*e);
  c->reply_xml(XmlWriter()
                   .open("InitiateMultipartUploadResult", kS3Namespace)
                   .element("Bucket", c->bucket->name)
                   .element("Key", c->req.key)
                   .element("UploadId", std::get<std::string>(id))
                   .str());
}

std::optional<int> Service::checked_part_number(const std::shared_ptr<Call>& c, const std::string& upload_id) {
  auto number = parse_part_number(c->req.param("partNumber"));
  if (!number) {
    c->fail(errors::invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                                     c->req.param("partNumber")));
    return std::nullopt;
  }
  if (auto err = uploads_.check(upload_id, c->bucket->name, c->req.key)) {
    c->fail(*err);
    return std::nullopt;
  }
  return number;
}

void Service::upload_part(const std::shared_ptr<Call>& c) {
  const std::string id = c->req.param("uploadId");
  auto number = checked_part_number(c, id);
  if (!number) return;
  auto tmp = uploads_.part_file(id);
  if (!tmp) {
    if (tmp.code() == ENOENT) return c->fail(errors::no_such_upload(id));
    return c->fail(errors::internal_error("cannot store the part: " + tmp.message()));
  }
  receive(c, std::move(*tmp), [this, c, id, n = *number](std::shared_ptr<UploadSink> sink) {
    if (settings_.fsync && ::fdatasync(sink->file().fd()) != 0)
      return c->fail(errors::internal_error("cannot fsync the part: " + std::string(std::strerror(errno))));
    Part p;
    p.number = n;
    p.etag = sink->md5_hex();
    p.md5_raw = sink->md5_raw();
    p.size = sink->size();
    p.last_modified = std::chrono::system_clock::now();
    if (auto err = uploads_.add_part(id, p, std::move(sink->file()))) return c->fail(*err);
    http::Response r;
    r.headers.set(http::bhttp::field::etag, "\"" + p.etag + "\"");
    c->reply(std::move(r));
  }, [this, id, n = *number](std::uint64_t declared) {
    return part_space_problem(id, n, declared);
  });
}

std::optional<S3Error> Service::part_space_problem(const std::string& id, int number, std::uint64_t declared) {
  auto upload = uploads_.get(id);
  if (!upload) return std::nullopt;  // add_part answers NoSuchUpload
  std::uint64_t others = 0, largest = declared;
  for (const auto& [n, p] : upload->parts) {
    if (n == number || !p.staged) continue;  // replaced by this one / already in landing's file
    others += p.size;
    largest = std::max(largest, p.size);
  }
  if (same_filesystem(settings_.staging, settings_.landing)) {
    // The other parts are here already and this one is about to be written; completing moves
    // them one at a time into landing's file, each freed once copied: room for the largest.
    const std::uint64_t need = declared + largest;
    auto free = free_bytes(settings_.landing);
    if (free && *free < need) return no_room("Completing this multipart upload", need, *free, settings_.landing);
    return std::nullopt;
  }
  // Staging elsewhere (this part checked there); landing's filesystem receives all the parts.
  const std::uint64_t need = others + declared;
  auto free = free_bytes(settings_.landing);
  if (free && *free < need) return no_room("Completing this multipart upload", need, *free, settings_.landing);
  return std::nullopt;
}

namespace {

// The upload's parts as CompleteMultipartUpload lists them: uploaded ones, eTags matching, in
// ascending order, each but the last at least 5 MiB (S3 API reference, "CompleteMultipartUpload":
// InvalidPart, InvalidPartOrder, EntityTooSmall).
std::variant<std::vector<const Part*>, S3Error> listed_parts(const Upload& upload,
                                                              const std::vector<CompletedPart>& listed) {
  std::vector<const Part*> parts;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const auto& want = listed[i];
    if (i > 0 && want.part_number <= listed[i - 1].part_number) return errors::invalid_part_order();
    auto it = upload.parts.find(want.part_number);
    if (it == upload.parts.end() || it->second.etag != want.etag)
      return errors::invalid_part("One or more of the specified parts could not be found. The part may not have "
                                  "been uploaded, or the specified entity tag may not match the part's entity tag.")
          .with("PartNumber", std::to_string(want.part_number))
          .with("ETag", want.etag);
    parts.push_back(&it->second);
  }
  for (std::size_t i = 0; i + 1 < parts.size(); ++i)
    if (parts[i]->size < kMinPartBytes) return errors::entity_too_small(parts[i]->number);
  return parts;
}

// S3's multipart eTag: the MD5 of the parts' binary MD5s, "-" and the number of parts.
std::string multipart_etag(const std::vector<const Part*>& parts) {
  std::string concat;
  for (const Part* p : parts) concat += p->md5_raw;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(concat.data(), concat.size(), md, &len, EVP_md5(), nullptr);
  return hex_encode(std::string_view(reinterpret_cast<char*>(md), len)) + "-" + std::to_string(parts.size());
}

// How a completion builds the object. Parts move into a file of landing's tree in the listed
// order and each staging file is removed as soon as its bytes are in, so this needs the largest
// part's room beside the parts (on one filesystem), never the upload's size twice. A kept
// Assembly (from a completion that failed after moving parts) is extended when it holds the start
// of this list (`have` pieces of it); otherwise (another list) a new file is assembled by copying,
// leaving the kept one whole until this completion succeeds.
struct AssemblyPlan {
  std::shared_ptr<Assembly> kept;
  std::size_t have = 0;
  bool extend = true;
  std::uint64_t need = 0;  // bytes landing's filesystem must have free
};

AssemblyPlan plan_assembly(const Upload& upload, const std::vector<const Part*>& parts, bool one_fs) {
  AssemblyPlan plan;
  plan.kept = upload.assembly;
  if (plan.kept)
    while (plan.have < plan.kept->pieces.size() && plan.have < parts.size() &&
           plan.kept->pieces[plan.have].number == parts[plan.have]->number &&
           plan.kept->pieces[plan.have].generation == parts[plan.have]->generation)
      ++plan.have;
  plan.extend = !plan.kept || plan.have == plan.kept->pieces.size();
  for (std::size_t i = plan.extend ? plan.have : 0; i < parts.size(); ++i)
    plan.need = (one_fs && plan.extend) ? std::max(plan.need, parts[i]->size) : plan.need + parts[i]->size;
  return plan;
}

S3Error assembly_error(int number, const std::string& err) {
  if (err == std::strerror(ENOSPC) || err == std::strerror(EDQUOT))
    return S3Error{507, "InsufficientStorage", "cannot assemble part " + std::to_string(number) + ": " + err, {}};
  return errors::internal_error("cannot assemble part " + std::to_string(number) + ": " + err);
}

// Copies part `p` into `out` at `at`: from its staging file, or from the kept Assembly it moved into.
std::optional<S3Error> copy_part(const Tree& staging, const std::string& id, const Assembly* kept, const Part& p,
                                 int out, std::uint64_t at) {
  std::string err;
  bool ok = false;
  if (p.staged) {
    auto in = staging.open_regular(MultipartUploads::part_name(id, p.number));
    if (!in) return errors::internal_error("part " + std::to_string(p.number) + " is gone: " + in.message());
    ok = copy_range(in->get(), 0, out, at, p.size, &err);
  } else {
    const Assembly::Piece* piece = nullptr;
    if (kept)
      for (const auto& q : kept->pieces)
        if (q.number == p.number && q.generation == p.generation) piece = &q;
    if (!piece) return errors::internal_error("part " + std::to_string(p.number) + " is gone");
    ok = copy_range(kept->file.fd(), piece->offset, out, at, p.size, &err);
  }
  if (!ok) return assembly_error(p.number, err);
  return std::nullopt;
}

}  // namespace

void Service::complete_multipart(const std::shared_ptr<Call>& c) {
  const std::string id = c->req.param("uploadId");
  if (uploads_.completing(id, c->bucket->name, c->req.key)) return c->fail(errors::slow_down(kCompletingElsewhere));
  if (auto err = uploads_.check(id, c->bucket->name, c->req.key)) {
    auto done = uploads_.completed(id);
    if (!done || done->bucket != c->bucket->name || done->key != c->req.key) return c->fail(*err);
  }
  c->ex->read_body_to_string(4 << 20, [this, c, id](const http::BodyResult& r, std::string body) {
    if (!r.ok()) return c->fail(errors::malformed_xml(r.message));
    boost::asio::post(pool_, [this, c, id, body = std::move(body)] { complete_listed(c, id, body); });
  });
}

void Service::complete_listed(const std::shared_ptr<Call>& c, const std::string& id, const std::string& body) {
  std::string why;
  auto listed = parse_complete_multipart(body, &why);
  if (!listed) return c->fail(errors::malformed_xml(why));
  std::vector<std::pair<int, std::string>> asked;
  for (const auto& p : *listed) asked.emplace_back(p.part_number, p.etag);
  const std::string host(c->ex->header("host"));
  auto result = [&](const std::string& etag) {
    return XmlWriter()
        .open("CompleteMultipartUploadResult", kS3Namespace)
        .element("Location", "http://" + host + "/" + uri_encode(c->bucket->name, true) + "/" +
                                 uri_encode(c->req.key, false))
        .element("Bucket", c->bucket->name)
        .element("Key", c->req.key)
        .element("ETag", "\"" + etag + "\"")
        .str();
  };
  auto taken = uploads_.begin_complete(id, c->bucket->name, c->req.key);
  if (auto* e = std::get_if<S3Error>(&taken)) {
    // Completed already: the same list is a retry whose answer was lost, answered the same.
    if (auto done = uploads_.completed(id); done && done->bucket == c->bucket->name && done->key == c->req.key)
      return done->parts == asked ? c->reply_xml(result(done->etag)) : c->fail(errors::no_such_upload(id));
    return c->fail(uploads_.completing(id, c->bucket->name, c->req.key) ? errors::slow_down(kCompletingElsewhere) : *e);
  }
  const Upload upload = std::move(std::get<Upload>(taken));
  auto checked = listed_parts(upload, *listed);
  std::optional<S3Error> early;
  if (auto* e = std::get_if<S3Error>(&checked)) early = *e;
  // What can be known before assembling is answered with its own status; only what happens
  // while assembling goes into the 200's body.
  if (!early) early = condition_problem(c->req.key, write_conditions(*c->ex));
  if (early) {
    uploads_.cancel_complete(id);
    return c->fail(*early);
  }
  const auto& parts = std::get<std::vector<const Part*>>(checked);
  const std::string etag = multipart_etag(parts);
  http::Response head;
  c->stamp(head);
  CompleteReply reply(*c->ex, std::move(head), settings_.complete_keep_alive);
  if (auto err = assemble_and_publish(c, id, upload, parts, etag)) {
    uploads_.cancel_complete(id);
    spdlog::warn("s3: CompleteMultipartUpload {} -> 200 with {} {}: {}", c->resource, err->code, err->status,
                 err->message);
    return reply.fail(*err, c->resource, c->request_id);
  }
  uploads_.remember_completed(id, CompletedUpload{c->bucket->name, c->req.key, etag, asked,
                                                  std::chrono::steady_clock::now()});
  uploads_.remove(id);
  spdlog::debug("s3: CompleteMultipartUpload {}/{} ({} parts, eTag {})", c->bucket->name, c->req.key, parts.size(), etag);
  reply.finish(result(etag));
}

std::optional<S3Error> Service::assemble_and_publish(const std::shared_ptr<Call>& c, const std::string& id,
                                                     const Upload& upload, const std::vector<const Part*>& parts,
                                                     const std::string& etag) {
  AssemblyPlan plan = plan_assembly(upload, parts, same_filesystem(settings_.staging, settings_.landing));
  if (auto free = free_bytes(settings_.landing); free && *free < plan.need)
    return no_room("CompleteMultipartUpload", plan.need, *free, settings_.landing);
  auto pause = [&] {
    if (settings_.assembly_delay.count() > 0) std::this_thread::sleep_for(settings_.assembly_delay);
  };
  std::optional<TempFile> copy;  // the new file when not extending the kept one
  if (plan.extend) {
    if (!plan.kept) {
      auto tmp = TempFile::create(landing_, "");
      if (!tmp) return errors::internal_error("cannot assemble the upload: " + tmp.message());
      plan.kept = std::make_shared<Assembly>(std::move(*tmp));
      uploads_.set_assembly(id, plan.kept);
    }
    Assembly& a = *plan.kept;
    for (std::size_t i = plan.have; i < parts.size(); ++i) {
      const Part* p = parts[i];
      pause();
      auto in = uploads_.staging().open_regular(MultipartUploads::part_name(id, p->number));
      if (!in) return errors::internal_error("part " + std::to_string(p->number) + " is gone: " + in.message());
      std::string err;
      if (!copy_range(in->get(), 0, a.file.fd(), a.size, p->size, &err)) {
        (void)::ftruncate(a.file.fd(), static_cast<off_t>(a.size));  // the pieces moved stay whole
        return assembly_error(p->number, err);
      }
      a.pieces.push_back({p->number, p->generation, a.size, p->size});
      a.size += p->size;
      uploads_.moved_to_assembly(id, p->number, p->generation);
    }
  } else {
    auto tmp = TempFile::create(landing_, "");
    if (!tmp) return errors::internal_error("cannot assemble the upload: " + tmp.message());
    copy.emplace(std::move(*tmp));
    std::uint64_t at = 0;
    for (const Part* p : parts) {
      pause();
      if (auto err = copy_part(uploads_.staging(), id, plan.kept.get(), *p, copy->fd(), at)) return err;
      at += p->size;
    }
  }
  return publish(copy ? *copy : plan.kept->file, c->req.key, etag, upload.attrs, write_conditions(*c->ex),
                 c->upload_event("ObjectCreated:CompleteMultipartUpload"));
}

void Service::abort_multipart(const std::shared_ptr<Call>& c) {
  const std::string id = c->req.param("uploadId");
  if (auto err = uploads_.check(id, c->bucket->name, c->req.key)) return c->fail(*err);
  boost::asio::post(pool_, [this, c, id] {
    if (!uploads_.remove(id)) return c->fail(errors::no_such_upload(id));
    c->reply(status_only(http::bhttp::status::no_content));
  });
}

void Service::list_parts(const std::shared_ptr<Call>& c) {
  const std::string id = c->req.param("uploadId");
  if (auto err = uploads_.check(id, c->bucket->name, c->req.key)) return c->fail(*err);
  auto upload = uploads_.get(id);
  if (!upload) return c->fail(errors::no_such_upload(id));
  int marker = 0;
  if (c->req.has("part-number-marker")) marker = parse_part_number(c->req.param("part-number-marker")).value_or(0);
  std::size_t max = 1000;
  if (c->req.has("max-parts")) {
    const std::string m = c->req.param("max-parts");
    if (m.empty() || m.size() > 6 || m.find_first_not_of("0123456789") != std::string::npos)
      return c->fail(errors::invalid_argument("max-parts must be an integer", "max-parts", m));
    max = std::min<std::size_t>(std::stoul(m), 1000);
  }
  XmlWriter w;
  w.open("ListPartsResult", kS3Namespace)
      .element("Bucket", upload->bucket)
      .element("Key", upload->key)
      .element("UploadId", id);
  w.open("Initiator").element("ID", kOwner).element("DisplayName", kOwner).close();
  w.open("Owner").element("ID", kOwner).element("DisplayName", kOwner).close();
  w.element("StorageClass", "STANDARD").element("PartNumberMarker", std::to_string(marker));
  std::vector<const Part*> page;
  bool truncated = false;
  for (const auto& [n, p] : upload->parts) {
    if (n <= marker) continue;
    if (page.size() == max) {
      truncated = true;
      break;
    }
    page.push_back(&p);
  }
  w.element("NextPartNumberMarker", std::to_string(page.empty() ? marker : page.back()->number))
      .element("MaxParts", std::to_string(max))
      .element("IsTruncated", truncated ? "true" : "false");
  for (const Part* p : page)
    w.open("Part")
        .element("PartNumber", std::to_string(p->number))
        .element("LastModified", iso8601(p->last_modified))
        .element("ETag", "\"" + p->etag + "\"")
        .element("Size", std::to_string(p->size))
        .close();
  c->reply_xml(w.str());
}

void Service::list_uploads(const std::shared_ptr<Call>& c) {
  const std::string prefix = c->req.param("prefix");
  const std::string delimiter = c->req.param("delimiter");
  XmlWriter w;
  w.open("ListMultipartUploadsResult", kS3Namespace)
      .element("Bucket", c->bucket->name)
      .element("KeyMarker", "")
      .element("UploadIdMarker", "")
      .element("Prefix", prefix);
  if (!delimiter.empty()) w.element("Delimiter", delimiter);
  w.element("MaxUploads", "1000").element("IsTruncated", "false");
  // With a delimiter, the uploads of keys that go on past it after the prefix are rolled up into
  // one CommonPrefixes entry each (S3 API reference, ListMultipartUploads), as ListObjects does.
  std::set<std::string> common;
  for (const auto& u : uploads_.list(c->bucket->name)) {
    if (u.key.compare(0, prefix.size(), prefix) != 0) continue;
    if (!delimiter.empty())
      if (const std::size_t at = u.key.find(delimiter, prefix.size()); at != std::string::npos) {
        common.insert(u.key.substr(0, at + delimiter.size()));
        continue;
      }
    w.open("Upload").element("Key", u.key).element("UploadId", u.id);
    w.open("Initiator").element("ID", kOwner).element("DisplayName", kOwner).close();
    w.open("Owner").element("ID", kOwner).element("DisplayName", kOwner).close();
    w.element("StorageClass", "STANDARD").element("Initiated", iso8601(u.initiated)).close();
  }
  for (const auto& p : common) w.open("CommonPrefixes").element("Prefix", p).close();
  c->reply_xml(w.str());
}

}  // namespace hivehook::s3
