// SPDX-License-Identifier: GPL-2.0-or-later
// The logging front end (see logging.h): Log puts the parts together. spdlog
// filters by level and writes to the sinks: the syslog sink
// (log_syslog_sink.h) through a small adapter, and optionally stderr. Only
// this file sees spdlog.
#include "daemon/logging.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

#include "config/policy.h"
#include "daemon/log_syslog_sink.h"

namespace vg::daemon {

namespace {

// spdlog has no "notice", so voipguard's five severities take spdlog's five
// lowest levels; only this file sees spdlog's names.
spdlog::level::level_enum to_spdlog(Severity s) noexcept {
    switch (s) {
    case Severity::debug: return spdlog::level::trace;
    case Severity::info: return spdlog::level::debug;
    case Severity::notice: return spdlog::level::info;
    case Severity::warning: return spdlog::level::warn;
    case Severity::error: return spdlog::level::err;
    }
    return spdlog::level::debug;
}

Severity from_spdlog(spdlog::level::level_enum l) noexcept {
    switch (l) {
    case spdlog::level::trace: return Severity::debug;
    case spdlog::level::debug: return Severity::info;
    case spdlog::level::info: return Severity::notice;
    case spdlog::level::warn: return Severity::warning;
    default: return Severity::error;
    }
}

// %* in a pattern: voipguard's severity name.
class SeverityFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        const std::string_view name = severity_name(from_spdlog(msg.level));
        dest.append(name.data(), name.data() + name.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SeverityFlag>(); }
};

// The syslog sink as an spdlog sink; spdlog's mutex serialises its sends.
class SpdlogSyslogSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    SpdlogSyslogSink(std::string path, std::string ident, int facility, LogFormat format)
        : sink_(std::move(path), std::move(ident), facility, format) {}

    SyslogSink& sink() noexcept { return sink_; }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        (void)sink_.send(from_spdlog(msg.level), msg.time, std::string_view(msg.payload.data(), msg.payload.size()));
    }
    void flush_() override {}

private:
    SyslogSink sink_;
};

}  // namespace

struct Log::Impl {
    std::shared_ptr<SpdlogSyslogSink> syslog;
    std::shared_ptr<spdlog::logger> logger;
};

Log::Log(LogOptions options)
    : impl_(std::make_unique<Impl>()),
      options_(std::move(options)),
      aggregator_(options_.aggregate_window, options_.max_keys) {
    std::vector<spdlog::sink_ptr> sinks;
    if (options_.syslog) {
        impl_->syslog = std::make_shared<SpdlogSyslogSink>(options_.syslog_path, options_.ident, options_.facility,
                                                           options_.format);
        sinks.push_back(impl_->syslog);
    }
    if (options_.to_stderr) {
        auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<SeverityFlag>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %*: %v");
        err->set_formatter(std::move(formatter));
        sinks.push_back(std::move(err));
    }
    impl_->logger = std::make_shared<spdlog::logger>(options_.ident, sinks.begin(), sinks.end());
    impl_->logger->set_level(to_spdlog(options_.level));
}

Log::~Log() = default;

void Log::reconfigure(const LogOptions& options) {
    options_.site = options.site;
    options_.level = options.level;
    options_.facility = options.facility;
    options_.aggregate_window = options.aggregate_window;
    options_.format = options.format;
    options_.numbers = options.numbers;
    impl_->logger->set_level(to_spdlog(options_.level));
    if (impl_->syslog) {
        impl_->syslog->sink().set_facility(options_.facility);
        impl_->syslog->sink().set_format(options_.format);
    }
    aggregator_.set_window(options_.aggregate_window);
}

bool Log::enabled(Severity s) const noexcept { return impl_->logger->should_log(to_spdlog(s)); }

void Log::write(Severity s, std::string_view line) {
    // Passed as a plain string_view: never used as a format string.
    impl_->logger->log(to_spdlog(s), spdlog::string_view_t(line.data(), line.size()));
}

void Log::emit_aggregated(const LineKind& kind, std::string_view key_fields, const std::string& line,
                          engine::Timestamp now) {
    if (aggregator_.admit(kind.id, key_fields, kind.severity, now)) write(kind.severity, line);
}

void Log::on_event(const engine::Event& e) {
    const Severity s = event_severity(e.type);
    if (!enabled(s)) return;
    const std::string key = event_key_fields(e);
    if (aggregator_.admit(engine::event_id(e.type), key, s, e.time)) write(s, format_event(e, options_.site, options_.numbers));
}

void Log::write_summaries(const std::vector<Aggregator::Summary>& summaries) {
    for (const Aggregator::Summary& s : summaries) write(s.severity, format_summary(s, options_.site));
}

void Log::flush(engine::Timestamp now) {
    write_summaries(aggregator_.flush(now));
    const std::uint64_t lost = lines_lost();
    if (lost != lost_reported_) {
        write(kLogLostLine.severity, log_lost_line(options_.site, lost - lost_reported_));
        // If this line is lost too, it is not reported again at the next flush.
        lost_reported_ = lines_lost();
    }
    impl_->logger->flush();
}

void Log::flush_all(engine::Timestamp now) {
    write_summaries(aggregator_.flush_all(now));
    impl_->logger->flush();
}

std::uint64_t Log::lines_lost() const noexcept { return impl_->syslog ? impl_->syslog->sink().lost() : 0; }

void Log::start(const StartInfo& info) {
    write(kStartLine.severity, start_line(options_.site, info, options_.level));
}

void Log::reload_ok(std::string_view policy, std::size_t warnings) {
    write(kReloadOkLine.severity, reload_ok_line(options_.site, policy, warnings));
}

void Log::reload_failed(std::string_view policy, const std::vector<std::string>& errors) {
    write(kReloadFailedLine.severity, reload_failed_line(options_.site, policy, errors));
}

void Log::backend(std::string_view chosen, std::string_view why) {
    write(kBackendLine.severity, backend_line(options_.site, chosen, why));
}

void Log::stats(const StatsInfo& s) { write(kStatsLine.severity, stats_line(options_.site, s)); }

void Log::shutdown(std::string_view reason) { write(kShutdownLine.severity, shutdown_line(options_.site, reason)); }

void Log::kernel_drop(const KernelDropInfo& d, engine::Timestamp now) {
    if (!enabled(kKernelDropLine.severity)) return;
    emit_aggregated(kKernelDropLine, kernel_drop_key(d), kernel_drop_line(options_.site, d), now);
}

void Log::control_rejected(std::string_view reason, std::string_view detail, std::int64_t peer_uid,
                           std::int64_t peer_pid, engine::Timestamp now) {
    if (!enabled(kControlRejectedLine.severity)) return;
    emit_aggregated(kControlRejectedLine, control_rejected_key(reason),
                    control_rejected_line(options_.site, reason, detail, peer_uid, peer_pid), now);
}

bool apply_policy(LogOptions& o, const config::Policy& p, std::string* error) {
    const std::optional<Severity> level = parse_severity(p.logging.level);
    if (!level) {
        if (error) *error = "logging.level: unknown level \"" + p.logging.level + "\"";
        return false;
    }
    const std::optional<int> facility = parse_facility(p.logging.facility);
    if (!facility) {
        if (error) *error = "logging.facility: unknown facility \"" + p.logging.facility + "\"";
        return false;
    }
    const std::optional<LogFormat> format = parse_log_format(p.logging.format);
    if (!format) {
        if (error) *error = "logging.format: unknown format \"" + p.logging.format + "\"";
        return false;
    }
    o.site = p.site;
    o.format = *format;
    o.syslog_path = p.logging.socket;
    o.level = *level;
    o.facility = *facility;
    o.aggregate_window = p.logging.aggregate_window;
    o.numbers = number_mask_of(p);
    return true;
}

}  // namespace vg::daemon
