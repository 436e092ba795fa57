// Can two rules' matches take the same key? Used by `check` to find a cycle through a batch
// (issue 14, G1 of the new-user retest): a rule that `requires:` a batch rule whose members include
// the requiring rule's own objects waits for a batch that waits for it.
#pragma once

#include "rules/rule.h"

namespace hivehook {

// False only when no key can match both `a` and `b`: their literal prefixes or suffixes (the
// `prefix:`/`suffix:` keys, and the glob's text before its first and after its last wildcard)
// disagree, a `partition:` name is pinned to two values, or two globs without '**' have a different
// number of segments or a pair of segments whose literal ends disagree. Otherwise true (they may
// overlap: conservative, never a false "disjoint").
bool matches_may_overlap(const MatchSpec& a, const MatchSpec& b);

}  // namespace hivehook
