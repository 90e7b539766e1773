// SPDX-License-Identifier: GPL-2.0-or-later
// The interface audit (`voipguard audit [--json]`): the check for "unused
// interfaces not disabled" an engineer otherwise does by hand at every site.
// For every handset of the inventory the router connects to its management
// ports (telnet 23, ssh 22, http 80 and 8080, https 443, and the policy's
// handsets.audit_ports) and reports which answer, with the banner where one
// is sent (the HTTP `Server:` header of a `HEAD /`, the SSH version line, a
// telnet negotiation).
//
// Nothing is probed unless the engineer asks (the control command `audit`).
// The probing runs on a worker thread of its own (daemon.cpp), never on the
// packet loop, and is bounded three ways (Limits): connects in flight,
// connects per second, and a total time; a probe has probe_timeout to
// connect and as long again for its banner. What was not probed within the
// bound is reported as `not_probed`.
//
// This file is the pure part (no sockets, time injected): the ports, the
// schedule, the banner parsing and the report's text. interface_probe.h does
// the connecting.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/engine/timestamp.h"
#include "filters/net/ip_address.h"

namespace vg::daemon::audit {

using engine::Duration;
using engine::Timestamp;

// What a port is expected to speak, from its number alone.
enum class Service : std::uint8_t { telnet, ssh, http, https, other };
Service service_of(std::uint16_t port) noexcept;
std::string_view service_name(Service s) noexcept;   // "telnet", ..., "tcp"

// The management ports every audit probes, in this order.
inline constexpr std::uint16_t kManagementPorts[] = {23, 22, 80, 8080, 443};

// kManagementPorts, then `extra` (the policy's audit_ports) without
// duplicates, in the order given.
std::vector<std::uint16_t> ports_to_probe(const std::vector<std::uint16_t>& extra);

enum class PortState : std::uint8_t {
    open,         // the connect succeeded
    closed,       // refused (a TCP reset)
    filtered,     // no answer within the timeout, or an ICMP error
    not_probed,   // the audit's time bound ended first (or the daemon stopped)
};
std::string_view state_name(PortState s) noexcept;

// Bytes sent once connected: a minimal HTTP request on http ports, nothing
// elsewhere (the banner of ssh and telnet comes unasked).
std::string_view request_for(Service s) noexcept;
// At most this much of a port's answer is read.
inline constexpr std::size_t kMaxRead = 1024;
// Banners are cut to this many characters.
inline constexpr std::size_t kMaxBanner = 64;

// True when `received` holds all the banner needs (a full line, the end of
// an HTTP header block, a telnet negotiation): the probe can close.
bool banner_complete(Service s, std::string_view received) noexcept;
// The banner of what the port sent: the HTTP response's Server header value,
// the SSH identification line ("SSH-2.0-dropbear_2019.78"), "telnet
// negotiation" for a telnet server's IAC commands (its first text line when
// it sends one instead), the first line for other ports; "" when nothing
// usable came. Sanitised (sanitise()).
std::string banner_text(Service s, std::string_view received);
// Printable ASCII only (other bytes dropped, tabs as spaces), surrounding
// spaces trimmed, cut to `max` characters. The handset's bytes are
// untrusted: whatever it sends cannot reach a terminal or a log line as a
// control byte.
std::string sanitise(std::string_view text, std::size_t max = kMaxBanner);

struct Limits {
    std::size_t max_in_flight = 16;        // connects open at once
    unsigned connects_per_second = 25;     // started per second, evenly spaced
    Duration probe_timeout = std::chrono::milliseconds(1500);   // to connect; as long again for the banner
    Duration total = std::chrono::seconds(60);                   // the whole audit
};

// When each probe may start. Probes are numbered 0..count-1 and start in
// that order: the k-th at the earliest at start + k / connects_per_second,
// while fewer than max_in_flight run, and only while it can still finish
// (connect and banner) within the total bound.
class Scheduler {
public:
    Scheduler(const Limits& limits, std::size_t count, Timestamp start);

    // The probe to start at `now`, or nullopt: all started, max_in_flight
    // running, its slot not reached yet, or too late to start.
    std::optional<std::size_t> next(Timestamp now);
    // A started probe ended.
    void finished();

    // When next() can give a probe without a finished() first (a time
    // before `now` when it can at once); nullopt when it cannot
    // (max_in_flight running) or none will start again (all started, or
    // `now` or the next slot past the last start).
    std::optional<Timestamp> next_slot(Timestamp now) const;
    // No probe runs and none will start again.
    bool done(Timestamp now) const;
    // The latest time a probe may start, and the bound's end.
    Timestamp last_start() const noexcept { return last_start_; }
    Timestamp end() const noexcept { return end_; }

    std::size_t started() const noexcept { return next_; }
    std::size_t in_flight() const noexcept { return in_flight_; }
    std::size_t count() const noexcept { return count_; }

private:
    Timestamp slot(std::size_t k) const noexcept;
    Limits limits_;
    std::size_t count_;
    Timestamp start_;
    Timestamp end_;
    Timestamp last_start_;
    Duration interval_;
    std::size_t next_ = 0;
    std::size_t in_flight_ = 0;
};

// A handset to audit, as the inventory knows it.
struct Target {
    net::IpAddress address;
    std::string aor;
    std::string user_agent;
};

struct Finding {
    std::size_t target = 0;   // index into Report::targets
    std::uint16_t port = 0;
    PortState state = PortState::not_probed;
    std::string banner;       // sanitised; "" when none
};

struct Report {
    std::vector<Target> targets;
    std::vector<std::uint16_t> ports;
    std::vector<Finding> findings;   // one per target and port, by target then port
    Limits limits;
    Duration elapsed{};
    bool cancelled = false;          // the daemon stopped during the audit
    std::size_t count(PortState s) const noexcept;
};

// Probe `probe` (scheduler order) of a plan over `targets` x `ports`: port
// by port, so that one handset gets its ports one after the other, spread
// over the audit, not all at once.
struct ProbeIndex {
    std::size_t target;
    std::size_t port;
};
ProbeIndex probe_index(std::size_t probe, std::size_t targets) noexcept;

// `voipguard audit`'s answer: a table (handset, AOR, User-Agent, port,
// service, state, banner) and a summary line; with `json` one object
// {"audit":{...summary...},"results":[{...}]}. Probes the time bound left
// out are only counted (not_probed), not listed. Packet text is escaped.
std::string render_report(const Report& r, bool json);

}  // namespace vg::daemon::audit
