// EventSource rules: pkg/reconciler/eventsource/validate.go (unique event names, no mix of
// update strategies) and each source type's validate.go, plus parsable filters' inputs.

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "argonaut/events/v1/events.pb.h"
#include "re2/re2.h"
#include "services/events/validation/checks.h"
#include "services/events/validation/validate.h"

namespace argonaut::events::validation {
namespace {

using internal::Errors;
using internal::Field;
using internal::Index;
using internal::Key;

// Types whose listeners run on every replica (Argo's rolling-update strategy); every other
// type is leader-elected (recreate). One object may not mix the two.
bool ActiveActive(absl::string_view type) {
  static const std::set<absl::string_view> kTypes = {
      "webhook", "github",      "gitlab", "bitbucket", "bitbucketserver",   "sns", "sqs",
      "slack",   "storageGrid", "stripe", "gerrit",    "azureQueueStorage", "mns"};
  return kTypes.count(type) > 0;
}

void Require(absl::string_view path, bool present, Errors* errors) {
  if (!present) errors->Add(path, "required");
}

// Both WebhookContext and WebhookEventSource (which embeds its fields) have these accessors.
template <typename W>
void CheckWebhook(absl::string_view path, const W& ctx, Errors* errors) {
  if (ctx.endpoint().empty()) {
    errors->Add(Field(path, "endpoint"), "required");
  } else if (ctx.endpoint()[0] != '/') {
    errors->Add(Field(path, "endpoint"),
                absl::StrCat("must be a path starting with \"/\" (got \"", ctx.endpoint(), "\")"));
  }
  if (ctx.port().empty()) {
    errors->Add(Field(path, "port"), "required");
  } else if (!internal::IsPort(ctx.port())) {
    errors->Add(Field(path, "port"),
                absl::StrCat("must be a port number 1..65535 (got \"", ctx.port(), "\")"));
  }
  if (!ctx.method().empty()) {
    static const std::set<absl::string_view> kMethods = {"GET",   "POST", "PUT",    "DELETE",
                                                         "PATCH", "HEAD", "OPTIONS"};
    if (kMethods.count(ctx.method()) == 0) {
      errors->Add(
          Field(path, "method"),
          absl::StrCat("must be one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS (got \"",
                       ctx.method(), "\")"));
    }
  }
  if (ctx.has_max_payload_size() && ctx.max_payload_size() <= 0) {
    errors->Add(Field(path, "maxPayloadSize"), "must be positive");
  }
}

// Sources that embed a webhook under `webhook:` need it (Argo validates a nil context as an
// error).
void CheckNestedWebhook(absl::string_view path, bool has, const v1::WebhookContext& ctx,
                        Errors* errors) {
  if (!has) {
    errors->Add(Field(path, "webhook"), "required");
    return;
  }
  CheckWebhook(Field(path, "webhook"), ctx, errors);
}

void CheckWatchPath(absl::string_view path, const v1::WatchPathConfig& w, Errors* errors) {
  if (w.directory().empty()) {
    errors->Add(Field(path, "directory"), "required");
  } else if (w.directory()[0] != '/') {
    errors->Add(Field(path, "directory"), "must be an absolute path");
  }
  if (w.path().empty() && w.path_regexp().empty()) {
    errors->Add(path, "one of path or pathRegexp is required");
  } else if (!w.path().empty() && !w.path_regexp().empty()) {
    errors->Add(path, "path and pathRegexp are mutually exclusive");
  }
  if (!w.path().empty() && w.path()[0] == '/') {
    errors->Add(Field(path, "path"), "must be relative to the directory");
  }
  if (!w.path_regexp().empty()) {
    RE2 re(w.path_regexp(), RE2::Quiet);
    if (!re.ok()) errors->Add(Field(path, "pathRegexp"), absl::StrCat("invalid: ", re.error()));
  }
}

void CheckFileEventType(absl::string_view path, const std::string& type, Errors* errors) {
  static const std::set<absl::string_view> kOps = {"CREATE", "WRITE", "REMOVE", "RENAME", "CHMOD"};
  if (type.empty()) {
    errors->Add(path, "required");
  } else if (kOps.count(type) == 0) {
    errors->Add(path, absl::StrCat("must be one of CREATE, WRITE, REMOVE, RENAME, CHMOD (got \"",
                                   type, "\")"));
  }
}

void CheckCalendar(absl::string_view path, const v1::CalendarEventSource& cal, Errors* errors) {
  if (!cal.timezone().empty() && !internal::IsTimeZone(cal.timezone())) {
    errors->Add(Field(path, "timezone"),
                absl::StrCat("unknown time zone \"", cal.timezone(), "\""));
  }
  if (!cal.schedule().empty()) {
    internal::CheckCron(Field(path, "schedule"), cal.schedule(), cal.timezone(), errors);
  } else if (!cal.interval().empty()) {
    absl::StatusOr<absl::Duration> d = ParseGoDuration(cal.interval());
    if (!d.ok()) {
      errors->Add(Field(path, "interval"), d.status().message());
    } else if (*d <= absl::ZeroDuration()) {
      errors->Add(Field(path, "interval"), "must be positive");
    }
  } else {
    errors->Add(path, "one of schedule or interval is required");
  }
  for (int i = 0; i < cal.exclusion_dates_size(); ++i) {
    // Argo reads these as iCalendar EXDATE lines: "EXDATE:20060102T150405Z[,...]".
    static const RE2 kExDate(R"(EXDATE(;[^:]*)?:\d{8}T\d{6}Z?(,\d{8}T\d{6}Z?)*)");
    if (!RE2::FullMatch(cal.exclusion_dates(i), kExDate)) {
      errors->Add(
          Index(Field(path, "exclusionDates"), i),
          absl::StrCat("expected EXDATE:YYYYMMDDThhmmssZ (got \"", cal.exclusion_dates(i), "\")"));
    }
  }
  if (cal.has_persistence() && cal.persistence().has_catchup()) {
    internal::CheckDuration(Field(path, "persistence.catchup.maxDuration"),
                            cal.persistence().catchup().max_duration(), errors);
  }
}

void CheckSelectors(absl::string_view path,
                    const google::protobuf::RepeatedPtrField<v1::Selector>& selectors,
                    const std::set<absl::string_view>& operations, Errors* errors) {
  for (int i = 0; i < selectors.size(); ++i) {
    const std::string at = Index(path, i);
    if (selectors[i].key().empty()) errors->Add(Field(at, "key"), "required");
    if (!selectors[i].operation().empty() && operations.count(selectors[i].operation()) == 0) {
      errors->Add(Field(at, "operation"),
                  absl::StrCat("unknown operation \"", selectors[i].operation(), "\""));
    }
  }
}

void CheckResource(absl::string_view path, const v1::ResourceEventSource& r, Errors* errors) {
  Require(Field(path, "version"), !r.version().empty(), errors);
  Require(Field(path, "resource"), !r.resource().empty(), errors);
  if (r.event_types().empty()) errors->Add(Field(path, "eventTypes"), "required");
  for (int i = 0; i < r.event_types_size(); ++i) {
    const std::string& t = r.event_types(i);
    if (t != "ADD" && t != "UPDATE" && t != "DELETE") {
      errors->Add(Index(Field(path, "eventTypes"), i),
                  absl::StrCat("must be one of ADD, UPDATE, DELETE (got \"", t, "\")"));
    }
  }
  if (r.has_filter()) {
    // Label operators are Kubernetes selection operators; field selectors compare only.
    CheckSelectors(Field(path, "filter.labels"), r.filter().labels(),
                   {"=", "==", "!=", "exists", "!", "in", "notin", "gt", "lt"}, errors);
    CheckSelectors(Field(path, "filter.fields"), r.filter().fields(), {"=", "==", "!="}, errors);
  }
}

void CheckExpression(absl::string_view path, bool has, const v1::EventSourceFilter& filter,
                     Errors* errors) {
  if (has && filter.expression().empty()) errors->Add(Field(path, "filter.expression"), "required");
}

template <typename Map, typename Fn>
void Each(absl::string_view type, const Map& map, std::set<std::string>* names, Errors* errors,
          Fn fn) {
  for (const auto& [name, config] : map) {
    const std::string path = Key(Field("spec", type), name);
    if (name.empty()) errors->Add(path, "event name must not be empty");
    if (!names->insert(name).second) {
      errors->Add(path, absl::StrCat("event name \"", name, "\" is used more than once"));
    }
    fn(path, config);
  }
}

}  // namespace

absl::Status ValidateEventSource(const v1::EventSource& event_source) {
  Errors errors;
  if (event_source.metadata().name().empty() && event_source.metadata().generate_name().empty()) {
    errors.Add("metadata.name", "required");
  }
  const v1::EventSourceSpec& spec = event_source.spec();
  const std::vector<std::string> types = SourceTypes(spec);
  if (types.empty()) errors.Add("spec", "no event source defined (one of webhook, calendar, ...)");
  int active = 0;
  for (const std::string& t : types) active += ActiveActive(t) ? 1 : 0;
  if (active > 0 && active < static_cast<int>(types.size())) {
    errors.Add("spec", absl::StrCat("event source types with different update strategies cannot "
                                    "be mixed in one EventSource (",
                                    absl::StrJoin(types, ", "), ")"));
  }
  if (spec.has_replicas() && spec.replicas() < 0) errors.Add("spec.replicas", "must be >= 0");

  std::set<std::string> names;
  Errors* e = &errors;
  Each("webhook", spec.webhook(), &names, e, [e](const std::string& p, const auto& c) {
    CheckWebhook(p, c, e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("github", spec.github(), &names, e, [e](const std::string& p, const auto& c) {
    const bool repos = c.repositories_size() > 0 || (!c.owner().empty() && !c.repository().empty());
    const bool orgs = c.organizations_size() > 0;
    if (!repos && !orgs) e->Add(p, "one of repositories or organizations is required");
    if (repos && orgs) e->Add(p, "repositories and organizations are mutually exclusive");
    const bool creates_hooks =
        (c.has_api_token() || (c.has_github_app() && c.github_app().has_private_key())) &&
        c.has_webhook() && !c.webhook().url().empty();
    if (creates_hooks && c.events().empty()) {
      e->Add(Field(p, "events"), "required to create the GitHub webhook");
    }
    if (!c.content_type().empty() && c.content_type() != "json" && c.content_type() != "form") {
      e->Add(Field(p, "contentType"), "must be \"json\" or \"form\"");
    }
    if (c.github_base_url().empty() != c.github_upload_url().empty()) {
      e->Add(p, "githubBaseURL and githubUploadURL go together");
    }
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("gitlab", spec.gitlab(), &names, e, [e](const std::string& p, const auto& c) {
    if (c.events().empty()) e->Add(Field(p, "events"), "required");
    Require(Field(p, "gitlabBaseURL"), !c.gitlab_base_url().empty(), e);
    Require(Field(p, "accessToken"), c.has_access_token(), e);
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("bitbucket", spec.bitbucket(), &names, e, [e](const std::string& p, const auto& c) {
    const bool repos =
        c.repositories_size() > 0 || (!c.owner().empty() && !c.repository_slug().empty());
    if (!repos) e->Add(Field(p, "repositories"), "at least one repository is required");
    if (c.has_auth() && c.has_webhook() && !c.webhook().url().empty() && c.events().empty()) {
      e->Add(Field(p, "events"), "required to create the Bitbucket webhook");
    }
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("bitbucketserver", spec.bitbucketserver(), &names, e,
       [e](const std::string& p, const auto& c) {
         if (c.has_access_token() && c.has_webhook() && !c.webhook().url().empty() &&
             c.events().empty()) {
           e->Add(Field(p, "events"), "required to create the Bitbucket Server webhook");
         }
         Require(Field(p, "bitbucketserverBaseURL"), !c.bitbucketserver_base_url().empty(), e);
         internal::CheckDuration(Field(p, "checkInterval"), c.check_interval(), e);
         CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
         CheckExpression(p, c.has_filter(), c.filter(), e);
       });
  Each("calendar", spec.calendar(), &names, e, [e](const std::string& p, const auto& c) {
    CheckCalendar(p, c, e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("file", spec.file(), &names, e, [e](const std::string& p, const auto& c) {
    CheckFileEventType(Field(p, "eventType"), c.event_type(), e);
    if (!c.has_watch_path_config()) {
      e->Add(Field(p, "watchPathConfig"), "required");
    } else {
      CheckWatchPath(Field(p, "watchPathConfig"), c.watch_path_config(), e);
    }
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("sftp", spec.sftp(), &names, e, [e](const std::string& p, const auto& c) {
    CheckFileEventType(Field(p, "eventType"), c.event_type(), e);
    if (!c.has_watch_path_config()) {
      e->Add(Field(p, "watchPathConfig"), "required");
    } else {
      CheckWatchPath(Field(p, "watchPathConfig"), c.watch_path_config(), e);
    }
    internal::CheckDuration(Field(p, "pollIntervalDuration"), c.poll_interval_duration(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("resource", spec.resource(), &names, e,
       [e](const std::string& p, const auto& c) { CheckResource(p, c, e); });
  Each("nats", spec.nats(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "url"), !c.url().empty(), e);
    Require(Field(p, "subject"), !c.subject().empty(), e);
    if (c.has_queue() && c.queue().empty()) e->Add(Field(p, "queue"), "must not be empty if set");
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("redis", spec.redis(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "hostAddress"), !c.host_address().empty(), e);
    if (c.channels().empty()) e->Add(Field(p, "channels"), "required");
    if (c.has_password() && c.namespace_().empty()) {
      e->Add(Field(p, "namespace"), "required to read the password Secret");
    }
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("redisStream", spec.redis_stream(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "hostAddress"), !c.host_address().empty(), e);
    if (c.streams().empty()) e->Add(Field(p, "streams"), "required");
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("mqtt", spec.mqtt(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "url"), !c.url().empty(), e);
    Require(Field(p, "topic"), !c.topic().empty(), e);
    Require(Field(p, "clientId"), !c.client_id().empty(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("amqp", spec.amqp(), &names, e, [e](const std::string& p, const auto& c) {
    if (c.url().empty() && !c.has_url_secret()) e->Add(p, "one of url or urlSecret is required");
    if (!c.url().empty() && c.has_url_secret())
      e->Add(p, "url and urlSecret are mutually exclusive");
    Require(Field(p, "routingKey"), !c.routing_key().empty(), e);
    Require(Field(p, "exchangeType"), !c.exchange_type().empty(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("kafka", spec.kafka(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "url"), !c.url().empty(), e);
    Require(Field(p, "topic"), !c.topic().empty(), e);
    if (c.partition().empty() && !c.has_consumer_group()) {
      e->Add(p, "one of partition or consumerGroup is required");
    }
    if (c.has_aws_msk_iam_auth() && c.aws_msk_iam_auth().region().empty()) {
      e->Add(Field(p, "awsMskIamAuth.region"), "required");
    }
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("sns", spec.sns(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "topicArn"), !c.topic_arn().empty(), e);
    Require(Field(p, "region"), !c.region().empty(), e);
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("sqs", spec.sqs(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "region"), !c.region().empty(), e);
    Require(Field(p, "queue"), !c.queue().empty(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("pubSub", spec.pub_sub(), &names, e, [e](const std::string& p, const auto& c) {
    if (!c.topic_project_id().empty() && c.topic().empty()) {
      e->Add(Field(p, "topicProjectID"), "needs topic");
    }
    if (c.topic().empty() && c.subscription_id().empty()) {
      e->Add(p, "one of topic or subscriptionID is required");
    }
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("minio", spec.minio(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "accessKey"), c.has_access_key(), e);
    Require(Field(p, "secretKey"), c.has_secret_key(), e);
    Require(Field(p, "endpoint"), !c.endpoint().empty(), e);
    if (c.has_bucket() && c.bucket().name().empty()) e->Add(Field(p, "bucket.name"), "required");
    for (int i = 0; i < c.events_size(); ++i) {
      if (!absl::StartsWith(c.events(i), "s3:")) {
        e->Add(Index(Field(p, "events"), i),
               absl::StrCat("unknown bucket notification \"", c.events(i), "\""));
      }
    }
  });
  Each("nsq", spec.nsq(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "hostAddress"), !c.host_address().empty(), e);
    Require(Field(p, "topic"), !c.topic().empty(), e);
    Require(Field(p, "channel"), !c.channel().empty(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("pulsar", spec.pulsar(), &names, e, [e](const std::string& p, const auto& c) {
    if (c.topics().empty()) e->Add(Field(p, "topics"), "required");
    Require(Field(p, "url"), !c.url().empty(), e);
    if (c.type() != "exclusive" && c.type() != "shared") {
      e->Add(Field(p, "type"), "must be exclusive or shared");
    }
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("emitter", spec.emitter(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "broker"), !c.broker().empty(), e);
    Require(Field(p, "channelName"), !c.channel_name().empty(), e);
    Require(Field(p, "channelKey"), !c.channel_key().empty(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("hdfs", spec.hdfs(), &names, e, [e](const std::string& p, const auto& c) {
    CheckFileEventType(Field(p, "type"), c.type(), e);
    internal::CheckDuration(Field(p, "checkInterval"), c.check_interval(), e);
    if (c.addresses().empty()) e->Add(Field(p, "addresses"), "required");
    const bool keytab = c.has_krb_keytab_secret();
    const bool ccache = c.has_krb_c_cache_secret();
    if (c.hdfs_user().empty() && !keytab && !ccache) {
      e->Add(p, "one of hdfsUser, krbCCacheSecret or krbKeytabSecret is required");
    }
    if ((keytab || ccache) &&
        (c.krb_service_principal_name().empty() || !c.has_krb_config_config_map())) {
      e->Add(p, "krbServicePrincipalName and krbConfigConfigMap are required with Kerberos");
    }
    if (keytab && (c.krb_username().empty() || c.krb_realm().empty())) {
      e->Add(p, "krbUsername and krbRealm are required with krbKeytabSecret");
    }
    v1::WatchPathConfig w;
    w.set_directory(c.directory());
    w.set_path(c.path());
    w.set_path_regexp(c.path_regexp());
    CheckWatchPath(p, w, e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("slack", spec.slack(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "token"), c.has_token(), e);
    Require(Field(p, "signingSecret"), c.has_signing_secret(), e);
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("stripe", spec.stripe(), &names, e, [e](const std::string& p, const auto& c) {
    if (c.create_webhook() && !c.has_api_key()) {
      e->Add(Field(p, "apiKey"), "required with createWebhook");
    }
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
  });
  Each("storageGrid", spec.storage_grid(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "topicArn"), !c.topic_arn().empty(), e);
    Require(Field(p, "apiURL"), !c.api_url().empty(), e);
    Require(Field(p, "authToken"), c.has_auth_token(), e);
    Require(Field(p, "bucket"), !c.bucket().empty(), e);
    if (c.events().empty()) e->Add(Field(p, "events"), "required");
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
  });
  Each("azureEventsHub", spec.azure_events_hub(), &names, e,
       [e](const std::string& p, const auto& c) {
         Require(Field(p, "fqdn"), !c.fqdn().empty(), e);
         Require(Field(p, "hubName"), !c.hub_name().empty(), e);
         if (c.has_shared_access_key() != c.has_shared_access_key_name()) {
           e->Add(p, "sharedAccessKey and sharedAccessKeyName go together");
         }
         CheckExpression(p, c.has_filter(), c.filter(), e);
       });
  Each("azureServiceBus", spec.azure_service_bus(), &names, e,
       [e](const std::string& p, const auto& c) {
         if (!c.has_connection_string() && c.fully_qualified_namespace().empty()) {
           e->Add(p, "one of connectionString or fullyQualifiedNamespace is required");
         }
         const bool topic = !c.topic_name().empty() || !c.subscription_name().empty();
         if (c.queue_name().empty() && !topic) {
           e->Add(p, "one of queueName or topicName+subscriptionName is required");
         } else if (!c.queue_name().empty() && topic) {
           e->Add(p, "queueName and topicName/subscriptionName are mutually exclusive");
         } else if (topic && (c.topic_name().empty() || c.subscription_name().empty())) {
           e->Add(p, "topicName and subscriptionName go together");
         }
         CheckExpression(p, c.has_filter(), c.filter(), e);
       });
  Each("azureQueueStorage", spec.azure_queue_storage(), &names, e,
       [e](const std::string& p, const auto& c) {
         if (!c.has_connection_string() && c.storage_account_name().empty()) {
           e->Add(p, "one of connectionString or storageAccountName is required");
         }
         Require(Field(p, "queueName"), !c.queue_name().empty(), e);
         CheckExpression(p, c.has_filter(), c.filter(), e);
       });
  Each("gerrit", spec.gerrit(), &names, e, [e](const std::string& p, const auto& c) {
    if (c.projects().empty()) e->Add(Field(p, "projects"), "required");
    if (c.events().empty()) e->Add(Field(p, "events"), "required");
    Require(Field(p, "gerritBaseURL"), !c.gerrit_base_url().empty(), e);
    Require(Field(p, "auth"), c.has_auth(), e);
    CheckNestedWebhook(p, c.has_webhook(), c.webhook(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("mns", spec.mns(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "queue"), !c.queue().empty(), e);
    Require(Field(p, "endpoint"), !c.endpoint().empty(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  Each("generic", spec.generic(), &names, e, [e](const std::string& p, const auto& c) {
    Require(Field(p, "url"), !c.url().empty(), e);
    Require(Field(p, "config"), !c.config().empty(), e);
    CheckExpression(p, c.has_filter(), c.filter(), e);
  });
  return errors.ToStatus();
}

}  // namespace argonaut::events::validation
