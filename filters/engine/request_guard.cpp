// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/request_guard.h"

#include <algorithm>

#include "filters/engine/sip_content.h"
#include "filters/sip/sip_uri.h"
#include "filters/util/text.h"

namespace vg::engine {

RequestGuard::RequestGuard(EngineContext& ctx, TollGuard& toll, CallTable& calls)
    : ctx_(ctx), toll_(toll), calls_(calls) {}

namespace {

// The profile, threshold and levels of a hit, for the event.
void fill_fraud(TollDecision& d, const CompiledProfile& prof, const FraudHit& hit) noexcept {
    assign_truncated(d.group, prof.name);
    d.threshold.assign(hit.site ? "per_site." : "per_handset.");
    d.threshold.append(config::to_string(hit.threshold));
    d.value = hit.value;
    d.level = hit.level;
    d.rule.assign("fraud_threshold:");
    d.rule.append(std::string_view(prof.name).substr(0, 48 - 16));
}

}  // namespace

// The keys a handset's call counts against (toll_guard.h): its address and
// the digest user name (and realm) it authenticates with. Not the From AOR:
// a handset writes what it likes there, and every anonymous (RFC 3323) call
// of the site would share "anonymous@anonymous.invalid".
// Every Digest credential counts, not the first: PBXs pick the one whose
// realm they challenged (Kamailio, pjsip) or read only Authorization
// (Asterisk), so a decoy before the real one would leave the real user's
// budgets uncharged. More than LimitKeys holds is refused (admit()).
LimitKeys RequestGuard::limit_keys(const net::DecodedPacket& p, const sip::SipMessage& m) const noexcept {
    LimitKeys k;
    k.add(limit_key("ip", std::string_view(reinterpret_cast<const char*>(p.src.bytes()), p.src.is_v4() ? 4 : 16)));
    const auto credential = [&k](const sip::Header& h) {
        std::string_view v = h.value;
        if (!text::istarts_with(v, "digest")) return;
        v.remove_prefix(6);
        sip::Param user, realm;
        // Digest credentials are a comma list of name=value (RFC 3261 §25.1).
        sip::CommaIterator it(v);
        std::string_view element;
        while (it.next(element)) {
            const std::size_t eq = element.find('=');
            if (eq == std::string_view::npos) continue;
            const std::string_view name = text::trim_wsp(element.substr(0, eq));
            std::string_view value = text::trim_wsp(element.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
            if (text::iequals(name, "username")) user.value = value;
            if (text::iequals(name, "realm")) realm.value = value;
        }
        if (!user.value.empty()) {
            char id_text[160];
            std::size_t len = 0;
            for (std::string_view part : {user.value, std::string_view("@"), realm.value})
                for (char c : part)
                    if (len < sizeof id_text) id_text[len++] = c;
            k.add(limit_key("auth", std::string_view(id_text, len)));
        }
    };
    m.for_each_header(sip::HeaderId::proxy_authorization, credential);
    m.for_each_header(sip::HeaderId::authorization, credential);
    return k;
}

Decision RequestGuard::block(const net::DecodedPacket& p, const sip::SipMessage& m, const TollDecision& d, const Now& now,
                       EventSink& ev) {
    Event e = ctx_.event(d.event, &p, now.mono);
    e.handset = p.src;
    assign_truncated(e.method, m.is_request() ? m.method_text : std::string_view("response"));
    assign_truncated(e.number, d.number.view());
    assign_truncated(e.dialled, d.dialled.view());
    e.rule = d.rule;
    e.group = d.group;
    e.threshold = d.threshold;
    e.value = d.value;
    e.level = d.level;
    assign_truncated(e.call_id, m.call_id);
    assign_truncated(e.user_agent, m.user_agent);
    ev.on_event(e);
    return {Verdict::drop, d.reason};
}

// Judges the dial strings of one message (Request-URI and To of an INVITE,
// every Refer-To, every 3xx Contact): the first that is denied blocks it.
// `routable` is set when one of them could reach the PSTN.
Decision RequestGuard::judge_targets(const net::DecodedPacket& p, const sip::SipMessage& m,
                                     const std::string_view* users, std::size_t n, const Now& now, EventSink& ev, bool& routable) {
    for (std::size_t i = 0; i < n; ++i) {
        const TollDecision d = toll_.judge(users[i], ctx_.r(), now.wall);
        if (d.blocked) return block(p, m, d, now, ev);
        routable = routable || (d.number_like && !d.service && d.number.cls != NumberClass::short_number);
    }
    return {Verdict::accept, Reason::sip_inspected};
}

// Every To header other than `except` (the Request-URI's user), judged: a
// PBX that routes by To may take any of them when there are several (the
// parser keeps the first in m.to and marks the others duplicate_header).
Decision RequestGuard::judge_to(const net::DecodedPacket& p, const sip::SipMessage& m, std::string_view except,
                                const Now& now, EventSink& ev) {
    Decision d{Verdict::accept, Reason::sip_inspected};
    m.for_each_header(sip::HeaderId::to, [&](const sip::Header& h) {
        if (d.verdict == Verdict::drop) return;
        sip::NameAddr na;
        sip::parse_name_addr(h.value, na);
        const std::string_view target = dial_target(na);
        if (target.empty() || target == except) return;
        bool routable = false;
        d = judge_targets(p, m, &target, 1, now, ev, routable);
    });
    return d;
}

Decision RequestGuard::request(const net::DecodedPacket& p, const sip::SipMessage& m, const Now& now, EventSink& ev,
                               InviteVerdict& iv) {
    const config::Policy& pol = ctx_.p();
    if (m.method == sip::Method::unknown) {
        // A method the engine does not know: it cannot tell what the PBX
        // will make of it (fail closed, unless the policy says otherwise).
        Event e = ctx_.event(EventType::unknown_method, &p, now.mono);
        e.handset = p.src;
        assign_truncated(e.method, m.method_text);
        assign_truncated(e.call_id, m.call_id);
        assign_truncated(e.user_agent, m.user_agent);
        ev.on_event(e);
        if (pol.sip.drop_unknown_methods) return {Verdict::drop, Reason::sip_unknown_method};
        return {Verdict::accept, Reason::sip_inspected};
    }
    if (m.method == sip::Method::refer) {
        // Every Refer-To, however many (a PBX may act on any of them): each
        // is judged as it comes, so no list of them can run out of room.
        bool routable = false;
        Decision d{Verdict::accept, Reason::sip_inspected};
        m.for_each_header(sip::HeaderId::refer_to, [&](const sip::Header& h) {
            if (d.verdict == Verdict::drop) return;
            std::string_view users[2];
            std::size_t n = 0;
            sip::NameAddr na;
            if (sip::parse_name_addr(h.value, na)) {
                users[n++] = uri_target(na.uri);
            } else {
                // Unparsable: judged as a lenient stack reads it, and as written.
                users[n++] = lenient_target(na.raw);
                if (users[0] != h.value) users[n++] = h.value;
            }
            bool r = false;
            d = judge_targets(p, m, users, n, now, ev, r);
            routable = routable || r;
        });
        if (d.verdict == Verdict::drop) return d;
        // The PBX places the transfer's call: it counts (hourly budgets).
        if (routable) {
            TollDecision lim;
            if (!toll_.admit(limit_keys(p, m), false, true, ctx_.r(), now, lim)) {
                sip::NameAddr na;
                const sip::Header* h = m.find(sip::HeaderId::refer_to);
                if (h != nullptr && sip::parse_name_addr(h->value, na)) {
                    const TollDecision t = toll_.judge(uri_target(na.uri), ctx_.r(), now.wall);
                    lim.number = t.number;
                    lim.dialled = t.dialled;
                }
                return block(p, m, lim, now, ev);
            }
        }
        return {Verdict::accept, Reason::sip_inspected};
    }
    if (m.method == sip::Method::register_) {
        // A binding the PBX will call: a Contact that is a number somewhere
        // other than the handset itself (a tel: URI, a number at the PBX's
        // domain) makes the PBX fork the handset's incoming calls to it.
        std::string_view users[sip::kMaxContacts];
        std::size_t n = 0;
        for (std::size_t i = 0; i < m.contact_count && n < sip::kMaxContacts; ++i) {
            const sip::Uri& u = m.contacts[i].addr.uri;
            if (!u.valid) {
                // Unparsable: judged as a lenient stack reads it.
                users[n++] = lenient_target(m.contacts[i].addr.raw);
                continue;
            }
            if (u.is_sip()) {
                const auto host = net::IpAddress::parse(u.host_unbracketed());
                if (host && ctx_.r().handsets.contains(*host)) continue;   // the handset itself
            }
            users[n++] = uri_target(u);
        }
        bool routable = false;
        return judge_targets(p, m, users, n, now, ev, routable);
    }
    if (m.method == sip::Method::message) {
        // A text message to a number goes out through the PBX's SMS gateway
        // (premium-rate SMS is toll fraud too): number rules, no call limits.
        const std::string_view target = uri_target(m.request_uri);
        bool routable = false;
        const Decision d = judge_targets(p, m, &target, 1, now, ev, routable);
        if (d.verdict == Verdict::drop) return d;
        return judge_to(p, m, target, now, ev);
    }
    if (m.method != sip::Method::invite) return {Verdict::accept, Reason::sip_inspected};

    const std::string_view ruri_user = uri_target(m.request_uri);
    const std::uint64_t branch = m.via_count > 0 ? hash_bytes(m.vias[0].branch) : 0;
    const std::uint64_t ruri = hash_bytes(m.request_uri_text);
    Dialog* d = calls_.find(m, p.src);
    if (d != nullptr && !d->handset_is_caller) d = nullptr;

    if (m.to.has_tag && d != nullptr && d->state != DialogState::ended) {
        // A re-INVITE in a dialog the engine knows. A B2BUA ignores its
        // Request-URI; a proxy routes by it, so a Request-URI other than the
        // far end's target is judged as a destination (no limits: same call).
        if (d->remote_target != 0 && hash_bytes(ruri_user) == d->remote_target)
            return {Verdict::accept, Reason::sip_inspected};
        const TollDecision t = toll_.judge(ruri_user, ctx_.r(), now.wall);
        if (t.blocked) return block(p, m, t, now, ev);
        return {Verdict::accept, Reason::sip_inspected};
    }
    // A retransmission is the same transaction and the same bytes: it was
    // judged when it first passed.
    const std::uint64_t bytes = hash_bytes(message_bytes(m));
    if (d != nullptr && d->state != DialogState::ended && d->invite_branch == branch && d->invite_cseq == m.cseq.number &&
        d->invite_ruri == ruri && d->invite_bytes == bytes)
        return {Verdict::accept, Reason::sip_inspected};
    // The credentialed retry of a challenged INVITE (same Call-ID and From
    // tag, a higher CSeq, the same Request-URI) is the same call: judged, not
    // counted twice.
    const bool challenged_retry = d != nullptr && d->state == DialogState::ended && d->challenged &&
                                  m.cseq.number > d->invite_cseq && d->invite_ruri == ruri;

    // A callback to a number a one-ring call marked (callback_guard.h):
    // before the prefix rules, so the event names the inbound call.
    if (const Decision cb = callback(p, m, ruri_user, now, ev, challenged_retry); cb.verdict == Verdict::drop)
        return cb;

    // The destinations: the Request-URI, and every To that names another
    // (some PBXs route by To when the Request-URI has no user).
    bool routable = false;
    Decision judged = judge_targets(p, m, &ruri_user, 1, now, ev, routable);
    if (judged.verdict == Verdict::drop) return judged;
    judged = judge_to(p, m, ruri_user, now, ev);
    if (judged.verdict == Verdict::drop) return judged;
    const std::string_view to_user = m.has_to ? dial_target(m.to) : std::string_view();

    const TollDecision primary = toll_.judge(ruri_user.empty() ? to_user : ruri_user, ctx_.r(), now.wall);
    iv.judged = true;
    iv.number = primary.number;
    iv.keys = limit_keys(p, m);
    if (primary.service) {
        iv.new_call = true;   // emergency and service numbers are never limited
        return {Verdict::accept, Reason::sip_inspected};
    }
    // A new INVITE (no To tag) on a call already answered: the call table
    // would fold it into that call, outside the concurrent limits and the
    // destination profiles, so one Call-ID could carry any number of calls.
    // No UA starts a call on a live call's Call-ID and From tag (a retry
    // after a 3xx, a failover or a challenge comes before the answer).
    if (d != nullptr && d->state == DialogState::confirmed && !m.to.has_tag) {
        TollDecision f = primary;
        f.blocked = true;
        f.reason = Reason::call_limit;
        f.event = EventType::call_limit;
        f.rule.assign("limit:new_call_on_a_live_call_id");
        return block(p, m, f, now, ev);
    }
    const bool already_counted = d != nullptr && d->state != DialogState::ended && d->counted;
    // Destination profiles (fraud_profiles.h): a new call over a critical
    // level is dropped before it takes from any budget.
    const CompiledProfile* prof = ctx_.r().profile_for(primary.number.view());
    const bool new_call = !already_counted && !challenged_retry;
    if (prof != nullptr && new_call) {
        const FraudValues v = toll_.profiles().values(iv.keys, *prof, primary.number.view(), ctx_.r(), now);
        FraudHit hit;
        if (toll_.profiles().critical(v, *prof, ctx_.r(), now, hit)) {
            TollDecision f = primary;
            f.blocked = true;
            f.reason = Reason::fraud_threshold;
            f.event = EventType::fraud_threshold_critical;
            fill_fraud(f, *prof, hit);
            return block(p, m, f, now, ev);
        }
    }
    TollDecision lim = primary;
    if (!toll_.admit(iv.keys, !already_counted, !challenged_retry, ctx_.r(), now, lim)) return block(p, m, lim, now, ev);
    if (prof != nullptr) {
        iv.profile = prof->id;
        if (new_call) {
            const FraudHits hits = toll_.profiles().count(iv.keys, *prof, primary.number.view(), ctx_.r(), now, ev);
            for (std::uint8_t i = 0; i < hits.count; ++i) {
                TollDecision w = primary;
                fill_fraud(w, *prof, hits.hit[i]);
                Event e = ctx_.event(EventType::fraud_threshold_warning, &p, now.mono);
                e.handset = p.src;
                assign_truncated(e.method, m.method_text);
                assign_truncated(e.number, w.number.view());
                assign_truncated(e.dialled, w.dialled.view());
                e.rule = w.rule;
                e.group = w.group;
                e.threshold = w.threshold;
                e.value = w.value;
                e.level = w.level;
                assign_truncated(e.call_id, m.call_id);
                assign_truncated(e.user_agent, m.user_agent);
                ev.on_event(e);
            }
        }
    }
    iv.new_call = true;
    iv.counted = !already_counted;
    return {Verdict::accept, Reason::sip_inspected};
}

// An INVITE whose dial string (any reading of its Request-URI user, or of
// its To when the Request-URI has none) is a marked number within the
// window: dropped (action block) or reported (action warn).
Decision RequestGuard::callback(const net::DecodedPacket& p, const sip::SipMessage& m, std::string_view ruri_user,
                                const Now& now, EventSink& ev, bool repeated) {
    const Decision pass{Verdict::accept, Reason::sip_inspected};
    const CompiledPolicy& r = ctx_.r();
    const config::Policy::TollFraud& tf = r.p().toll_fraud;
    if (!tf.enabled || !tf.callback.enabled || !r.dial_plan || toll_.callbacks().size() == 0) return pass;
    const std::string_view target = !ruri_user.empty() ? ruri_user : m.has_to ? dial_target(m.to) : std::string_view();
    if (target.empty()) return pass;
    const DialReadings reads = read_dial_string(target, *r.dial_plan);
    const Duration window = std::chrono::seconds(tf.callback.window.count());
    const CallbackMark* mk = nullptr;
    const NormalisedNumber* hit = nullptr;
    for (std::size_t i = 0; i <= reads.alternative_count && mk == nullptr; ++i) {
        const NormalisedNumber& n = i == 0 ? reads.primary : reads.alternatives[i - 1];
        if (n.cls != NumberClass::e164) continue;
        mk = toll_.callbacks().find(n.view(), now.mono, window, !repeated);
        hit = &n;
    }
    if (mk == nullptr) return pass;
    if (repeated && !tf.callback.block) return pass;   // the challenged retry of a call reported already
    Event e = ctx_.event(tf.callback.block ? EventType::callback_blocked : EventType::callback_warning, &p, now.mono);
    e.handset = p.src;
    assign_truncated(e.method, m.method_text);
    assign_truncated(e.number, hit->view());
    assign_truncated(e.dialled, reads.decoded.view());
    e.rule.assign("callback:");
    e.rule.append(std::string_view(mk->prefix.view()).substr(0, 48 - 9));
    assign_truncated(e.call_id, m.call_id);
    assign_truncated(e.user_agent, m.user_agent);
    describe_mark(*mk, e.detail);
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(now.mono - mk->ended).count();
    e.count = static_cast<std::uint32_t>(std::max<std::int64_t>(0, std::min<std::int64_t>(ago, 0xffffffff)));
    ev.on_event(e);
    if (!tf.callback.block) return pass;
    return {Verdict::drop, Reason::callback};
}

// A handset answering the PBX's INVITE with a redirect: the PBX calls the
// Contacts for it (recursion), so each is a destination.
Decision RequestGuard::redirect(const net::DecodedPacket& p, const sip::SipMessage& m, const Now& now, EventSink& ev) {
    std::string_view users[2 * sip::kMaxContacts];
    std::size_t n = 0;
    for (std::size_t i = 0; i < m.contact_count; ++i) {
        const sip::NameAddr& c = m.contacts[i].addr;
        if (c.uri.valid) {
            users[n++] = uri_target(c.uri);
            continue;
        }
        // Unparsable: judged as a lenient stack reads it, and as written.
        users[n++] = lenient_target(c.raw);
        if (users[n - 1] != c.raw) users[n++] = c.raw;
    }
    bool routable = false;
    const Decision d = judge_targets(p, m, users, n, now, ev, routable);
    if (d.verdict == Verdict::drop) return d;
    if (routable) {
        TollDecision lim;
        if (n > 0) {
            const TollDecision t = toll_.judge(users[0], ctx_.r(), now.wall);
            lim.number = t.number;
            lim.dialled = t.dialled;
        }
        if (!toll_.admit(limit_keys(p, m), false, true, ctx_.r(), now, lim)) return block(p, m, lim, now, ev);
    }
    return {Verdict::accept, Reason::sip_inspected};
}

}  // namespace vg::engine
