// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/callback_guard.h"

#include <cstdio>
#include <string>

namespace vg::engine {

void describe_mark(const CallbackMark& m, FixedString<64>& out) noexcept {
    char how[24];
    switch (m.how) {
    case CallbackHow::cancel: std::snprintf(how, sizeof how, "cancel"); break;
    case CallbackHow::failure: std::snprintf(how, sizeof how, "failure_%u", static_cast<unsigned>(m.status)); break;
    case CallbackHow::short_call: std::snprintf(how, sizeof how, "answered"); break;
    }
    char text[96];
    std::snprintf(text, sizeof text, "inbound:%08x %s:%us handset:", static_cast<unsigned>(m.call_hash), how,
                  static_cast<unsigned>(m.seconds));
    out.assign(std::string_view(text).substr(0, 64));
    // The handset's address as far as it fits (IPv6 may be cut).
    const std::string a = m.handset.to_string();
    for (char c : a)
        if (!out.push_back(c)) break;
}

CallbackGuard::CallbackGuard(std::size_t capacity, const SipHashKey& secret)
    : secret_(secret), table_(capacity < 16 ? 16 : capacity, secret.k0 ^ 0x63616c6c6261636bull) {}

CallbackGuard::Key CallbackGuard::key(std::string_view number) const noexcept {
    SipHash24 h(secret_);
    h.update("callback");
    h.update_u64(number.size());
    h.update(number);
    const auto r = h.finish();
    return Key{r.first, r.second};
}

std::optional<std::string_view> CallbackGuard::risk_prefix(const NormalisedNumber& n,
                                                           const CompiledPolicy& r) noexcept {
    if (n.cls != NumberClass::e164 || n.view().size() > 16 || !r.dial_plan) return std::nullopt;
    const std::string_view cc = r.dial_plan->country_code();
    const auto risk = r.callback_risk.match(n.view(), cc);
    if (!risk) return std::nullopt;
    if (const auto allow = r.allow.match(n.view(), cc); allow && allow->length > risk->length) return std::nullopt;
    return risk->text;
}

bool CallbackGuard::mark(const CallbackMark& m) noexcept {
    const Key k = key(m.number.view());
    auto ins = table_.find_or_insert(k);
    if (ins.evicted) ++evictions_;
    if (ins.value == nullptr) return ins.evicted;
    // Marked again: a new window from this call; a number a handset already
    // tried to call back stays on the list evicted last.
    const std::uint32_t callbacks = ins.inserted ? 0 : ins.value->callbacks;
    *ins.value = m;
    ins.value->callbacks = callbacks;
    return ins.evicted;
}

const CallbackMark* CallbackGuard::find(std::string_view number, Timestamp now, Duration window, bool hit) noexcept {
    const Key k = key(number);
    CallbackMark* m = table_.find(k);
    if (m == nullptr || m->number != number) return nullptr;
    if (now - m->ended > window) return nullptr;   // expire() removes it
    if (hit) {
        if (m->callbacks < 0xffffffffu) ++m->callbacks;
        table_.move_to_list(k, kListCalledBack);
    }
    return m;
}

void CallbackGuard::expire(Timestamp now, Duration window) noexcept {
    table_.erase_if([&](const Key&, CallbackMark& m) { return now - m.ended > window; });
}

}  // namespace vg::engine
