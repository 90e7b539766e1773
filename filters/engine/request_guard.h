// SPDX-License-Identifier: GPL-2.0-or-later
// What a handset's SIP asks the PBX to do, put to the toll-fraud guard
// (toll_guard.h): the Request-URI and every To of an INVITE, every Refer-To
// of a REFER, every Contact of a 3xx answer to the PBX's INVITE, the
// Contacts of a REGISTER that are numbers elsewhere than the handset, the
// targets (Request-URI, every To) of a MESSAGE. A target the parser refuses
// is judged as a lenient stack reads it (sip_content.h, lenient_target) and,
// for a Refer-To or a 3xx Contact, as written too. Methods known only
// ignoring case are judged as that method; unknown methods fail closed
// (sip.unknown_methods).
//
// A retransmission is the same transaction (Via branch, CSeq, From tag,
// Request-URI) and the same bytes, never merely the same Call-ID: it was
// judged when it first passed. The credentialed retry of a challenged INVITE
// is judged but not counted twice. A re-INVITE in a known dialog whose
// Request-URI is not the far end's target is judged as a destination (a
// proxy routes in-dialog requests by it).
#pragma once

#include <string_view>

#include "filters/engine/calls.h"
#include "filters/engine/engine_context.h"
#include "filters/engine/toll_guard.h"
#include "filters/sip/sip_message.h"

namespace vg::engine {

class RequestGuard {
public:
    RequestGuard(EngineContext& ctx, TollGuard& toll, CallTable& calls);

    // A request from a handset to the PBX. Fills `iv` for call tracking.
    Decision request(const net::DecodedPacket& p, const sip::SipMessage& m, const Now& now, EventSink& ev,
                     InviteVerdict& iv);
    // A 3xx from a handset to the PBX's INVITE.
    Decision redirect(const net::DecodedPacket& p, const sip::SipMessage& m, const Now& now, EventSink& ev);

private:
    Decision judge_targets(const net::DecodedPacket& p, const sip::SipMessage& m, const std::string_view* users,
                           std::size_t n, const Now& now, EventSink& ev, bool& routable);
    Decision judge_to(const net::DecodedPacket& p, const sip::SipMessage& m, std::string_view except, const Now& now,
                      EventSink& ev);
    Decision block(const net::DecodedPacket& p, const sip::SipMessage& m, const TollDecision& d, const Now& now,
                   EventSink& ev);
    LimitKeys limit_keys(const net::DecodedPacket& p, const sip::SipMessage& m) const noexcept;
    // A callback to a marked number (callback_guard.h). `repeated`: the
    // credentialed retry of a challenged INVITE.
    Decision callback(const net::DecodedPacket& p, const sip::SipMessage& m, std::string_view ruri_user,
                      const Now& now, EventSink& ev, bool repeated);

    EngineContext& ctx_;
    TollGuard& toll_;
    CallTable& calls_;
};

}  // namespace vg::engine
