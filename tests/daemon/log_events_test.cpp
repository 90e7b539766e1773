// SPDX-License-Identifier: GPL-2.0-or-later
// The catalogue of log lines (daemon/log_events.cpp): each engine event's
// fields in a fixed order, only those that are set, packet text escaped and
// masked; the aggregation keys; the daemon's own lines; and daemon/EVENTS.md
// against all of it.
#include "daemon/log_events.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/daemon/log_test_util.h"

namespace vg::daemon {
namespace {

using engine::Event;
using engine::EventType;
using test::ip;
using test::toll_fraud_event;
using test::unlisted;

TEST(LogEvents, TollFraudEvent_HasIdSiteAndFieldsInFixedOrder) {
    EXPECT_EQ(format_event(toll_fraud_event(), "acme-london", NumberMask{}),
              "VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10 src_port=5060 dst=198.51.100.10 "
              "dst_port=5060 proto=udp method=INVITE number=+88213000001 dialled=0088213000001 "
              "rule=deny_prefix:+882 call_id=8f2d1c@192.168.20.10 ua=\"Yealink SIP-T46S 66.86.0.15\"");
}

TEST(LogEvents, EventWithOnlySource_PrintsOnlyIdSiteAndSource) {
    EXPECT_EQ(format_event(unlisted("203.0.113.7"), "s1", NumberMask{}), "VG_DROP_UNLISTED_SOURCE site=s1 src=203.0.113.7");
}

TEST(LogEvents, CountAndHandsetPort_PrintedWhenNonZero) {
    Event e;
    e.type = EventType::pinhole_closed;
    e.handset = ip("2001:db8::10");
    e.handset_port = 40000;
    e.destination = e.handset;   // the handset's address is not repeated as dst
    e.destination_port = 40000;
    e.protocol = 17;
    e.count = 3;
    EXPECT_EQ(format_event(e, "s", NumberMask{}),
              "VG_PINHOLE_CLOSED site=s handset=2001:db8::10 handset_port=40000 dst_port=40000 proto=udp count=3");
}

TEST(LogEvents, FailedLine_EscapesATooledErrorText) {
    EXPECT_EQ(failed_line("VG_RULES_FAILED", "acme", "line 3: \"x\"\nCOMMIT", "iptables"),
              "VG_RULES_FAILED site=acme backend=iptables error=\"line 3: \\\"x\\\"\\x0aCOMMIT\"");
    EXPECT_EQ(failed_line("VG_LOOP_FAILED", "acme", "busy"), "VG_LOOP_FAILED site=acme error=busy");
}

TEST(LogEvents, UnknownProtocol_PrintedAsNumber) {
    Event e = unlisted("203.0.113.7");
    e.protocol = 47;
    EXPECT_EQ(format_event(e, "s", NumberMask{}), "VG_DROP_UNLISTED_SOURCE site=s src=203.0.113.7 proto=47");
}

TEST(LogEvents, UserAgentWithNewline_CannotStartAForgedLine) {
    Event e = unlisted("203.0.113.7");
    e.user_agent.assign("x\nVG_START site=evil");
    const std::string line = format_event(e, "s", NumberMask{});
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line, "VG_DROP_UNLISTED_SOURCE site=s src=203.0.113.7 ua=\"x\\x0aVG_START site=evil\"");
}

TEST(LogEvents, UnbalancedQuoteInValue_CannotCloseTheQuote) {
    Event e = unlisted("203.0.113.7");
    e.user_agent.assign("a\" rule=forged \"");
    EXPECT_EQ(format_event(e, "s", NumberMask{}), "VG_DROP_UNLISTED_SOURCE site=s src=203.0.113.7 ua=\"a\\\" rule=forged \\\"\"");
}

TEST(LogEvents, SiteWithSpace_IsQuoted) {
    EXPECT_EQ(format_event(unlisted("203.0.113.7"), "acme london", NumberMask{}),
              "VG_DROP_UNLISTED_SOURCE site=\"acme london\" src=203.0.113.7");
}

TEST(LogEvents, DetailAndDialledOfEvent_AreMasked) {
    Event e;
    e.type = EventType::rogue_sip_destination;
    e.handset = ip("192.168.20.11");
    e.detail.assign("sip:201:hunter2@203.0.113.50");
    e.dialled.assign("x:y@z");
    const std::string line = format_event(e, "s", NumberMask{});
    EXPECT_EQ(line, "VG_ROGUE_SIP_DESTINATION site=s handset=192.168.20.11 dialled=x:***@z detail=sip:201:***@203.0.113.50");
    EXPECT_EQ(line.find("hunter2"), std::string::npos);
}

TEST(LogEvents, MonitorMode_SaysTheEventWasOnlyLogged) {
    Event e = toll_fraud_event();
    e.monitor = true;
    const std::string line = format_event(e, "s", NumberMask{});
    EXPECT_EQ(line.substr(line.size() - 20), " action=monitor_only");
}

TEST(LogEvents, EventKeys_FollowTheDocumentedFields) {
    Event e = toll_fraud_event();
    EXPECT_EQ(event_key_fields(e), " handset=192.168.20.10");
    e.type = EventType::scanner;
    e.source = ip("203.0.113.7");
    EXPECT_EQ(event_key_fields(e), " src=203.0.113.7");
    e.type = EventType::pinhole_opened;
    e.handset_port = 40000;
    EXPECT_EQ(event_key_fields(e), " handset=192.168.20.10 handset_port=40000");
    e.type = EventType::call_ended;
    EXPECT_EQ(event_key_fields(e), " handset=192.168.20.10 call_id=8f2d1c@192.168.20.10");
    // Cleartext provisioning: per handset and server (not per file).
    e.type = EventType::cleartext_provisioning;
    e.destination = ip("198.51.100.80");
    e.detail.assign("a.cfg");
    const std::string key = event_key_fields(e);
    EXPECT_EQ(key, " handset=192.168.20.10 dst=198.51.100.80");
    e.detail.assign("b.rom");
    EXPECT_EQ(event_key_fields(e), key);
    // An unknown handset: per address, whichever AORs it tries.
    e.type = EventType::unknown_handset;
    e.detail.assign("203@pbx.example.net");
    EXPECT_EQ(event_key_fields(e), " handset=192.168.20.10");
    // A forgotten handset: per AOR (it may have no address).
    e.type = EventType::handset_forgotten;
    EXPECT_EQ(event_key_fields(e), " detail=203@pbx.example.net");
}

TEST(LogEvents, InventoryEvents_LineShapes) {
    Event e;
    e.type = EventType::unknown_handset;
    e.handset = ip("192.168.20.77");
    e.user_agent.assign("Yealink SIP-T46S 66.86.0.15");
    e.detail.assign("209@pbx.example.net");
    EXPECT_EQ(format_event(e, "acme-london", NumberMask{}),
              "VG_UNKNOWN_HANDSET site=acme-london handset=192.168.20.77 ua=\"Yealink SIP-T46S 66.86.0.15\" "
              "detail=209@pbx.example.net");
    e.type = EventType::handset_mismatch;
    e.rule.assign("address:192.168.20.10");
    e.detail.assign("201@pbx.example.net");
    EXPECT_EQ(format_event(e, "acme-london", NumberMask{}),
              "VG_HANDSET_MISMATCH site=acme-london handset=192.168.20.77 rule=address:192.168.20.10 "
              "ua=\"Yealink SIP-T46S 66.86.0.15\" detail=201@pbx.example.net");
    Event f;
    f.type = EventType::handset_forgotten;
    f.rule.assign("never_seen");
    f.detail.assign("202");
    f.count = 2592001;
    EXPECT_EQ(format_event(f, "acme-london", NumberMask{}), "VG_HANDSET_FORGOTTEN site=acme-london rule=never_seen detail=202 count=2592001");
    EXPECT_EQ(event_severity(EventType::unknown_handset), Severity::warning);
    EXPECT_EQ(event_severity(EventType::handset_mismatch), Severity::warning);
    EXPECT_EQ(event_severity(EventType::handset_forgotten), Severity::notice);
}

// ---------------------------------------------------------------------------
// The daemon's own lines

TEST(LogEvents, DaemonLines_HaveTheirIdsAndFieldsInOrder) {
    EXPECT_EQ(start_line("acme-london", {"0.1.0", "enforce", "nftables", "open", "/etc/voipguard/policy.yaml"},
                         Severity::info),
              "VG_START site=acme-london version=0.1.0 mode=enforce backend=nftables on_failure=open "
              "policy=/etc/voipguard/policy.yaml level=info");
    EXPECT_EQ(backend_line("s", "iptables", "nft_queue module not available"),
              "VG_BACKEND site=s backend=iptables why=\"nft_queue module not available\"");
    EXPECT_EQ(reload_ok_line("s", "p.yaml", 2), "VG_RELOAD_OK site=s policy=p.yaml warnings=2");
    EXPECT_EQ(shutdown_line("s", "signal, rules removed"), "VG_SHUTDOWN site=s reason=\"signal, rules removed\"");
    EXPECT_EQ(log_lost_line("s", 17), "VG_LOG_LOST site=s lines=17");
}

TEST(LogEvents, ReloadFailed_ShowsTheFirstThreeErrorsMasked) {
    EXPECT_EQ(reload_failed_line("s", "p.yaml", {"e1 sip:a:pw@h", "e2", "e3", "e4"}),
              "VG_RELOAD_FAILED site=s policy=p.yaml errors=4 error1=\"e1 sip:a:***@h\" error2=e2 error3=e3 "
              "(old policy kept)");
    EXPECT_EQ(reload_failed_line("s", "p.yaml", {}), "VG_RELOAD_FAILED site=s policy=p.yaml errors=0 (old policy kept)");
}

TEST(LogEvents, Stats_LeaveOutReasonsWithoutDropsAndSanitiseTheirKeys) {
    StatsInfo s;
    s.calls = 3;
    s.dropped = 20;
    s.drops_by_reason = {{"unlisted_source", 15}, {"toll_fraud", 0}, {"odd reason=x", 5}, {"", 9}};
    s.enobufs = 1;
    EXPECT_EQ(stats_line("s", s),
              "VG_STATS site=s calls=3 pinholes=0 handsets=0 accepted=0 dropped=20 drop_unlisted_source=15 "
              "drop_odd_reason_x=5 queue_drops=0 enobufs=1 kernel_drops=0");
}

TEST(LogEvents, KernelDrop_PortsOnlyWhenKnownKeyIsTheSource) {
    const KernelDropInfo d{"203.0.113.7", 0, "192.168.20.10", 0, "icmp", "unlisted_source", {}, {}};
    EXPECT_EQ(kernel_drop_line("s", d),
              "VG_KERNEL_DROP site=s src=203.0.113.7 dst=192.168.20.10 proto=icmp reason=unlisted_source");
    EXPECT_EQ(kernel_drop_key(d), " src=203.0.113.7");
}

TEST(LogEvents, ControlRejected_UnknownPeerLeftOutDetailEscapedAndMasked) {
    EXPECT_EQ(control_rejected_line("s", "malformed", std::string("sip:a:pw@h\x00\n", 12), -1, 0),
              "VG_CONTROL_REJECTED site=s reason=malformed detail=sip:a:***@h\\x00\\x0a");
    EXPECT_EQ(control_rejected_line("s", "oversized", "", 0, 42), "VG_CONTROL_REJECTED site=s reason=oversized uid=0 pid=42");
    EXPECT_EQ(control_rejected_key("oversized"), " reason=oversized");
}

// ---------------------------------------------------------------------------
// EVENTS.md

std::string read_events_md() {
    std::ifstream in(std::string(VG_SOURCE_DIR) + "/daemon/EVENTS.md");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(LogEventsDocs, EveryEngineEventType_IsInEventsMdWithItsSeverity) {
    const std::string doc = read_events_md();
    ASSERT_FALSE(doc.empty());
    for (std::size_t i = 0; i < engine::kEventTypeCount; ++i) {
        const auto t = static_cast<EventType>(i);
        const std::string id(engine::event_id(t));
        const std::string row = "| `" + id + "` | " + std::string(severity_name(event_severity(t))) + " |";
        EXPECT_NE(doc.find(row), std::string::npos) << "EVENTS.md has no row starting " << row;
        EXPECT_NE(doc.find("\n" + id + " site="), std::string::npos) << "EVENTS.md has no example of " << id;
    }
}

TEST(LogEventsDocs, EveryDaemonLine_IsInEventsMdWithItsSeverityAndAggregation) {
    const std::string doc = read_events_md();
    ASSERT_FALSE(doc.empty());
    for (const LineKind& k : kDaemonLines) {
        const std::string id(k.id);
        const std::string row = "| `" + id + "` | " + std::string(severity_name(k.severity)) + " | " +
                                (k.aggregated ? "per " : "no |");
        EXPECT_NE(doc.find(row), std::string::npos) << "EVENTS.md has no row starting " << row;
        EXPECT_NE(doc.find("\n" + id + " site="), std::string::npos) << "EVENTS.md has no example of " << id;
    }
}

// Every line ID a source file writes has its row, the catalogue's or not
// (the daemon's start and failure lines are written where they happen): an
// engineer's alert rules start from EVENTS.md.
TEST(LogEventsDocs, EveryIdTheSourcesWrite_HasARowInEventsMd) {
    const std::string doc = read_events_md();
    ASSERT_FALSE(doc.empty());
    // Not line IDs: what an unknown event type is called, and the
    // placeholder of a comment in log_structured.h.
    const std::set<std::string> not_ids{"VG_UNKNOWN", "VG_ID"};
    const std::regex id_re("\"(VG_[A-Z0-9_]+)");
    std::set<std::string> ids;
    for (const char* dir : {"daemon", "filters", "config"}) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(VG_SOURCE_DIR) + "/" + dir)) {
            const std::string ext = e.path().extension().string();
            if (!e.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
            std::ifstream in(e.path());
            std::stringstream ss;
            ss << in.rdbuf();
            const std::string text = ss.str();
            for (std::sregex_iterator m(text.begin(), text.end(), id_re), end; m != end; ++m) {
                const std::string id = (*m)[1].str();
                if (!not_ids.count(id)) ids.insert(id);
            }
        }
    }
    EXPECT_GT(ids.size(), 60u) << "the scan found the sources";
    for (const std::string& id : ids)
        EXPECT_NE(doc.find("| `" + id + "` |"), std::string::npos) << "EVENTS.md has no row for " << id;
}

}  // namespace
}  // namespace vg::daemon
