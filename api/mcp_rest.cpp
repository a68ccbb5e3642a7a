// In-process /v1 requests on behalf of an MCP caller (see the header).
#include "api/mcp_rest.hpp"

namespace tasklog::api::mcp {

RestReply call_rest(const Router& router, const RequestContext& ctx, const RestCall& call) {
  Request request{call.method, call.target, 11};
  if (const auto auth = ctx.request.find(http::field::authorization); auth != ctx.request.end())
    request.set(http::field::authorization, auth->value());
  for (const auto& [name, value] : call.headers) request.set(name, value);
  if (!call.body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = call.body;
  }
  request.prepare_payload();
  const Response response = router.dispatch(request, ctx.services);
  return RestReply{.status = response.result_int(), .body = response.body()};
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace tasklog::api::mcp
