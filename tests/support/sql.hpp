// One-shot SQL for test set-up and assertions, each on its own connection.
#pragma once

#include <string>

namespace tasklog::testing {

// Runs `sql` (one or more statements) in a transaction of its own and commits it. Returns the
// first column of the first row of the last statement as text: "" when there is none or it is NULL.
std::string query_value(const std::string& conninfo, const std::string& sql);

}  // namespace tasklog::testing
