// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/handsets.h"

#include "filters/engine/firmware_version.h"
#include "filters/util/text.h"

namespace vg::engine {

HandsetInventory::HandsetInventory(EngineContext& ctx, std::size_t capacity)
    : ctx_(ctx), table_(capacity), audit_(ctx) {
    load_known();
}

Duration HandsetInventory::stale_after() const noexcept {
    return std::chrono::seconds(ctx_.p().handsets.stale_after.count());
}

void HandsetInventory::load_known() {
    std::vector<KnownHandsetState> next;
    const auto& listed = ctx_.p().handsets.known;
    next.reserve(listed.size());
    for (const config::KnownHandset& k : listed) {
        KnownHandsetState s;
        // What was seen of an AOR that stays listed is kept.
        for (const KnownHandsetState& old : known_)
            if (old.user == k.user && old.domain == k.domain) s = old;
        s.aor = k.aor;
        s.user = k.user;
        s.domain = k.domain;
        s.address = k.address.value_or(net::IpAddress{});
        s.model = k.model;
        next.push_back(std::move(s));
    }
    known_ = std::move(next);
    known_unstamped_ = !known_.empty();
    known_by_user_.clear();
    for (std::uint32_t i = 0; i < known_.size(); ++i) known_by_user_.emplace(hash_bytes(known_[i].user), i);
    // Each handset's listing is decided again at its next REGISTER.
    table_.for_each([](const net::IpAddress&, Handset& h) { h.listed = Listing::none; });
}

void HandsetInventory::stamp_known(Timestamp now) noexcept {
    if (!known_unstamped_) return;
    known_unstamped_ = false;
    for (KnownHandsetState& k : known_) {
        if (k.since_set) continue;
        k.since = now;
        k.since_set = true;
    }
}

KnownHandsetState* HandsetInventory::find_known(std::string_view user, std::string_view host) noexcept {
    const auto range = known_by_user_.equal_range(hash_bytes(user));
    for (auto it = range.first; it != range.second; ++it) {
        KnownHandsetState& k = known_[it->second];
        if (k.user == user && (k.domain.empty() || text::iequals(k.domain, host))) return &k;
    }
    return nullptr;
}

KnownStatus HandsetInventory::status(const KnownHandsetState& k, Timestamp now) const noexcept {
    if (k.forgotten) return k.seen() ? KnownStatus::forgotten : KnownStatus::never_seen;
    if (!k.seen()) return KnownStatus::never_seen;
    const Duration stale = stale_after();
    return stale.count() > 0 && now - k.last_register > stale ? KnownStatus::forgotten : KnownStatus::registering;
}

void HandsetInventory::inventory_check(Handset& h, const sip::SipMessage& m, bool is_new, Timestamp now,
                                       EventSink& ev) {
    if (known_.empty()) {
        h.listed = Listing::none;
        return;
    }
    const std::string_view ua = m.user_agent;
    KnownHandsetState* k = m.has_to ? find_known(m.to.uri.user, m.to.uri.host) : nullptr;
    const Listing was = h.listed;
    if (k == nullptr) {
        h.listed = Listing::unknown;
        if (!is_new && was == Listing::unknown) return;
        Event e = ctx_.event(EventType::unknown_handset, nullptr, now);
        e.handset = h.address;
        assign_truncated(e.user_agent, ua);
        assign_truncated(e.detail, h.aor.view());
        ev.on_event(e);
        return;
    }
    k->last_register = now;
    k->last_address = h.address;
    k->forgotten = false;
    const bool news = is_new || (was != Listing::known && was != Listing::mismatch);
    const bool address_differs = k->address.valid() && k->address != h.address;
    // No User-Agent at all cannot show the listed model: a mismatch too.
    const bool model_differs = !k->model.empty() && !text::icontains(ua, k->model);
    h.listed = address_differs || model_differs ? Listing::mismatch : Listing::known;
    if (news && address_differs) {
        Event e = ctx_.event(EventType::handset_mismatch, nullptr, now);
        e.handset = h.address;
        assign_truncated(e.user_agent, ua);
        assign_truncated(e.detail, h.aor.view());
        assign_truncated(e.rule, "address:" + k->address.to_string());
        ev.on_event(e);
    }
    // The model: at news, and when the User-Agent of its REGISTERs changes.
    const bool ua_changed = !ua.empty() && h.register_user_agent.view() != ua.substr(0, 64);
    if ((news || ua_changed) && model_differs) {
        Event e = ctx_.event(EventType::handset_mismatch, nullptr, now);
        e.handset = h.address;
        assign_truncated(e.user_agent, ua);
        assign_truncated(e.detail, h.aor.view());
        e.rule.assign("model:");
        e.rule.append(std::string_view(k->model).substr(0, 42));
        ev.on_event(e);
    }
}

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

void HandsetInventory::set_open_interfaces(const net::IpAddress& a, const OpenInterfaces& found) {
    if (Handset* h = table_.find(a)) h->interfaces = found;
}

void HandsetInventory::registered(const net::IpAddress& a, std::uint32_t expires, Timestamp now) {
    if (Handset* h = table_.find(a)) h->registered_until = now + std::chrono::seconds(expires);
}

UserAgentParts split_user_agent(std::string_view ua) noexcept {
    for (std::size_t i = 0; i < ua.size(); ++i) {
        if (!text::is_digit(ua[i])) continue;
        if (i > 0 && (text::is_alnum(ua[i - 1]) || ua[i - 1] == '.')) continue;
        std::size_t j = i;
        while (j < ua.size() && (text::is_alnum(ua[j]) || ua[j] == '.')) ++j;
        const std::string_view token = ua.substr(i, j - i);
        const auto v = FirmwareVersion::parse(token);
        if (!v || v->components() < 2) continue;
        std::string_view product = ua.substr(0, i);
        while (!product.empty() && (product.back() == ' ' || product.back() == '/' || product.back() == '-' ||
                                    product.back() == '_'))
            product.remove_suffix(1);
        return {product, token};
    }
    return {ua, {}};
}

void HandsetInventory::firmware_audit(Handset& h, std::string_view ua, Timestamp now, EventSink& ev) {
    h.firmware_outdated = false;
    for (const FirmwareRule& fw : ctx_.r().firmware) {
        if (!text::icontains(ua, fw.match)) continue;
        const std::string_view token = find_version(ua, fw.match);
        const auto v = FirmwareVersion::parse(token);
        if (v && *v < fw.minimum) {
            h.firmware_outdated = true;
            Event e = ctx_.event(EventType::firmware_outdated, nullptr, now);
            e.handset = h.address;
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

// The hijack signs of a REGISTER. `is_new`: the first registration of this
// address, one after it was stale, or one for another AOR.
void HandsetInventory::register_signs(Handset& h, std::string_view ua, bool is_new, const Now& now, EventSink& ev) {
    // Another device or an older firmware behind the same address.
    const std::string_view before = h.register_user_agent.view();
    if (!ua.empty() && !before.empty() && before != ua.substr(0, 64)) {
        const UserAgentParts was = split_user_agent(before);
        const UserAgentParts is = split_user_agent(ua.substr(0, 64));
        std::string_view rule;
        if (!text::iequals(was.product, is.product)) {
            rule = "other_device";
        } else {
            const auto v0 = FirmwareVersion::parse(was.version);
            const auto v1 = FirmwareVersion::parse(is.version);
            if (v0 && v1 && *v1 < *v0) rule = "firmware_downgrade";
            // An upgrade, or the same product reworded: nothing to say.
        }
        if (!rule.empty()) {
            Event e = ctx_.event(EventType::handset_user_agent_changed, nullptr, now.mono);
            e.handset = h.address;
            assign_truncated(e.user_agent, ua);
            assign_truncated(e.rule, rule);
            e.detail.assign("was:");
            e.detail.append(before.substr(0, 60));
            ev.on_event(e);
        }
    }
    if (!ua.empty()) assign_truncated(h.register_user_agent, ua);
    if (!is_new || h.aor.empty()) return;

    // The same AOR registered, and still so, from another address.
    const Handset* other = nullptr;
    table_.for_each([&](const net::IpAddress& a, const Handset& o) {
        if (other == nullptr && a != h.address && o.aor == h.aor && o.registered_until > now.mono) other = &o;
    });
    if (other != nullptr) {
        Event e = ctx_.event(EventType::aor_second_address, nullptr, now.mono);
        e.handset = h.address;
        e.user_agent = h.user_agent;
        assign_truncated(e.detail, h.aor.view());
        assign_truncated(e.rule, "also_at:" + other->address.to_string());
        ev.on_event(e);
    }
    // A new registration outside business hours.
    if (ctx_.p().toll_fraud.out_of_hours.enabled && !ctx_.r().in_business_hours(now.wall)) {
        Event e = ctx_.event(EventType::registered_out_of_hours, nullptr, now.mono);
        e.handset = h.address;
        e.user_agent = h.user_agent;
        assign_truncated(e.detail, h.aor.view());
        ev.on_event(e);
    }
}

void HandsetInventory::note_sip(const net::IpAddress& a, const sip::SipMessage& m, const Now& now, EventSink& ev) {
    stamp_known(now.mono);
    Handset* found = insert(a, now.mono, ev);
    if (found == nullptr) return;
    Handset& h = *found;
    const std::string_view ua = m.user_agent.empty() ? m.server : m.user_agent;
    const bool ua_changed = !ua.empty() && h.user_agent.view() != ua.substr(0, 64);
    if (ua_changed) {
        assign_truncated(h.user_agent, ua);
        firmware_audit(h, ua, now.mono, ev);
    }
    if (!m.is_request()) return;
    if (m.method == sip::Method::register_) {
        const bool first = h.last_register == Timestamp{} || h.stale;
        h.last_register = now.mono;
        h.stale = false;
        bool aor_changed = false;
        if (m.has_to) {
            FixedString<48> aor;
            aor.append(m.to.uri.user.substr(0, 20));
            aor.push_back('@');
            aor.append(m.to.uri.host.substr(0, 27));
            aor_changed = !(aor == h.aor);
            h.aor = aor;
        }
        if (first) {
            Event e = ctx_.event(EventType::handset_registered, nullptr, now.mono);
            e.handset = a;
            e.user_agent = h.user_agent;
            assign_truncated(e.detail, h.aor.view());
            ev.on_event(e);
        }
        inventory_check(h, m, first || aor_changed, now.mono, ev);
        register_signs(h, m.user_agent, first || aor_changed, now, ev);
    } else if (m.method == sip::Method::invite && h.firmware_outdated && m.has_call_id) {
        // Once per call: retransmissions and re-INVITEs share the Call-ID.
        const std::uint64_t call = hash_bytes(m.call_id);
        if (call != h.last_outdated_call) {
            h.last_outdated_call = call;
            Event e = ctx_.event(EventType::outdated_firmware_call, nullptr, now.mono);
            e.handset = a;
            e.user_agent = h.user_agent;
            assign_truncated(e.call_id, m.call_id);
            assign_truncated(e.dialled, m.request_uri.user);
            ev.on_event(e);
        }
    }
    if (m.method == sip::Method::register_ || m.method == sip::Method::invite)
        audit_.check(a, h.aor.view(), h.audit, m, now.mono, ev);
}

void HandsetInventory::tick(Timestamp now, EventSink& ev) {
    const Duration stale = stale_after();
    if (stale.count() <= 0) return;
    // Listed handsets that stopped registering, or never did: once per
    // staleness period while they stay away.
    stamp_known(now);
    for (KnownHandsetState& k : known_) {
        const Timestamp last = k.seen() ? k.last_register : k.since;
        if (now - last <= stale) continue;
        if (k.forgotten && now - k.reported < stale) continue;
        k.forgotten = true;
        k.reported = now;
        Event e = ctx_.event(EventType::handset_forgotten, nullptr, now);
        e.handset = k.seen() ? k.last_address : k.address;
        assign_truncated(e.detail, k.aor);
        assign_truncated(e.rule, k.seen() ? "not_registering" : "never_seen");
        e.count = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now - last).count());
        ev.on_event(e);
    }
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
