// The base fixture of the store contract suites (tests/store): a fresh store
// of the backend the test is instantiated with (SQLite file or PostgreSQL
// database), on a fake clock. Open() closes and reopens the same store.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/clock.h"
#include "patterns/registry.h"
#include "store/store.h"
#include "testing/cluster.h"
#include "testing/postgres.h"

namespace writ::testing {

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    StoreOptions o;
    if (url_.empty()) url_ = FreshStoreUrl(backend(), dir_.path());
    o.url = url_;
    o.migrate = true;
    o.clock = &clock_;
    o.schema = Schema();
    auto s = OpenStore(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  virtual Backend backend() const { return GetParam(); }
  // The schema steps to open the store with (every concern's, as writ serve).
  virtual std::vector<SchemaStep> Schema() const { return AllSchemaSteps(); }

  TempDir dir_;
  std::string url_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

}  // namespace writ::testing
