#include "store/store.h"

#include "store/postgres/postgres_database.h"
#include "store/sqlite/sqlite_database.h"

namespace writ {

std::vector<SchemaStep> CoreSchemaSteps() {
  return {KeyStore::Schema(), CommandQueue::Schema(), JobStore::Schema(), KeyStore::GenerationSchema(),
          CommandQueue::UnknownSchema(), KeyStore::OpenIndexSchema(),
          KeyStore::RequestSchema(), ApiKeyStore::Schema(), CommandQueue::SinkSchema(),
          CommandQueue::RelayIndexSchema()};
}

Result<std::unique_ptr<Database>> OpenDatabase(const StoreOptions& options) {
  if (options.url.rfind("sqlite:", 0) == 0) return OpenSqliteDatabase(options);
  if (options.url.rfind("postgres://", 0) == 0 || options.url.rfind("postgresql://", 0) == 0)
    return OpenPostgresDatabase(options);
  return Status(Code::kInvalidArgument,
                "unsupported store url '" + options.url + "' (use sqlite:PATH or postgres://user@host:port/db)");
}

Store::Store(Database& db) : db_(db), keys_(db), queue_(db), jobs_(db), api_keys_(db) {}

Store::Store(std::unique_ptr<Database> db)
    : owned_(std::move(db)), db_(*owned_), keys_(db_), queue_(db_), jobs_(db_), api_keys_(db_) {}

Status Store::Ping() {
  auto r = ReadFor<bool>(db_, [&](sql::Conn& c) -> Result<bool> {
    auto st = c.Prepare("SELECT 1 FROM idem_keys LIMIT 1");
    if (!st.ok()) return st.status();
    int rc = st->Step();
    if (rc != sql::kRow && rc != sql::kDone) return c.Error("ping");
    return true;
  });
  return r.ok() ? Status::Ok() : r.status();
}

void Store::CollectGarbage(int batch, Callback<int> done) {
  std::vector<Added> all = {{&KeyStore::DeleteExpired}, {&CommandQueue::DeleteExpired}, {&JobStore::DeleteExpired}};
  all.insert(all.end(), collectors_.begin(), collectors_.end());
  struct Counts {
    int deleted = 0, erased = 0;
  };
  Database& db = db_;
  SubmitFor<Counts>(
      db_,
      [&db, batch, all = std::move(all)](sql::Conn& c) -> Result<Counts> {
        Millis now = db.Now();
        Counts n;
        for (const auto& a : all) {
          auto r = a.collect(c, batch, now);
          if (!r.ok()) return r.status();
          n.deleted += *r;
          if (a.erasing) n.erased += *r;
        }
        return n;
      },
      [&db, done = std::move(done)](Result<Counts> r) {
        if (!r.ok()) return done(r.status());
        if (r->erased == 0) return done(r->deleted);
        int deleted = r->deleted;
        db.Checkpoint([done, deleted](Status s) {
          if (!s.ok()) return done(s);
          done(deleted);
        });
      },
      /*durable=*/false);
}

Result<int> CollectGarbageSync(Store& s, int batch) {
  return Wait<int>([&](auto cb) { s.CollectGarbage(batch, cb); });
}

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  auto db = OpenDatabase(options);
  if (!db.ok()) return db.status();
  return std::make_unique<Store>(std::move(*db));
}

}  // namespace writ
