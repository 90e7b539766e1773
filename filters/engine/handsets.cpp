// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/handsets.h"

#include "filters/engine/firmware_version.h"
#include "filters/util/text.h"

namespace vg::engine {

HandsetInventory::HandsetInventory(EngineContext& ctx, std::size_t capacity) : ctx_(ctx), table_(capacity) {}

Handset* HandsetInventory::insert(const net::IpAddress& a, Timestamp now, EventSink& ev) {
    auto ins = table_.find_or_insert(a);
    if (ins.evicted) {
        ++ctx_.stats.evictions_handsets;
        ctx_.eviction("handsets", now, ev);
    }
    if (ins.value == nullptr) return nullptr;
    Handset& h = *ins.value;
    if (ins.inserted) {
        h = Handset{};
        h.address = a;
        h.first_seen = now;
    }
    h.last_seen = now;
    return &h;
}

Handset* HandsetInventory::touch(const net::IpAddress& a, Timestamp now, EventSink& ev) { return insert(a, now, ev); }

void HandsetInventory::registered(const net::IpAddress& a, std::uint32_t expires, Timestamp now) {
    if (Handset* h = table_.find(a)) h->registered_until = now + std::chrono::seconds(expires);
}

void HandsetInventory::note_sip(const net::IpAddress& a, const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    Handset* found = insert(a, now, ev);
    if (found == nullptr) return;
    Handset& h = *found;
    const std::string_view ua = m.user_agent.empty() ? m.server : m.user_agent;
    const bool ua_changed = !ua.empty() && h.user_agent.view() != ua.substr(0, 64);
    if (ua_changed) {
        assign_truncated(h.user_agent, ua);
        h.firmware_outdated = false;
        for (const FirmwareRule& fw : ctx_.r().firmware) {
            if (!text::icontains(ua, fw.match)) continue;
            const std::string_view token = find_version(ua, fw.match);
            const auto v = FirmwareVersion::parse(token);
            if (v && *v < fw.minimum) {
                h.firmware_outdated = true;
                Event e = ctx_.event(EventType::firmware_outdated, nullptr, now);
                e.handset = a;
                assign_truncated(e.user_agent, ua);
                e.detail.assign("version:");
                e.detail.append(token.substr(0, 24));
                e.detail.append(" minimum:");
                e.detail.append(std::string_view(fw.minimum_text).substr(0, 24));
                assign_truncated(e.rule, fw.match);
                ev.on_event(e);
            }
            break;
        }
    }
    if (m.is_request() && m.method == sip::Method::register_) {
        const bool first = h.last_register == Timestamp{} || h.stale;
        h.last_register = now;
        h.stale = false;
        if (m.has_to) {
            h.aor.clear();
            h.aor.append(m.to.uri.user.substr(0, 20));
            h.aor.push_back('@');
            h.aor.append(m.to.uri.host.substr(0, 27));
        }
        if (first) {
            Event e = ctx_.event(EventType::handset_registered, nullptr, now);
            e.handset = a;
            e.user_agent = h.user_agent;
            assign_truncated(e.detail, h.aor.view());
            ev.on_event(e);
        }
    }
}

void HandsetInventory::tick(Timestamp now, EventSink& ev) {
    const Duration stale = std::chrono::seconds(ctx_.p().handsets.stale_after.count());
    if (stale.count() <= 0) return;
    for (auto entry : table_) {
        Handset& h = entry.value;
        const Timestamp last = h.last_register == Timestamp{} ? h.first_seen : h.last_register;
        if (!h.stale && now - last > stale) {
            h.stale = true;
            Event e = ctx_.event(EventType::handset_stale, nullptr, now);
            e.handset = h.address;
            e.user_agent = h.user_agent;
            assign_truncated(e.detail, h.aor.view());
            e.count = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now - last).count());
            ev.on_event(e);
        }
    }
}

}  // namespace vg::engine
