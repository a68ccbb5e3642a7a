// query_value over libpqxx.
#include "tests/support/sql.hpp"

#include <pqxx/pqxx>

namespace tasklog::testing {

std::string query_value(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn{conninfo};
  pqxx::work tx{conn};
  const auto result = tx.exec(sql);
  tx.commit();
  return result.empty() || result.columns() == 0 || result[0][0].is_null() ? std::string()
                                                                             : result[0][0].as<std::string>();
}

}  // namespace tasklog::testing
