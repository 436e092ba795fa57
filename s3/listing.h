// Listing a bucket's tree the way ListObjects(V2) pages through it: keys in UTF-8 binary order,
// filtered by prefix, grouped by a delimiter into common prefixes, resumed after a key or a common
// prefix (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "landing/beneath.h"

namespace hivehook::s3 {

struct ListedObject {
  std::string key;
  std::string file;  // the stored file's path in the tree: the key, or its latest version ("k~17")
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

struct ListQuery {
  std::string prefix;
  std::string delimiter;    // "" = no grouping
  std::string start_after;  // keys <= this are skipped
  std::string skip_prefix;  // keys starting with this are skipped (resuming after a common prefix)
  std::size_t max_keys = 1000;
  // archive and quarantine: each key once, as its latest stored version (s3/versions.h); the
  // "<key>~<object id>" files of older versions are not listed.
  bool latest_versions = false;
  // The listing is sent with encoding-type=url, so names holding control characters (which XML 1.0
  // cannot carry) can be listed exactly, %-encoded. Without it they are left out.
  bool url_encoded = false;
};

struct ListPage {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  // The last entry returned (a key, or a common prefix when last_is_prefix): where the next page
  // resumes.
  std::string last;
  bool last_is_prefix = false;
  std::vector<std::string> errors;  // folders that could not be read (skipped), one sentence each
  // Files and folders left out because their names are no S3 key: not UTF-8 (S3 keys are UTF-8;
  // a client decodes such a key into another, which it then cannot fetch), or, without
  // url_encoded, holding a character XML 1.0 cannot carry. Their paths in the tree.
  std::vector<std::string> unlisted;
};

// Walks `tree` beneath its fd (symlinks and non-regular files are not objects; neither are
// hivehook's temporary files, nor files whose names are no S3 key (ListPage::unlisted); empty
// folders yield nothing). Subtrees outside the prefix or before
// start_after are never opened.
ListPage list_tree(const Tree& tree, const ListQuery& query);

}  // namespace hivehook::s3
