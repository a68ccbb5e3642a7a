// The /v1 routes: each group of endpoints registers itself (api/routes_*.cpp).
#include "api/dashboard.hpp"
#include "api/mcp_endpoint.hpp"
#include "api/route_support.hpp"

namespace tasklog::api {

void add_v1_routes(Router& router) {
  add_project_routes(router);
  add_task_routes(router);
  add_record_routes(router);
  add_event_routes(router);
  add_mcp_routes(router);  // /mcp: MCP over the same routes (api/mcp_endpoint.hpp)
  add_dashboard_routes(router);  // GET /: the page that uses these routes (api/dashboard.hpp)
}

}  // namespace tasklog::api
