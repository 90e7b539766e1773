// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/interface_audit.h"

#include <algorithm>
#include <cstdio>

#include "daemon/json.h"
#include "daemon/log_format.h"
#include "filters/util/text.h"

namespace vg::daemon::audit {

namespace {

constexpr unsigned char kIac = 255;   // RFC 854: Interpret As Command
constexpr unsigned char kSb = 250;    // subnegotiation begins
constexpr unsigned char kSe = 240;    // subnegotiation ends
constexpr unsigned char kWill = 251;  // WILL, WONT, DO, DONT: 251..254, followed by an option

bool starts_with_iac(std::string_view s) noexcept { return !s.empty() && static_cast<unsigned char>(s[0]) == kIac; }

// `s` without its telnet commands (RFC 854, RFC 855 subnegotiation): the
// text a telnet server sends around its negotiation. A command cut at the end
// of the read is dropped.
std::string strip_telnet(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c != kIac) {
            out.push_back(s[i]);
            continue;
        }
        if (i + 1 >= s.size()) break;
        const auto cmd = static_cast<unsigned char>(s[i + 1]);
        if (cmd == kIac) {   // an escaped 255 data byte
            out.push_back(s[i + 1]);
            ++i;
        } else if (cmd >= kWill) {
            i += 2;   // IAC WILL/WONT/DO/DONT option
        } else if (cmd == kSb) {
            // Up to IAC SE.
            std::size_t j = i + 2;
            while (j + 1 < s.size() &&
                   !(static_cast<unsigned char>(s[j]) == kIac && static_cast<unsigned char>(s[j + 1]) == kSe))
                ++j;
            i = j + 1;
        } else {
            ++i;   // a two-byte command (NOP, GA, ...)
        }
    }
    return out;
}

// The first line of `s` with text in it (line ends CR, LF or both), or the
// unfinished rest when no line end follows.
std::string_view first_text_line(std::string_view s) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t end = s.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) end = s.size();
        const std::string_view line = s.substr(pos, end - pos);
        if (!sanitise(line).empty()) return line;
        pos = end + 1;
    }
    return {};
}

// The value of the Server header of an HTTP response (RFC 9110 §10.2.4;
// header field syntax RFC 9112 §5: name, colon, optional whitespace), "" when
// it has none before the end of its header block.
std::string_view http_server(std::string_view s) {
    std::size_t pos = 0;
    bool first = true;
    while (pos < s.size()) {
        std::size_t end = s.find('\n', pos);
        if (end == std::string_view::npos) end = s.size();
        std::string_view line = s.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = end + 1;
        if (first) {
            first = false;
            continue;   // the status line
        }
        if (line.empty()) break;   // end of the header block
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        if (text::iequals(line.substr(0, colon), "server")) return text::trim_wsp(line.substr(colon + 1));
    }
    return {};
}

bool has_line_end(std::string_view s) noexcept { return s.find('\n') != std::string_view::npos; }

}  // namespace

Service service_of(std::uint16_t port) noexcept {
    switch (port) {
    case 23: return Service::telnet;
    case 22: return Service::ssh;
    case 80:
    case 8080: return Service::http;
    case 443: return Service::https;
    default: return Service::other;
    }
}

std::string_view service_name(Service s) noexcept {
    switch (s) {
    case Service::telnet: return "telnet";
    case Service::ssh: return "ssh";
    case Service::http: return "http";
    case Service::https: return "https";
    case Service::other: return "tcp";
    }
    return "tcp";
}

std::vector<std::uint16_t> ports_to_probe(const std::vector<std::uint16_t>& extra) {
    std::vector<std::uint16_t> ports(std::begin(kManagementPorts), std::end(kManagementPorts));
    for (std::uint16_t p : extra) {
        if (p != 0 && std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
    }
    return ports;
}

std::string_view state_name(PortState s) noexcept {
    switch (s) {
    case PortState::open: return "open";
    case PortState::closed: return "closed";
    case PortState::filtered: return "filtered";
    case PortState::not_probed: return "not_probed";
    }
    return "not_probed";
}

std::string_view request_for(Service s) noexcept {
    // HTTP/1.0: the server closes after its answer; HEAD: headers only.
    return s == Service::http ? std::string_view("HEAD / HTTP/1.0\r\n\r\n") : std::string_view();
}

bool banner_complete(Service s, std::string_view received) noexcept {
    if (received.size() >= kMaxRead) return true;
    switch (s) {
    case Service::http:
        return received.find("\r\n\r\n") != std::string_view::npos ||
               received.find("\n\n") != std::string_view::npos;
    case Service::https: return true;   // nothing is read: open is all it says
    case Service::ssh: {
        // Other lines may come before the identification (RFC 4253 §4.2).
        const std::size_t at = received.find("SSH-");
        return at != std::string_view::npos && (at == 0 || received[at - 1] == '\n') &&
               received.find('\n', at) != std::string_view::npos;
    }
    case Service::telnet:
    case Service::other: return has_line_end(received) && !sanitise(strip_telnet(received)).empty();
    }
    return true;
}

std::string banner_text(Service s, std::string_view received) {
    if (received.empty()) return {};
    if (s == Service::http) {
        if (!text::starts_with(received, "HTTP/")) return sanitise(first_text_line(received));
        return sanitise(http_server(received));
    }
    if (s == Service::https) return {};
    if (starts_with_iac(received)) {
        const std::string text = strip_telnet(received);
        const std::string line = sanitise(first_text_line(text));
        return sanitise(line.empty() ? std::string("telnet negotiation") : "telnet negotiation, " + line);
    }
    if (s == Service::ssh) {
        std::size_t pos = 0;
        while (pos < received.size()) {
            std::size_t end = received.find('\n', pos);
            if (end == std::string_view::npos) end = received.size();
            const std::string_view line = received.substr(pos, end - pos);
            if (text::starts_with(line, "SSH-")) return sanitise(line);
            pos = end + 1;
        }
    }
    return sanitise(first_text_line(received));
}

std::string sanitise(std::string_view in, std::size_t max) {
    std::string out;
    for (char ch : in) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\t') out.push_back(' ');
        else if (c >= 0x20 && c < 0x7f) out.push_back(ch);
    }
    const std::size_t b = out.find_first_not_of(' ');
    if (b == std::string::npos) return {};
    const std::size_t e = out.find_last_not_of(' ');
    out = out.substr(b, e - b + 1);
    if (out.size() > max) {
        out.resize(max);
        while (!out.empty() && out.back() == ' ') out.pop_back();
    }
    return out;
}

// ---- the schedule -------------------------------------------------------------

Scheduler::Scheduler(const Limits& limits, std::size_t count, Timestamp start)
    : limits_(limits), count_(count), start_(start) {
    if (limits_.max_in_flight == 0) limits_.max_in_flight = 1;
    if (limits_.connects_per_second == 0) limits_.connects_per_second = 1;
    if (limits_.probe_timeout <= Duration::zero()) limits_.probe_timeout = std::chrono::milliseconds(1);
    end_ = start_ + limits_.total;
    // A probe takes at most two timeouts (connect, banner): none starts
    // later than that before the end. With a bound shorter than that, only
    // what starts at once runs.
    last_start_ = limits_.total > 2 * limits_.probe_timeout ? end_ - 2 * limits_.probe_timeout : start_;
    interval_ = std::chrono::duration_cast<Duration>(std::chrono::seconds(1)) / limits_.connects_per_second;
}

Timestamp Scheduler::slot(std::size_t k) const noexcept { return start_ + interval_ * static_cast<std::int64_t>(k); }

std::optional<std::size_t> Scheduler::next(Timestamp now) {
    if (next_ >= count_ || in_flight_ >= limits_.max_in_flight) return std::nullopt;
    if (now < slot(next_) || now > last_start_ || slot(next_) > last_start_) return std::nullopt;
    ++in_flight_;
    return next_++;
}

void Scheduler::finished() {
    if (in_flight_ > 0) --in_flight_;
}

std::optional<Timestamp> Scheduler::next_slot(Timestamp now) const {
    if (next_ >= count_ || in_flight_ >= limits_.max_in_flight || now > last_start_) return std::nullopt;
    const Timestamp s = slot(next_);
    if (s > last_start_) return std::nullopt;
    return s;
}

bool Scheduler::done(Timestamp now) const {
    if (in_flight_ > 0) return false;
    return next_ >= count_ || slot(next_) > last_start_ || now > last_start_;
}

// ---- the report ---------------------------------------------------------------

std::size_t Report::count(PortState s) const noexcept {
    return static_cast<std::size_t>(
        std::count_if(findings.begin(), findings.end(), [s](const Finding& f) { return f.state == s; }));
}

ProbeIndex probe_index(std::size_t probe, std::size_t targets) noexcept {
    if (targets == 0) return {0, 0};
    return {probe % targets, probe / targets};
}

std::string render_report(const Report& r, bool js) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count();
    const std::size_t open = r.count(PortState::open), closed = r.count(PortState::closed),
                      filtered = r.count(PortState::filtered), skipped = r.count(PortState::not_probed);
    if (js) {
        std::string o = "{\"audit\":{";
        json::field(o, "handsets", r.targets.size());
        std::string ports;
        for (std::uint16_t p : r.ports) ports += (ports.empty() ? "" : ",") + std::to_string(p);
        json::append_key(o, "ports");
        o += "[" + ports + "]";
        json::field(o, "probes", r.findings.size());
        json::field(o, "open", open);
        json::field(o, "closed", closed);
        json::field(o, "filtered", filtered);
        json::field(o, "not_probed", skipped);
        json::field(o, "elapsed_ms", static_cast<std::uint64_t>(ms < 0 ? 0 : ms));
        json::field_bool(o, "complete", skipped == 0 && !r.cancelled);
        json::field(o, "max_in_flight", r.limits.max_in_flight);
        json::field(o, "connects_per_second", r.limits.connects_per_second);
        json::field(o, "probe_timeout_ms",
                    static_cast<std::uint64_t>(
                        std::chrono::duration_cast<std::chrono::milliseconds>(r.limits.probe_timeout).count()));
        json::field(o, "total_s",
                    static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(r.limits.total).count()));
        o += "},\"results\":[";
        bool first = true;
        for (const Finding& f : r.findings) {
            // What the time bound left out is only counted (a large site's
            // answer stays far below the control socket's 1 MiB).
            if (f.target >= r.targets.size() || f.state == PortState::not_probed) continue;
            const Target& t = r.targets[f.target];
            if (!first) o.push_back(',');
            first = false;
            o.push_back('{');
            json::field(o, "address", t.address.to_string());
            json::field(o, "aor", t.aor);
            json::field(o, "user_agent", t.user_agent);
            json::field(o, "port", f.port);
            json::field(o, "service", service_name(service_of(f.port)));
            json::field(o, "state", state_name(f.state));
            json::field(o, "banner", f.banner);
            o.push_back('}');
        }
        return o + "]}\n";
    }
    if (r.targets.empty()) return "no handsets in the inventory: nothing to audit (handsets appear when they send SIP)\n";
    // Columns sized to their content (each cut to a readable width).
    struct Row {
        std::string handset, aor, ua, port, state, banner;
    };
    std::vector<Row> rows;
    rows.push_back({"HANDSET", "AOR", "USER-AGENT", "PORT", "STATE", "BANNER"});
    for (const Finding& f : r.findings) {
        if (f.target >= r.targets.size() || f.state == PortState::not_probed) continue;
        const Target& t = r.targets[f.target];
        rows.push_back({t.address.to_string(), escape_text(t.aor.substr(0, 40)), escape_text(t.user_agent.substr(0, 40)),
                        std::to_string(f.port) + "/" + std::string(service_name(service_of(f.port))),
                        std::string(state_name(f.state)), f.banner});
    }
    std::size_t w[5] = {};
    for (const Row& row : rows) {
        const std::string* cols[5] = {&row.handset, &row.aor, &row.ua, &row.port, &row.state};
        for (int i = 0; i < 5; ++i) w[i] = std::max(w[i], cols[i]->size());
    }
    std::string o;
    for (const Row& row : rows) {
        const std::string* cols[5] = {&row.handset, &row.aor, &row.ua, &row.port, &row.state};
        std::string line;
        for (int i = 0; i < 5; ++i) {
            line += *cols[i];
            line.append(w[i] - cols[i]->size() + 2, ' ');
        }
        line += row.banner;
        while (!line.empty() && line.back() == ' ') line.pop_back();
        o += line + "\n";
    }
    char summary[256];
    std::snprintf(summary, sizeof summary,
                  "%zu handsets, %zu probes: %zu open, %zu closed, %zu filtered, %zu not probed; %.1f s "
                  "(at most %zu in flight, %u/s, %lld ms per step, %lld s bound)%s\n",
                  r.targets.size(), r.findings.size(), open, closed, filtered, skipped, static_cast<double>(ms) / 1000.0,
                  r.limits.max_in_flight, r.limits.connects_per_second,
                  static_cast<long long>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(r.limits.probe_timeout).count()),
                  static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(r.limits.total).count()),
                  r.cancelled ? ", cancelled (the daemon stopped)" : skipped ? ", cut by the time bound" : "");
    return o + summary;
}

}  // namespace vg::daemon::audit
