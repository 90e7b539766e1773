// SPDX-License-Identifier: GPL-2.0-or-later
// Stable names of verdicts, reasons and events (logs, counters, replay JSON).
#include "filters/engine/events.h"
#include "filters/engine/verdict.h"

namespace vg::engine {

std::string_view reason_name(Reason r) noexcept {
    switch (r) {
    case Reason::not_voice_network: return "not_voice_network";
    case Reason::handset_internal: return "handset_internal";
    case Reason::sip_inspected: return "sip_inspected";
    case Reason::media_pinhole: return "media_pinhole";
    case Reason::media_outbound: return "media_outbound";
    case Reason::support_allowed: return "support_allowed";
    case Reason::egress_allowed: return "egress_allowed";
    case Reason::egress_return: return "egress_return";
    case Reason::malformed_packet: return "malformed_packet";
    case Reason::unlisted_source: return "unlisted_source";
    case Reason::sip_malformed: return "sip_malformed";
    case Reason::sip_scanner: return "sip_scanner";
    case Reason::sip_rate_limited: return "sip_rate_limited";
    case Reason::rogue_sip_destination: return "rogue_sip_destination";
    case Reason::toll_fraud: return "toll_fraud";
    case Reason::call_limit: return "call_limit";
    case Reason::media_no_pinhole: return "media_no_pinhole";
    case Reason::media_injection: return "media_injection";
    case Reason::media_not_rtp: return "media_not_rtp";
    case Reason::support_port_denied: return "support_port_denied";
    case Reason::egress_denied: return "egress_denied";
    case Reason::fragment: return "fragment";
    case Reason::sip_stream_cut: return "sip_stream_cut";
    case Reason::tcp_unjudged: return "tcp_unjudged";
    case Reason::sip_unknown_method: return "sip_unknown_method";
    case Reason::sip_other_port: return "sip_other_port";
    case Reason::media_destination_denied: return "media_destination_denied";
    case Reason::forged_source: return "forged_source";
    case Reason::foreign_source: return "foreign_source";
    case Reason::tls_uninspected: return "tls_uninspected";
    case Reason::dialog_table_full: return "dialog_table_full";
    case Reason::sip_keepalive: return "sip_keepalive";
    case Reason::icmp_related: return "icmp_related";
    case Reason::icmp_unsolicited: return "icmp_unsolicited";
    case Reason::fraud_threshold: return "fraud_threshold";
    case Reason::callback: return "callback";
    case Reason::media_refused_by_policy: return "media_refused_by_policy";
    case Reason::media_static_allowance: return "media_static_allowance";
    case Reason::count_: break;
    }
    return "unknown";
}

bool reason_is_drop(Reason r) noexcept {
    switch (r) {
    case Reason::not_voice_network:
    case Reason::handset_internal:
    case Reason::sip_inspected:
    case Reason::media_pinhole:
    case Reason::media_outbound:
    case Reason::support_allowed:
    case Reason::egress_allowed:
    case Reason::egress_return:
    case Reason::tls_uninspected:
    case Reason::sip_keepalive:
    case Reason::icmp_related:
    case Reason::media_static_allowance:
    case Reason::count_:
        return false;
    default:
        return true;
    }
}

std::string_view verdict_name(Verdict v) noexcept {
    return v == Verdict::drop ? "drop" : "accept";
}

std::string_view event_name(EventType t) noexcept {
    switch (t) {
    case EventType::scanner: return "scanner";
    case EventType::toll_fraud: return "toll_fraud";
    case EventType::call_limit: return "call_limit";
    case EventType::malformed: return "malformed";
    case EventType::rate_limited: return "rate_limited";
    case EventType::unlisted_source: return "unlisted_source";
    case EventType::rogue_sip_destination: return "rogue_sip_destination";
    case EventType::media_injection: return "media_injection";
    case EventType::media_address_not_allowed: return "media_address_not_allowed";
    case EventType::support_denied: return "support_denied";
    case EventType::egress_denied: return "egress_denied";
    case EventType::firmware_outdated: return "firmware_outdated";
    case EventType::handset_stale: return "handset_stale";
    case EventType::handset_registered: return "handset_registered";
    case EventType::call_started: return "call_started";
    case EventType::call_ended: return "call_ended";
    case EventType::pinhole_opened: return "pinhole_opened";
    case EventType::pinhole_closed: return "pinhole_closed";
    case EventType::table_eviction: return "table_eviction";
    case EventType::sip_stream_cut: return "sip_stream_cut";
    case EventType::unknown_method: return "unknown_method";
    case EventType::media_destination_denied: return "media_destination_denied";
    case EventType::tls_uninspected: return "tls_uninspected";
    case EventType::cleartext_provisioning: return "cleartext_provisioning";
    case EventType::unknown_handset: return "unknown_handset";
    case EventType::handset_mismatch: return "handset_mismatch";
    case EventType::handset_forgotten: return "handset_forgotten";
    case EventType::forged_source: return "forged_source";
    case EventType::foreign_source: return "foreign_source";
    case EventType::fraud_threshold_warning: return "fraud_threshold_warning";
    case EventType::fraud_threshold_critical: return "fraud_threshold_critical";
    case EventType::callback_marked: return "callback_marked";
    case EventType::callback_blocked: return "callback_blocked";
    case EventType::callback_warning: return "callback_warning";
    case EventType::media_port_not_allowed: return "media_port_not_allowed";
    case EventType::weak_credential: return "weak_credential";
    case EventType::handset_user_agent_changed: return "handset_user_agent_changed";
    case EventType::aor_second_address: return "aor_second_address";
    case EventType::registered_out_of_hours: return "registered_out_of_hours";
    case EventType::outdated_firmware_call: return "outdated_firmware_call";
    case EventType::count_: break;
    }
    return "unknown";
}

std::string_view event_id(EventType t) noexcept {
    switch (t) {
    case EventType::scanner: return "VG_SCANNER_DETECTED";
    case EventType::toll_fraud: return "VG_TOLL_FRAUD_BLOCKED";
    case EventType::call_limit: return "VG_CALL_LIMIT_BLOCKED";
    case EventType::malformed: return "VG_MALFORMED";
    case EventType::rate_limited: return "VG_SIP_RATE_LIMITED";
    case EventType::unlisted_source: return "VG_DROP_UNLISTED_SOURCE";
    case EventType::rogue_sip_destination: return "VG_ROGUE_SIP_DESTINATION";
    case EventType::media_injection: return "VG_MEDIA_INJECTION";
    case EventType::media_address_not_allowed: return "VG_MEDIA_ADDRESS_NOT_ALLOWED";
    case EventType::support_denied: return "VG_SUPPORT_PORT_DENIED";
    case EventType::egress_denied: return "VG_EGRESS_DENIED";
    case EventType::firmware_outdated: return "VG_FIRMWARE_OUTDATED";
    case EventType::handset_stale: return "VG_HANDSET_STALE";
    case EventType::handset_registered: return "VG_HANDSET_REGISTERED";
    case EventType::call_started: return "VG_CALL_STARTED";
    case EventType::call_ended: return "VG_CALL_ENDED";
    case EventType::pinhole_opened: return "VG_PINHOLE_OPENED";
    case EventType::pinhole_closed: return "VG_PINHOLE_CLOSED";
    case EventType::table_eviction: return "VG_TABLE_EVICTION";
    case EventType::sip_stream_cut: return "VG_SIP_STREAM_CUT";
    case EventType::unknown_method: return "VG_SIP_UNKNOWN_METHOD";
    case EventType::media_destination_denied: return "VG_MEDIA_DESTINATION_DENIED";
    case EventType::tls_uninspected: return "VG_TLS_UNINSPECTED";
    case EventType::cleartext_provisioning: return "VG_CLEARTEXT_PROVISIONING";
    case EventType::unknown_handset: return "VG_UNKNOWN_HANDSET";
    case EventType::handset_mismatch: return "VG_HANDSET_MISMATCH";
    case EventType::handset_forgotten: return "VG_HANDSET_FORGOTTEN";
    case EventType::forged_source: return "VG_FORGED_SOURCE";
    case EventType::foreign_source: return "VG_FOREIGN_SOURCE";
    case EventType::fraud_threshold_warning: return "VG_FRAUD_THRESHOLD_WARNING";
    case EventType::fraud_threshold_critical: return "VG_FRAUD_THRESHOLD_CRITICAL";
    case EventType::callback_marked: return "VG_CALLBACK_MARKED";
    case EventType::callback_blocked: return "VG_CALLBACK_BLOCKED";
    case EventType::callback_warning: return "VG_CALLBACK_WARNING";
    case EventType::media_port_not_allowed: return "VG_MEDIA_PORT_NOT_ALLOWED";
    case EventType::weak_credential: return "VG_WEAK_CREDENTIAL";
    case EventType::handset_user_agent_changed: return "VG_HANDSET_UA_CHANGED";
    case EventType::aor_second_address: return "VG_AOR_SECOND_ADDRESS";
    case EventType::registered_out_of_hours: return "VG_REGISTER_OUT_OF_HOURS";
    case EventType::outdated_firmware_call: return "VG_OUTDATED_FIRMWARE_CALL";
    case EventType::count_: break;
    }
    return "VG_UNKNOWN";
}

}  // namespace vg::engine
