// Checks JSON bodies against the definitions of a Swagger 2.0 document, such as Argo's
// argo-rollouts.swagger.json and argo-workflows.swagger.json, so that tests can show the gateway
// answers in the shape those documents describe.
//
// The documents are generated from protobuf by grpc-gateway, which describes a few Kubernetes
// types by their protobuf fields while every server (Kubernetes', Argo's) writes them in their
// JSON form; those are checked in the JSON form:
//   meta.v1.Time          an RFC 3339 string (the document says {seconds, nanos})
//   intstr.IntOrString    an integer or a string
//   resource.Quantity     a string or a number
//   int64/uint64 strings  a decimal string or an integer (Kubernetes writes generation as a number)
//
//   ASSIGN_OR_RETURN(SwaggerSchema doc, SwaggerSchema::Parse(text));
//   std::vector<std::string> problems = doc.Check(body, "rollout.RolloutInfo");
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {

class SwaggerSchema {
 public:
  static absl::StatusOr<SwaggerSchema> Parse(std::string_view text);

  struct Operation {
    std::string method;       // GET, PUT ... (upper case)
    std::string path;         // the path template, e.g. /api/v1/rollouts/{namespace}/info
    nlohmann::json response;  // the schema of the 200 response
  };
  std::vector<Operation> Operations() const;

  // Problems with `value` as an instance of definition `definition` (its name without
  // "#/definitions/"), each "<json path>: <what>"; empty when it conforms. A property the
  // definition does not name is a problem unless its name is in `allowed_extra`.
  std::vector<std::string> Check(const nlohmann::json& value, std::string_view definition,
                                 const std::set<std::string>& allowed_extra = {}) const;
  // The same against a schema object (e.g. an Operation's response).
  std::vector<std::string> CheckSchema(const nlohmann::json& value, const nlohmann::json& schema,
                                       const std::set<std::string>& allowed_extra = {}) const;

 private:
  void Walk(const nlohmann::json& value, const nlohmann::json& schema, const std::string& path,
            const std::set<std::string>& allowed_extra, std::vector<std::string>& problems,
            int depth) const;

  nlohmann::json doc_;
};

}  // namespace argonaut::gateway
