// SPDX-License-Identifier: GPL-2.0-or-later
// The logging facade (see logging.h). spdlog is the front end (level filter,
// the stderr copy); syslog lines go through SyslogSink below rather than
// spdlog's syslog_sink: syslog(3) always writes _PATH_LOG (/dev/log), cannot be
// pointed elsewhere for a test, and its send() blocks while the syslog daemon
// is slow. SyslogSink writes RFC 3164 lines to a Unix datagram socket without
// blocking and counts what the socket refuses.
#include "daemon/logging.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "config/policy.h"

namespace vg::daemon {

using engine::EventType;

// ---------------------------------------------------------------------------
// Severities and facilities

std::string_view severity_name(Severity s) noexcept {
    switch (s) {
    case Severity::debug: return "debug";
    case Severity::info: return "info";
    case Severity::notice: return "notice";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
    }
    return "info";
}

std::optional<Severity> parse_severity(std::string_view name) noexcept {
    for (Severity s : {Severity::debug, Severity::info, Severity::notice, Severity::warning, Severity::error}) {
        if (severity_name(s) == name) return s;
    }
    return std::nullopt;
}

int syslog_priority(Severity s) noexcept {
    switch (s) {
    case Severity::debug: return LOG_DEBUG;
    case Severity::info: return LOG_INFO;
    case Severity::notice: return LOG_NOTICE;
    case Severity::warning: return LOG_WARNING;
    case Severity::error: return LOG_ERR;
    }
    return LOG_INFO;
}

std::optional<int> parse_facility(std::string_view name) noexcept {
    static constexpr struct {
        std::string_view name;
        int code;
    } kFacilities[] = {
        {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
        {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
        {"local7", LOG_LOCAL7},
    };
    for (const auto& f : kFacilities) {
        if (f.name == name) return f.code;
    }
    return std::nullopt;
}

// Keep in step with the table in daemon/EVENTS.md (a test compares them).
Severity event_severity(EventType t) noexcept {
    switch (t) {
    case EventType::scanner: return Severity::warning;
    case EventType::toll_fraud: return Severity::warning;
    case EventType::call_limit: return Severity::warning;
    case EventType::malformed: return Severity::info;
    case EventType::rate_limited: return Severity::notice;
    case EventType::unlisted_source: return Severity::info;
    case EventType::rogue_sip_destination: return Severity::warning;
    case EventType::media_injection: return Severity::warning;
    case EventType::media_address_not_allowed: return Severity::warning;
    case EventType::support_denied: return Severity::notice;
    case EventType::egress_denied: return Severity::notice;
    case EventType::firmware_outdated: return Severity::notice;
    case EventType::handset_stale: return Severity::notice;
    case EventType::handset_registered: return Severity::info;
    case EventType::call_started: return Severity::info;
    case EventType::call_ended: return Severity::info;
    case EventType::pinhole_opened: return Severity::debug;
    case EventType::pinhole_closed: return Severity::debug;
    case EventType::table_eviction: return Severity::warning;
    case EventType::sip_stream_cut: return Severity::warning;
    case EventType::unknown_method: return Severity::warning;
    case EventType::media_destination_denied: return Severity::warning;
    case EventType::tls_uninspected: return Severity::notice;
    case EventType::forged_source: return Severity::warning;
    case EventType::foreign_source: return Severity::warning;
    case EventType::count_: break;
    }
    return Severity::info;
}

// ---------------------------------------------------------------------------
// Formatting

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool needs_quotes(std::string_view v) noexcept {
    if (v.empty()) return true;
    for (char c : v) {
        if (c == ' ' || c == '"' || c == '=') return true;
    }
    return false;
}

std::string_view protocol_name(std::uint8_t p) noexcept {
    switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    default: return {};
    }
}

void append_address(std::string& out, std::string_view key, const net::IpAddress& a) {
    if (a.valid()) append_field(out, key, a.to_string());
}

void append_port(std::string& out, std::string_view key, std::uint16_t port) {
    if (port != 0) append_field(out, key, port);
}

void append_protocol(std::string& out, std::uint8_t p) {
    if (p == 0) return;
    const std::string_view name = protocol_name(p);
    if (!name.empty()) {
        append_field(out, "proto", name);
    } else {
        append_field(out, "proto", p);
    }
}

// Characters that end the user info of a URI when scanning back from '@':
// none of them can be part of a user name or password (RFC 3261 §25.1,
// RFC 3986 §3.2.1), and they delimit URIs in header values and free text.
bool ends_userinfo(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return true;
    switch (c) {
    case '<': case '>': case '"': case '\'': case '@': case '/': case '\\':
    case '[': case ']': case '(': case ')': case '{': case '}': case '|':
        return true;
    default:
        return false;
    }
}

bool is_uri_scheme(std::string_view s) noexcept {
    static constexpr std::string_view kSchemes[] = {"sip", "sips", "tel", "pres", "im", "mailto",
                                                    "http", "https", "ws", "wss", "urn"};
    if (s.empty() || s.size() > 6) return false;
    char lower[8] = {};
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::string_view l(lower, s.size());
    for (std::string_view k : kSchemes) {
        if (k == l) return true;
    }
    return false;
}

}  // namespace

void append_escaped(std::string& out, std::string_view v) {
    for (char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else {
            out.push_back(ch);
        }
    }
}

std::string escape_text(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    append_escaped(out, v);
    return out;
}

void append_value(std::string& out, std::string_view v) {
    const bool quote = needs_quotes(v);
    if (quote) out.push_back('"');
    append_escaped(out, v);
    if (quote) out.push_back('"');
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out.push_back(' ');
    out += key;
    out.push_back('=');
    append_value(out, value);
}

void append_field(std::string& out, std::string_view key, std::uint64_t value) {
    out.push_back(' ');
    out += key;
    out.push_back('=');
    out += std::to_string(value);
}

std::string mask_secrets(std::string_view text) {
    std::string out;
    std::size_t copied = 0;   // text[0, copied) is in `out`
    for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
        // The password: back from '@' to the nearest ':' within the user info.
        std::size_t colon = at;
        while (colon > copied && text[colon - 1] != ':' && !ends_userinfo(text[colon - 1])) --colon;
        if (colon <= copied || text[colon - 1] != ':') continue;
        const std::size_t pw_begin = colon;      // first byte of the password
        const std::size_t sep = colon - 1;       // the ':' before it
        // The user: back from that ':' to a ':' (after a scheme) or a delimiter.
        std::size_t user = sep;
        while (user > copied && text[user - 1] != ':' && !ends_userinfo(text[user - 1])) --user;
        const bool after_scheme = user > copied && text[user - 1] == ':';
        // "sip:alice@pbx": the ':' belongs to the scheme, there is no password.
        if (!after_scheme && is_uri_scheme(text.substr(user, sep - user))) continue;
        if (pw_begin == at) continue;   // "alice:@pbx": empty password
        out.append(text.substr(copied, pw_begin - copied));
        out += "***";
        copied = at;
    }
    out.append(text.substr(copied));
    return out;
}

std::string format_event(const engine::Event& e, std::string_view site) {
    std::string out;
    out.reserve(256);
    out += engine::event_id(e.type);
    append_field(out, "site", site);
    append_address(out, "handset", e.handset);
    append_port(out, "handset_port", e.handset_port);
    // The handset's own address is not repeated as src / dst.
    if (e.source != e.handset) append_address(out, "src", e.source);
    append_port(out, "src_port", e.source_port);
    if (e.destination != e.handset) append_address(out, "dst", e.destination);
    append_port(out, "dst_port", e.destination_port);
    append_protocol(out, e.protocol);
    append_field(out, "method", e.method.view());
    append_field(out, "number", e.number.view());
    append_field(out, "dialled", mask_secrets(e.dialled.view()));
    append_field(out, "rule", e.rule.view());
    append_field(out, "call_id", e.call_id.view());
    append_field(out, "ua", e.user_agent.view());
    append_field(out, "detail", mask_secrets(e.detail.view()));
    if (e.count != 0) append_field(out, "count", e.count);
    // mode: monitor: what the line reports was logged, not blocked.
    if (e.monitor) append_field(out, "action", "monitor_only");
    return out;
}

std::string event_key_fields(const engine::Event& e) {
    std::string out;
    switch (e.type) {
    case EventType::scanner:
    case EventType::malformed:
    case EventType::rate_limited:
    case EventType::unlisted_source:
    case EventType::media_injection:
    case EventType::support_denied:
    case EventType::forged_source:
    case EventType::foreign_source:
        append_address(out, "src", e.source);
        break;
    case EventType::sip_stream_cut:
    case EventType::unknown_method:
    case EventType::media_destination_denied:
    case EventType::tls_uninspected:
        append_address(out, "handset", e.handset);
        break;
    case EventType::toll_fraud:
    case EventType::call_limit:
    case EventType::rogue_sip_destination:
    case EventType::egress_denied:
    case EventType::media_address_not_allowed:
    case EventType::firmware_outdated:
    case EventType::handset_stale:
    case EventType::handset_registered:
        append_address(out, "handset", e.handset);
        break;
    case EventType::call_started:
    case EventType::call_ended:
        append_address(out, "handset", e.handset);
        append_field(out, "call_id", e.call_id.view());
        break;
    case EventType::pinhole_opened:
    case EventType::pinhole_closed:
        append_address(out, "handset", e.handset);
        append_port(out, "handset_port", e.handset_port);
        break;
    case EventType::table_eviction:
        append_field(out, "detail", e.detail.view());
        break;
    case EventType::count_:
        break;
    }
    return out;
}

// ---------------------------------------------------------------------------
// Aggregation

Aggregator::Aggregator(engine::Duration window, std::size_t max_keys) : window_(window), max_keys_(max_keys) {
    keys_.reserve(std::min<std::size_t>(max_keys_, 64));
}

bool Aggregator::admit(std::string_view id, std::string_view key_fields, Severity severity, engine::Timestamp now) {
    if (window_ <= engine::Duration::zero()) return true;   // aggregation off
    std::string key;
    key.reserve(id.size() + key_fields.size());
    key.append(id);
    key.append(key_fields);
    if (auto it = keys_.find(key); it != keys_.end()) {
        ++it->second.suppressed;
        return false;
    }
    if (keys_.size() < max_keys_) {
        Entry entry;
        entry.start = now;
        entry.severity = severity;
        entry.id_length = id.size();
        keys_.emplace(std::move(key), entry);
        return true;
    }
    for (auto& [oid, o] : overflow_) {
        if (oid == id) {
            if (o.suppressed == 0) o.start = now;
            ++o.suppressed;
            if (severity > o.severity) o.severity = severity;
            return false;
        }
    }
    Overflow o;
    o.start = now;
    o.suppressed = 1;
    o.severity = severity;
    overflow_.emplace_back(id, o);
    return false;
}

std::vector<Aggregator::Summary> Aggregator::collect(engine::Timestamp now, bool all) {
    std::vector<Summary> out;
    for (auto it = keys_.begin(); it != keys_.end();) {
        Entry& entry = it->second;
        if (!all && now - entry.start < window_) {
            ++it;
            continue;
        }
        const bool repeated = entry.suppressed != 0;
        if (repeated) {
            Summary s;
            s.id = it->first.substr(0, entry.id_length);
            s.key_fields = it->first.substr(entry.id_length);
            s.severity = entry.severity;
            s.suppressed = entry.suppressed;
            s.elapsed = now - entry.start;
            out.push_back(std::move(s));
        }
        if (repeated && !all) {
            // Still busy: a new window starts now. Its events are counted
            // for the next summary, none is logged on its own.
            entry.start = now;
            entry.suppressed = 0;
            ++it;
        } else {
            it = keys_.erase(it);
        }
    }
    for (auto& [id, o] : overflow_) {
        if (o.suppressed == 0 || (!all && now - o.start < window_)) continue;
        Summary s;
        s.id = std::string(id);
        s.severity = o.severity;
        s.suppressed = o.suppressed;
        s.elapsed = now - o.start;
        s.overflow = true;
        out.push_back(std::move(s));
        o.suppressed = 0;
    }
    return out;
}

std::vector<Aggregator::Summary> Aggregator::flush(engine::Timestamp now) { return collect(now, false); }

std::vector<Aggregator::Summary> Aggregator::flush_all(engine::Timestamp now) { return collect(now, true); }

std::string format_summary(const Aggregator::Summary& s, std::string_view site) {
    std::string out = s.id;
    append_field(out, "site", site);
    if (s.overflow) {
        out += " aggregate=other";
    } else {
        out += s.key_fields;
    }
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(s.elapsed).count();
    out += " (suppressed ";
    out += std::to_string(s.suppressed);
    out += " more in ";
    out += std::to_string(secs < 0 ? 0 : secs);
    out += " s";
    if (s.overflow) out += ", too many keys to aggregate separately";
    out += ')';
    return out;
}

// ---------------------------------------------------------------------------
// Sinks

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

// RFC 3164 §4.1: "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG" (local time; the day
// padded with a space), sent as one datagram per line. Every syslog daemon
// voipguard meets listens on a datagram /dev/log (systemd-journald, rsyslog,
// syslog-ng, busybox syslogd, OpenWrt logd).
class SyslogSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    // Longer datagrams are cut: small syslog daemons read 1 KiB or less per
    // datagram (busybox syslogd 256 bytes by default). Event lines are
    // usually far shorter; only one whose fields are all long and full of
    // escaped bytes comes near this.
    static constexpr std::size_t kMaxDatagram = 1024;

    SyslogSink(std::string path, std::string ident, int facility)
        : path_(std::move(path)), ident_(std::move(ident)), facility_(facility), pid_(::getpid()) {}
    ~SyslogSink() override {
        if (fd_ >= 0) ::close(fd_);
    }

    void set_facility(int facility) noexcept { facility_.store(facility, std::memory_order_relaxed); }
    std::uint64_t lost() const noexcept { return lost_.load(std::memory_order_relaxed); }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const int pri = facility_.load(std::memory_order_relaxed) | syslog_priority(from_spdlog(msg.level));
        const std::time_t t = std::chrono::system_clock::to_time_t(msg.time);
        std::tm tm{};
        ::localtime_r(&t, &tm);
        char stamp[32];
        if (std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm) == 0) stamp[0] = '\0';
        char head[128];
        const int n = std::snprintf(head, sizeof head, "<%d>%s %s[%ld]: ", pri, stamp, ident_.c_str(),
                                    static_cast<long>(pid_));
        if (n <= 0) return;
        buf_.assign(head, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof head - 1));
        const std::size_t len = std::min<std::size_t>(msg.payload.size(), kMaxDatagram - buf_.size());
        buf_.append(msg.payload.data(), len);
        if (!send_line()) lost_.fetch_add(1, std::memory_order_relaxed);
    }
    void flush_() override {}

private:
    bool connect_socket() {
        if (fd_ >= 0) return true;
        sockaddr_un addr{};
        if (path_.empty() || path_.size() >= sizeof addr.sun_path) return false;
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path_.data(), path_.size());
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) return false;
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd);
            return false;
        }
        fd_ = fd;
        return true;
    }

    bool send_line() {
        // Two tries: the first send after the syslog daemon restarted fails
        // (the old socket is gone), the reconnected one goes through.
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (!connect_socket()) return false;
            if (::send(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
            const int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EINTR) return false;
            ::close(fd_);
            fd_ = -1;
        }
        return false;
    }

    const std::string path_;
    const std::string ident_;
    std::atomic<int> facility_;
    const pid_t pid_;
    int fd_ = -1;
    std::string buf_;
    // size_t: lock-free on 32-bit routers too (MIPS has no 64-bit atomics).
    std::atomic<std::size_t> lost_{0};
};

}  // namespace

struct Log::Impl {
    std::shared_ptr<SyslogSink> syslog;
    std::shared_ptr<spdlog::logger> logger;
};

Log::Log(LogOptions options)
    : impl_(std::make_unique<Impl>()),
      options_(std::move(options)),
      aggregator_(options_.aggregate_window, options_.max_keys) {
    std::vector<spdlog::sink_ptr> sinks;
    if (options_.syslog) {
        impl_->syslog = std::make_shared<SyslogSink>(options_.syslog_path, options_.ident, options_.facility);
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
    impl_->logger->set_level(to_spdlog(options_.level));
    if (impl_->syslog) impl_->syslog->set_facility(options_.facility);
    aggregator_.set_window(options_.aggregate_window);
}

bool Log::enabled(Severity s) const noexcept { return impl_->logger->should_log(to_spdlog(s)); }

void Log::write(Severity s, std::string_view line) {
    // Passed as a plain string_view: never used as a format string.
    impl_->logger->log(to_spdlog(s), spdlog::string_view_t(line.data(), line.size()));
}

void Log::emit_aggregated(std::string_view id, Severity s, std::string_view key_fields, std::string line,
                          engine::Timestamp now) {
    if (aggregator_.admit(id, key_fields, s, now)) write(s, line);
}

void Log::on_event(const engine::Event& e) {
    const Severity s = event_severity(e.type);
    if (!enabled(s)) return;
    const std::string key = event_key_fields(e);
    if (aggregator_.admit(engine::event_id(e.type), key, s, e.time)) write(s, format_event(e, options_.site));
}

void Log::write_summaries(const std::vector<Aggregator::Summary>& summaries) {
    for (const Aggregator::Summary& s : summaries) write(s.severity, format_summary(s, options_.site));
}

void Log::flush(engine::Timestamp now) {
    write_summaries(aggregator_.flush(now));
    const std::uint64_t lost = lines_lost();
    if (lost != lost_reported_) {
        std::string line = "VG_LOG_LOST";
        append_field(line, "site", options_.site);
        append_field(line, "lines", lost - lost_reported_);
        write(Severity::warning, line);
        // If this line is lost too, it is not reported again at the next flush.
        lost_reported_ = lines_lost();
    }
    impl_->logger->flush();
}

void Log::flush_all(engine::Timestamp now) {
    write_summaries(aggregator_.flush_all(now));
    impl_->logger->flush();
}

std::uint64_t Log::lines_lost() const noexcept { return impl_->syslog ? impl_->syslog->lost() : 0; }

void Log::start(const StartInfo& info) {
    std::string line = "VG_START";
    append_field(line, "site", options_.site);
    append_field(line, "version", info.version);
    append_field(line, "mode", info.mode);
    append_field(line, "backend", info.backend);
    append_field(line, "on_failure", info.on_failure);
    append_field(line, "policy", info.policy);
    append_field(line, "level", severity_name(options_.level));
    write(Severity::notice, line);
}

void Log::reload_ok(std::string_view policy, std::size_t warnings) {
    std::string line = "VG_RELOAD_OK";
    append_field(line, "site", options_.site);
    append_field(line, "policy", policy);
    append_field(line, "warnings", warnings);
    write(Severity::notice, line);
}

void Log::reload_failed(std::string_view policy, const std::vector<std::string>& errors) {
    // The first few errors; `voipguard check` shows them all.
    constexpr std::size_t kShown = 3;
    std::string line = "VG_RELOAD_FAILED";
    append_field(line, "site", options_.site);
    append_field(line, "policy", policy);
    append_field(line, "errors", errors.size());
    for (std::size_t i = 0; i < errors.size() && i < kShown; ++i) {
        append_field(line, "error" + std::to_string(i + 1), mask_secrets(errors[i]));
    }
    line += " (old policy kept)";
    write(Severity::error, line);
}

void Log::backend(std::string_view chosen, std::string_view why) {
    std::string line = "VG_BACKEND";
    append_field(line, "site", options_.site);
    append_field(line, "backend", chosen);
    append_field(line, "why", why);
    write(Severity::info, line);
}

void Log::stats(const StatsInfo& s) {
    std::string line = "VG_STATS";
    append_field(line, "site", options_.site);
    append_field(line, "calls", s.calls);
    append_field(line, "pinholes", s.pinholes);
    append_field(line, "handsets", s.handsets);
    append_field(line, "accepted", s.accepted);
    append_field(line, "dropped", s.dropped);
    for (const auto& [reason, count] : s.drops_by_reason) {
        if (count == 0 || reason.empty()) continue;
        std::string key = "drop_";
        for (char c : reason) key.push_back(ends_userinfo(c) || c == '=' ? '_' : c);
        append_field(line, key, count);
    }
    append_field(line, "queue_drops", s.queue_drops);
    append_field(line, "enobufs", s.enobufs);
    append_field(line, "kernel_drops", s.kernel_drops);
    write(Severity::info, line);
}

void Log::shutdown(std::string_view reason) {
    std::string line = "VG_SHUTDOWN";
    append_field(line, "site", options_.site);
    append_field(line, "reason", reason);
    write(Severity::notice, line);
}

void Log::kernel_drop(const KernelDropInfo& d, engine::Timestamp now) {
    constexpr Severity kSeverity = Severity::info;
    if (!enabled(kSeverity)) return;
    std::string key;
    append_field(key, "src", d.source);
    std::string line = "VG_KERNEL_DROP";
    append_field(line, "site", options_.site);
    append_field(line, "src", d.source);
    if (d.source_port != 0) append_field(line, "src_port", d.source_port);
    append_field(line, "dst", d.destination);
    if (d.destination_port != 0) append_field(line, "dst_port", d.destination_port);
    append_field(line, "proto", d.protocol);
    append_field(line, "reason", d.reason);
    append_field(line, "method", d.method);
    append_field(line, "ua", d.user_agent);
    emit_aggregated("VG_KERNEL_DROP", kSeverity, key, std::move(line), now);
}

void Log::control_rejected(std::string_view reason, std::string_view detail, std::int64_t peer_uid,
                           std::int64_t peer_pid, engine::Timestamp now) {
    constexpr Severity kSeverity = Severity::notice;
    if (!enabled(kSeverity)) return;
    std::string key;
    append_field(key, "reason", reason);
    std::string line = "VG_CONTROL_REJECTED";
    append_field(line, "site", options_.site);
    line += key;
    if (peer_uid >= 0) append_field(line, "uid", static_cast<std::uint64_t>(peer_uid));
    if (peer_pid > 0) append_field(line, "pid", static_cast<std::uint64_t>(peer_pid));
    append_field(line, "detail", mask_secrets(detail));
    emit_aggregated("VG_CONTROL_REJECTED", kSeverity, key, std::move(line), now);
}

// ---------------------------------------------------------------------------

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
    o.site = p.site;
    o.level = *level;
    o.facility = *facility;
    o.aggregate_window = p.logging.aggregate_window;
    return true;
}

}  // namespace vg::daemon
