// The name of a node of a cluster (`run --node NAME`, `node:`; docs/cluster.md): what it is called in
// the store's `nodes` table, on every row it writes, and in `status`.
#pragma once

#include <string>

namespace hivehook {

// True for a name a node may have: 1-63 of [A-Za-z0-9._-], not starting with '.', '-' or '_' (a DNS
// label's characters, so a host name usually is one).
bool valid_node_name(const std::string& name);

// This machine's host name as a node name (characters a node name may not have become '-'); "node"
// when it has none. The default when neither --node nor `node:` names one.
std::string default_node_name();

}  // namespace hivehook
