// The locator finds the folder with the sets its README promises.
#include <doctest/doctest.h>

#include <filesystem>

#include "data/shared_data.h"

TEST_CASE("find_shared_data: the folder holds the three sets") {
  const auto dir = pn::data::find_shared_data();
  REQUIRE(dir);
  for (const char* sub : {"soop/lesions", "lesymap/lesions", "icbm152"})
    CHECK_MESSAGE(std::filesystem::is_directory(std::filesystem::path(*dir) / sub), sub);
  CHECK(pn::data::shared_data_path("soop/ArterialAtlas136.txt"));
  CHECK_FALSE(pn::data::shared_data_path("no/such/file"));
}
