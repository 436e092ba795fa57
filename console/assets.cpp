#include "console/assets.h"

#include <cstddef>

namespace hivehook::console {

extern const Asset kAssets[];        // the generated console_assets.cpp
extern const std::size_t kAssetCount;

const Asset* find_asset(std::string_view name) {
  for (std::size_t i = 0; i < kAssetCount; ++i)
    if (kAssets[i].name == name) return &kAssets[i];
  return nullptr;
}

}  // namespace hivehook::console
