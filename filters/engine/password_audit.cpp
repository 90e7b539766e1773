// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/password_audit.h"

#include <algorithm>
#include <cstring>

#include "config/schema.h"
#include "filters/util/text.h"

namespace vg::engine {

namespace {

constexpr std::size_t kDerived = 4;   // user, reversed, repeated, + "123"
// Derived candidates only for user names of this length or less (an
// extension or a short account name; longer ones are never typed as a password).
constexpr std::size_t kMaxDerivedUser = 64;

RateSpec spec_for(std::uint32_t rate) noexcept {
    const std::uint32_t r = rate == 0 ? 1 : rate;
    return *RateSpec::per_second(r, r);
}

}  // namespace

std::string_view weak_rule_text(WeakRule r) noexcept {
    switch (r) {
    case WeakRule::none: return "";
    case WeakRule::equals_user: return "equals the extension";
    case WeakRule::user_reversed: return "user name reversed";
    case WeakRule::user_repeated: return "user name repeated";
    case WeakRule::user_123: return "user name + 123";
    case WeakRule::common: return "common weak password";
    case WeakRule::vendor_default: return "vendor default list entry";
    case WeakRule::policy_list: return "policy list entry";
    }
    return "";
}

PasswordAudit::PasswordAudit(EngineContext& ctx)
    : ctx_(ctx), rate_(ctx.p().handsets.password_audit_rate), bucket_(spec_for(rate_), Timestamp{}) {}

void PasswordAudit::reload(Timestamp now) {
    const std::uint32_t rate = ctx_.p().handsets.password_audit_rate;
    if (rate == rate_) return;
    rate_ = rate;
    bucket_.set_spec(spec_for(rate), now);
}

std::size_t PasswordAudit::candidate_count() const noexcept {
    return kDerived + config::builtin_weak_passwords().size() + ctx_.p().handsets.weak_passwords.size();
}

std::string_view PasswordAudit::candidate(std::size_t i, std::string_view user, WeakRule& rule) noexcept {
    if (i < kDerived) {
        if (user.empty() || user.size() > kMaxDerivedUser) return {};
        switch (i) {
        case 0:
            rule = WeakRule::equals_user;
            return user;
        case 1:
            rule = WeakRule::user_reversed;
            std::reverse_copy(user.begin(), user.end(), scratch_);
            return {scratch_, user.size()};
        case 2:
            rule = WeakRule::user_repeated;
            std::memcpy(scratch_, user.data(), user.size());
            std::memcpy(scratch_ + user.size(), user.data(), user.size());
            return {scratch_, 2 * user.size()};
        default:
            rule = WeakRule::user_123;
            std::memcpy(scratch_, user.data(), user.size());
            std::memcpy(scratch_ + user.size(), "123", 3);
            return {scratch_, user.size() + 3};
        }
    }
    i -= kDerived;
    const auto& builtin = config::builtin_weak_passwords();
    if (i < builtin.size()) {
        rule = builtin[i].vendor_default ? WeakRule::vendor_default : WeakRule::common;
        return builtin[i].password;
    }
    i -= builtin.size();
    const auto& listed = ctx_.p().handsets.weak_passwords;
    if (i < listed.size()) {
        rule = WeakRule::policy_list;
        return listed[i];
    }
    return {};
}

std::string_view PasswordAudit::scan_nonce(std::string_view v) noexcept {
    // "Digest" LWS, then name = value pairs separated by commas; quoted
    // values end at an unescaped quote.
    auto lws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::size_t i = 0;
    while (i < v.size() && lws(v[i])) ++i;
    if (v.size() - i < 6 || !text::iequals(v.substr(i, 6), "digest")) return {};
    i += 6;
    while (i < v.size()) {
        while (i < v.size() && (lws(v[i]) || v[i] == ',')) ++i;
        const std::size_t name = i;
        while (i < v.size() && v[i] != '=' && v[i] != ',' && !lws(v[i])) ++i;
        const std::string_view n = v.substr(name, i - name);
        while (i < v.size() && lws(v[i])) ++i;
        if (i >= v.size() || v[i] != '=') {
            if (n.empty()) return {};
            continue;
        }
        ++i;
        while (i < v.size() && lws(v[i])) ++i;
        std::size_t start = i;
        std::size_t end = i;
        if (i < v.size() && v[i] == '"') {
            start = ++i;
            while (i < v.size() && v[i] != '"') i += v[i] == '\\' ? 2 : 1;
            if (i >= v.size()) return {};
            end = i++;
        } else {
            while (i < v.size() && v[i] != ',' && !lws(v[i])) ++i;
            end = i;
        }
        if (text::iequals(n, "nonce")) return v.substr(start, end - start);
    }
    return {};
}

bool PasswordAudit::take(Timestamp now, std::uint32_t hashes, std::uint32_t& used) noexcept {
    if (used + hashes > kMaxHashesPerPacket) return false;
    if (!bucket_.allow(now, hashes)) return false;
    used += hashes;
    ctx_.stats.audit_hashes += hashes;
    return true;
}

void PasswordAudit::check(const net::IpAddress& handset, std::string_view aor, AuditState& st,
                          const sip::SipMessage& m, Timestamp now, EventSink& ev) {
    if (rate_ == 0 || !m.is_request()) return;
    const sip::Header* h = nullptr;
    for (const sip::HeaderId id : {sip::HeaderId::authorization, sip::HeaderId::proxy_authorization}) {
        m.for_each_header(id, [&](const sip::Header& hd) {
            if (h == nullptr && text::istarts_with(text::trim_lws(hd.value), "digest")) h = &hd;
        });
        if (h != nullptr) break;
    }
    if (h == nullptr) return;
    // Before parsing: nothing is read further while the budget is spent (a
    // flood costs the header lookup and this test); then a nonce this
    // handset's finished check covered is skipped. A parse that leads to
    // hashing is paid by its hashes; one that does not (malformed, or a
    // nonce already checked that the scan missed) costs a token itself, so
    // parses never outnumber the budget.
    if (bucket_.available(now) == 0) {
        ++ctx_.stats.audit_unparsed_budget;
        ++ctx_.stats.audit_deferred;
        return;
    }
    const std::string_view nonce = scan_nonce(h->value);
    std::uint64_t seen = 0;
    if (!nonce.empty()) {
        seen = 14695981039346656037ull;
        for (std::string_view part : {aor, std::string_view("\0", 1), nonce})
            for (char c : part) seen = (seen ^ static_cast<unsigned char>(c)) * 1099511628211ull;
        if (seen == 0) seen = 1;
        if (seen == st.seen && st.next == AuditState::kDone) {
            ++ctx_.stats.audit_unparsed_repeat;
            return;
        }
    }
    ++ctx_.stats.audit_parsed;
    const sip::DigestResult pr = sip::parse_digest_credentials(h->value, creds_);
    if (pr.status != sip::DigestStatus::ok) {
        ++ctx_.stats.audit_skipped_malformed;
        bucket_.allow(now, 1);   // the parse's token
        return;
    }
    // (user, realm, nonce): the key of one check.
    std::uint64_t key = 14695981039346656037ull;
    for (std::string_view part : {creds_.username.raw, std::string_view("\0", 1), creds_.realm.raw,
                                  std::string_view("\0", 1), creds_.nonce.raw})
        for (char c : part) key = (key ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    if (key == 0) key = 1;
    if (key == st.key && st.next == AuditState::kDone) {   // this nonce was checked
        st.seen = seen;
        bucket_.allow(now, 1);   // the parse's token
        return;
    }
    if (key != st.key) {
        st.key = key;
        st.next = 0;
        ++ctx_.stats.audit_checks;
    }
    st.seen = seen;

    std::uint32_t used = 0;
    if (!take(now, 1, used)) {
        ++ctx_.stats.audit_deferred;
        return;
    }
    const DigestCheckStatus cs = verifier_.init(creds_, m.method_text);
    if (cs != DigestCheckStatus::ok) {
        st.next = AuditState::kDone;
        if (cs == DigestCheckStatus::qop_auth_int) ++ctx_.stats.audit_skipped_auth_int;
        else ++ctx_.stats.audit_skipped_unsupported;
        return;
    }
    const std::string_view user = verifier_.username();
    const std::size_t total = candidate_count();
    const std::uint32_t per = verifier_.hashes_per_test();
    while (st.next < total) {
        WeakRule rule = WeakRule::none;
        const std::string_view pw = candidate(st.next, user, rule);
        if (pw.empty()) {
            ++st.next;
            continue;
        }
        if (!take(now, per, used)) {
            ++ctx_.stats.audit_deferred;
            return;
        }
        ++ctx_.stats.audit_passwords_tested;
        if (verifier_.test(pw)) {
            st.next = AuditState::kDone;
            ++ctx_.stats.audit_completed;
            const bool changed = st.weak != rule;
            st.weak = rule;
            if (changed) {
                Event e = ctx_.event(EventType::weak_credential, nullptr, now);
                e.handset = handset;
                assign_truncated(e.method, m.method_text);
                assign_truncated(e.user_agent, m.user_agent);
                assign_truncated(e.rule, weak_rule_text(rule));
                // "AOR realm:R": no "x:y@" that the log's credential mask
                // would take for a URI's user:password.
                e.detail.assign(aor.substr(0, 32));
                e.detail.append(" realm:");
                e.detail.append(verifier_.realm().substr(0, 64 - e.detail.size()));
                ev.on_event(e);
            }
            return;
        }
        ++st.next;
    }
    st.next = AuditState::kDone;
    st.weak = WeakRule::none;
    ++ctx_.stats.audit_completed;
}

}  // namespace vg::engine
