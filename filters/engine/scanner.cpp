// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/scanner.h"

#include <algorithm>

namespace vg::engine {

namespace {

using std::chrono::seconds;

// Scanner behaviour window and thresholds (per source).
constexpr Duration kScanWindow = seconds(60);
constexpr std::uint16_t kScanDistinctTargets = 8;
constexpr std::uint16_t kScanOptions = 20;
constexpr std::uint16_t kScanRequests = 50;

std::uint32_t hash32(std::string_view s) noexcept {
    const std::uint64_t h = hash_bytes(s);
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

}  // namespace

ScannerDetector::ScannerDetector(EngineContext& ctx, std::size_t max_sources) : ctx_(ctx), sources_(max_sources) {}

bool ScannerDetector::user_agent(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    const ScannerPatternSet& set = ctx_.r().scanners;
    std::optional<std::size_t> hit = set.match(m.user_agent);
    if (!hit && !m.server.empty()) hit = set.match(m.server);
    if (!hit && m.has_from) hit = set.match(m.from.display_name);
    if (!hit) return false;
    Event e = ctx_.event(EventType::scanner, &p, now);
    assign_truncated(e.method, m.is_request() ? m.method_text : std::string_view("response"));
    assign_truncated(e.user_agent, m.user_agent.empty() ? m.server : m.user_agent);
    e.detail.assign("user_agent:");
    e.detail.append(set.name(*hit).substr(0, 48));
    ev.on_event(e);
    return true;
}

void ScannerDetector::behaviour(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    if (!m.is_request()) return;
    auto r = sources_.find_or_insert(p.src);
    if (r.value == nullptr) return;
    Source& s = *r.value;
    if (r.inserted || now - s.window_start > kScanWindow) {
        s = Source{};
        s.window_start = now;
    }
    ++s.requests;
    if (m.method == sip::Method::options) ++s.options;
    // Distinct targets: the To user at the destination address.
    const std::uint32_t h = hash32(m.to.uri.user) ^ static_cast<std::uint32_t>(p.dst.hash());
    bool seen = false;
    for (std::uint8_t i = 0; i < s.target_count; ++i) seen = seen || s.targets[i] == h;
    if (!seen) {
        ++s.distinct;
        if (s.target_count < 8) s.targets[s.target_count++] = h;
        else s.targets[s.distinct % 8] = h;
    }
    if (s.reported) return;
    const char* what = nullptr;
    if (s.distinct >= kScanDistinctTargets) what = "behaviour:many_targets";
    else if (s.options >= kScanOptions) what = "behaviour:options_sweep";
    else if (s.requests >= kScanRequests) what = "behaviour:request_flood";
    if (what == nullptr) return;
    s.reported = true;
    Event e = ctx_.event(EventType::scanner, &p, now);
    assign_truncated(e.method, m.method_text);
    assign_truncated(e.user_agent, m.user_agent);
    e.detail.assign(what);
    e.count = s.requests;
    ev.on_event(e);
}

SipRateLimiter::SipRateLimiter(EngineContext& ctx, std::size_t max_keys) : ctx_(ctx), keys_(std::max<std::size_t>(16, max_keys)) {}

void SipRateLimiter::reset() noexcept {
    keys_.clear();
    for (Ceiling& c : ceilings_) c = Ceiling{};
}

bool SipRateLimiter::admit(const net::DecodedPacket& p, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    if (!m.is_request()) return true;
    const CompiledPolicy& r = ctx_.r();
    const MethodRate* rate = r.rate_for(m.method_text);
    if (rate == nullptr) return true;
    const auto idx = static_cast<std::size_t>(rate - r.rates.data());
    return admit_rate(p, m.method_text, *rate, idx, now, ev);
}

bool SipRateLimiter::admit_keepalive(const net::DecodedPacket& p, Timestamp now, EventSink& ev) {
    const CompiledPolicy& r = ctx_.r();
    const MethodRate* rate = r.rate_for("default");
    if (rate == nullptr) return true;
    return admit_rate(p, "keepalive", *rate, kKeepaliveIndex, now, ev);
}

bool SipRateLimiter::admit_rate(const net::DecodedPacket& p, std::string_view method, const MethodRate& rate,
                                std::size_t idx, Timestamp now, EventSink& ev) {
    auto refuse = [&](std::string_view scope) {
        Event e = ctx_.event(EventType::rate_limited, &p, now);
        assign_truncated(e.method, method);
        e.rule.assign(scope);
        e.rule.append(std::string_view(rate.method).substr(0, 48 - e.rule.size()));
        ev.on_event(e);
        return false;
    };
    auto ins = keys_.find_or_insert(Key{p.src, p.dst, static_cast<std::uint8_t>(idx)});
    if (ins.value != nullptr) {
        if (ins.inserted) *ins.value = TokenBucketState::full(rate.spec, now);
        if (ins.value->available(rate.spec, now) < 1) return refuse("");
    }
    // The site's ceiling for this method.
    auto scaled = [](std::uint32_t v) {
        return static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{v} * kCeiling, 1000000));
    };
    const auto ceiling = RateSpec::make(scaled(rate.spec.count()), rate.spec.period(), scaled(rate.spec.burst()));
    if (ceiling) {
        Ceiling& c = ceilings_[idx];
        if (!c.init) {
            c.bucket = TokenBucketState::full(*ceiling, now);
            c.init = true;
        }
        if (!c.bucket.take(*ceiling, now)) return refuse("site:");
    }
    if (ins.value != nullptr) ins.value->take(rate.spec, now);
    return true;
}

}  // namespace vg::engine
