#include "services/events/sources/calendar.h"

#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "lib/cron/schedule.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

// Go's time.ParseDuration for what calendars use: [0-9.]+(h|m|s|ms|us|µs|ns)...
absl::StatusOr<absl::Duration> ParseInterval(absl::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError("empty duration");
  absl::Duration total = absl::ZeroDuration();
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    double n = 0;
    if (i == 0 || !absl::SimpleAtod(s.substr(0, i), &n)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid duration \"", s, "\""));
    }
    s.remove_prefix(i);
    static const std::pair<const char*, absl::Duration> kUnits[] = {
        {"ns", absl::Nanoseconds(1)},  {"us", absl::Microseconds(1)}, {"µs", absl::Microseconds(1)},
        {"ms", absl::Milliseconds(1)}, {"h", absl::Hours(1)},         {"m", absl::Minutes(1)},
        {"s", absl::Seconds(1)}};
    bool found = false;
    for (const auto& [unit, d] : kUnits) {
      if (absl::ConsumePrefix(&s, unit)) {
        total += n * d;
        found = true;
        break;
      }
    }
    if (!found) return absl::InvalidArgumentError("missing unit in duration");
  }
  return total;
}

class CalendarListener : public Listener {
 public:
  CalendarListener(std::unique_ptr<Emitter> emitter, std::optional<cron::Schedule> schedule,
                   absl::Duration interval, absl::TimeZone zone, std::set<absl::CivilDay> excluded)
      : Listener(std::move(emitter)),
        schedule_(std::move(schedule)),
        interval_(interval),
        zone_(zone),
        excluded_(std::move(excluded)) {}
  ~CalendarListener() override { Stop(); }

  void Run() {
    start_ = emitter_->Now();
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    controller::Clock* clock = emitter_->ctx().clock;
    absl::Time last = start_;
    while (true) {
      absl::Time next;
      if (schedule_.has_value()) {
        absl::StatusOr<absl::Time> n = schedule_->Next(last);
        if (!n.ok()) {
          SetError(std::string(n.status().message()));
          absl::MutexLock lock(&mu_);
          mu_.Await(absl::Condition(&stopping_));
          return;
        }
        next = *n;
      } else {
        next = last + interval_;
      }
      {
        absl::MutexLock lock(&mu_);
        if (clock->AwaitWithDeadline(&mu_, absl::Condition(&stopping_), next)) return;
      }
      last = next;
      if (excluded_.count(absl::ToCivilDay(next, zone_)) != 0) continue;
      // Go's time.String(), which Argo puts in eventTime.
      const std::string when = absl::FormatTime("%Y-%m-%d %H:%M:%E*S %z %Z", next, zone_);
      if (absl::Status s = emitter_->Emit({{"eventTime", when}}); !s.ok()) {
        SetError(absl::StrCat("publishing the event of ", when, ": ", s.message()));
      } else {
        SetListening(NextMessage(next));
      }
    }
  }

  std::string NextMessage(absl::Time after) const {
    if (!schedule_.has_value()) return absl::StrCat("every ", absl::FormatDuration(interval_));
    return absl::StrCat("schedule \"", schedule_->text(), "\" in ", zone_.name(), ", last fired ",
                        absl::FormatTime(absl::RFC3339_sec, after, zone_));
  }

  std::optional<cron::Schedule> schedule_;
  absl::Duration interval_;
  absl::TimeZone zone_;
  std::set<absl::CivilDay> excluded_;
  absl::Time start_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartCalendar(std::unique_ptr<Emitter> emitter) {
  const EventSpec& spec = emitter->spec();
  absl::StatusOr<std::string> schedule_text = StringField(spec, "schedule", false);
  if (!schedule_text.ok()) return schedule_text.status();
  absl::StatusOr<std::string> interval_text = StringField(spec, "interval", false);
  if (!interval_text.ok()) return interval_text.status();
  absl::StatusOr<std::string> tz = StringField(spec, "timezone", false);
  if (!tz.ok()) return tz.status();
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!tz->empty() && !absl::LoadTimeZone(*tz, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".timezone: unknown time zone \"", *tz, "\""));
  }
  std::optional<cron::Schedule> schedule;
  absl::Duration interval = absl::ZeroDuration();
  if (!schedule_text->empty()) {
    absl::StatusOr<cron::Schedule> s = cron::Schedule::Parse(*schedule_text, zone);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path(), ".schedule: ", s.status().message()));
    }
    schedule = std::move(*s);
  } else if (!interval_text->empty()) {
    absl::StatusOr<absl::Duration> d = ParseInterval(*interval_text);
    if (!d.ok() || *d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".interval: \"", *interval_text,
                                                     "\" is not a positive Go duration"));
    }
    interval = *d;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ": one of schedule or interval is required"));
  }
  std::set<absl::CivilDay> excluded;
  if (spec.config.contains("exclusionDates") && !spec.config["exclusionDates"].is_null()) {
    const json& dates = spec.config["exclusionDates"];
    if (!dates.is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path(), ".exclusionDates: must be a list"));
    }
    for (size_t i = 0; i < dates.size(); ++i) {
      const std::string where = absl::StrCat(spec.path(), ".exclusionDates[", i, "]");
      if (!dates[i].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": must be a string"));
      }
      absl::string_view text = dates[i].get_ref<const std::string&>();
      if (!absl::ConsumePrefix(&text, "EXDATE:")) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": must look like EXDATE:20060102T150405Z"));
      }
      for (absl::string_view one : absl::StrSplit(text, ',')) {
        // Go's layout 20060102T150405Z; absl's %Y would swallow every digit.
        int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
        const bool shaped =
            one.size() == 16 && one[8] == 'T' && one[15] == 'Z' &&
            absl::SimpleAtoi(one.substr(0, 4), &y) && absl::SimpleAtoi(one.substr(4, 2), &mo) &&
            absl::SimpleAtoi(one.substr(6, 2), &d) && absl::SimpleAtoi(one.substr(9, 2), &h) &&
            absl::SimpleAtoi(one.substr(11, 2), &mi) && absl::SimpleAtoi(one.substr(13, 2), &sec);
        const absl::CivilSecond cs(y, mo, d, h, mi, sec);
        if (!shaped || cs.year() != y || cs.month() != mo || cs.day() != d || cs.hour() != h ||
            cs.minute() != mi || cs.second() != sec) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": \"", one, "\" is not 20060102T150405Z"));
        }
        // Argo compares the date fields of the UTC exclusion with those of
        // the fire time in its zone.
        excluded.insert(absl::CivilDay(cs));
      }
    }
  }
  if (spec.config.contains("persistence") && !spec.config["persistence"].is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".persistence: catch-up persistence is not supported"));
  }
  auto listener = std::make_unique<CalendarListener>(std::move(emitter), std::move(schedule),
                                                     interval, zone, std::move(excluded));
  listener->SetListening(schedule_text->empty() ? "every " + *interval_text
                                                : "schedule \"" + *schedule_text + "\"");
  listener->Run();
  return listener;
}

}  // namespace argonaut::events::sources
