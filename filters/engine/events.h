// SPDX-License-Identifier: GPL-2.0-or-later
// Named events the engine reports (scanner seen, toll fraud blocked, pinhole
// closed, ...). Each type has a stable lower-case name (counters, replay's
// JSON) and a stable syslog ID (VG_...). An Event is a plain value with its
// fields stored inline, so reporting one never allocates; the daemon turns it
// into a key=value log line, replay counts it.
#pragma once

#include <cstdint>
#include <string_view>

#include "filters/engine/effects.h"
#include "filters/engine/fixed_string.h"
#include "filters/engine/timestamp.h"
#include "filters/net/ip_address.h"

namespace vg::engine {

enum class EventType : std::uint8_t {
    scanner,                    // scanner User-Agent or scanning behaviour from a source
    toll_fraud,                 // an INVITE to a denied destination was blocked
    call_limit,                 // an INVITE over a concurrent / hourly limit was blocked
    malformed,                  // a malformed packet or SIP message
    rate_limited,               // a source went over a SIP rate limit (first drop of a burst)
    unlisted_source,            // inbound traffic from an address in no allow-list
    rogue_sip_destination,      // a handset sent SIP to a server that is not the PBX
    media_injection,            // media to a pinhole from a source it does not allow
    media_address_not_allowed,  // the PBX's SDP named a media address outside the policy
                                // (detail: the address:port offered; rule: the key to list it under)
    support_denied,             // a support address tried a port it is not listed for
    egress_denied,              // handset egress to a destination not allowed
    firmware_outdated,          // a handset's User-Agent is below the policy's minimum
    handset_stale,              // a handset has not registered for handsets.stale_after
    handset_registered,         // a handset registered for the first time (or again after stale)
    call_started,               // a dialog was confirmed (2xx to INVITE)
    call_ended,                 // a dialog ended (BYE, CANCEL, failure, timeout); detail
                                // "unknown_dialog": a call the engine never saw (begun
                                // before a restart) was hung up
    pinhole_opened,
    pinhole_closed,             // the daemon removes the flow's fast path at once
    table_eviction,             // a bounded table was full and evicted its oldest entry
    // Added later; the order above is kept.
    sip_stream_cut,             // a SIP-over-TCP connection was cut (reset): detail says why
    unknown_method,             // a handset sent a request method the engine does not know
    media_destination_denied,   // handset media from a pinhole port to a non-PBX address
    tls_uninspected,            // a TLS connection to the PBX: its SIP cannot be inspected
    forged_source,              // (kernel sample) a handset source address on a non-voice interface
    foreign_source,             // (kernel sample) a voice-interface packet whose source is outside
                                // the handset networks: a spoofing or hijacked handset
    fraud_threshold_warning,    // a call reached the warning level of a destination profile's threshold
    fraud_threshold_critical,   // a call was dropped (or, max_call_duration, ended) at a critical level
    media_port_not_allowed,     // the PBX's SDP named a media port of a PBX media address outside
                                // that PBX's media.ports (detail: the address:port; rule: the key)
    weak_credential,            // a handset authenticated with a password the audit guessed (rule names which); never the password
    handset_user_agent_changed, // a handset's User-Agent changed: another device or a firmware downgrade
    aor_second_address,         // an AOR registered from a second address while registered from another
    registered_out_of_hours,    // a new registration outside business hours
    outdated_firmware_call,     // a call from a handset whose firmware is below the minimum
    cleartext_provisioning,     // a handset fetched a configuration or firmware file over TFTP or
                                // plain HTTP (rule: "tftp" or "http"; detail: the file); never blocked
    callback_marked,            // an inbound call from a risk prefix rang briefly (or was a short answered
                                // call): its caller is marked (callback_guard.h; number, detail)
    callback_blocked,           // an outbound INVITE to a marked number was dropped (reason callback)
    callback_warning,           // an outbound INVITE to a marked number (callback.action: warn)
    unknown_handset,            // handsets.known is set and a REGISTER is for an AOR it does not list
    handset_mismatch,           // a listed AOR registered from another address or with another model
                                // (rule: "address:EXPECTED" or "model:EXPECTED")
    handset_forgotten,          // a listed handset has not registered for handsets.stale_after (or never)
    count_
};

constexpr std::size_t kEventTypeCount = static_cast<std::size_t>(EventType::count_);

std::string_view event_name(EventType t) noexcept;  // "toll_fraud"
std::string_view event_id(EventType t) noexcept;    // "VG_TOLL_FRAUD_BLOCKED"

// Copies as much of `s` as fits (log fields are truncated, never rejected).
template <std::size_t N>
void assign_truncated(FixedString<N>& out, std::string_view s) noexcept {
    out.assign(s.substr(0, N));
}

struct Event {
    EventType type = EventType::malformed;
    Timestamp time{};

    // The packet that caused it (source / destination as it travelled).
    net::IpAddress source;
    net::IpAddress destination;
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint8_t protocol = 0;

    // A handset involved (registrations, calls, toll fraud, pinholes).
    net::IpAddress handset;
    std::uint16_t handset_port = 0;   // pinholes: the handset's media port

    FixedString<16> method;           // SIP method
    FixedString<64> user_agent;
    FixedString<64> call_id;
    FixedString<32> number;           // normalised dialled number
    FixedString<48> dialled;          // as dialled (Request-URI user part)
    FixedString<48> rule;             // "deny_prefix:+882", "limit:per_handset_concurrent_calls"
    FixedString<64> detail;           // free text: scanner pattern, AOR, version, reason name
    std::uint32_t count = 0;          // a number that goes with the event (calls, probes)
    // Destination profiles (fraud_profiles.h): the group, the threshold
    // ("per_handset.calls_per_day", "max_call_duration"), its value with
    // this call (seconds for max_call_duration) and the level reached.
    FixedString<24> group;
    FixedString<32> threshold;
    std::uint32_t value = 0;
    std::uint32_t level = 0;
    bool monitor = false;             // mode: monitor: nothing was dropped for it
};

// Where the engine's events and effects go. The engine calls it while it
// decides; the daemon's sink only records (both are carried out after the
// drain's verdicts are sent), replay and the tests look at them at once.
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void on_event(const Event& e) = 0;
    // Something the kernel's flow table must do (effects.h). Ignored unless
    // the sink acts on the kernel.
    virtual void on_effect(const Effect& f) { (void)f; }
};

// Counts events by type and forwards them (replay, tests).
class CountingSink : public EventSink {
public:
    explicit CountingSink(EventSink* next = nullptr) noexcept : next_(next) {}
    void on_event(const Event& e) override {
        ++counts_[static_cast<std::size_t>(e.type)];
        if (next_ != nullptr) next_->on_event(e);
    }
    std::uint64_t count(EventType t) const noexcept { return counts_[static_cast<std::size_t>(t)]; }

private:
    EventSink* next_;
    std::uint64_t counts_[kEventTypeCount] = {};
};

}  // namespace vg::engine
