// SPDX-License-Identifier: GPL-2.0-or-later
// The engine's saved state (filters/engine/state_file.h): what one engine
// saves another restores (handsets, hourly budgets, day counters), across a
// reboot (another monotonic clock), and every damaged or foreign file is
// rejected whole without touching the engine.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "filters/engine/engine.h"
#include "filters/engine/site_history.h"
#include "filters/engine/state_file.h"
#include "filters/net/packet.h"
#include "tests/support/engine_policy.h"
#include "tests/support/sip_packets.h"

namespace vg::engine {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using namespace test::sip_packets;

constexpr const char* kHandset = "192.168.20.10";
constexpr const char* kPbx = "203.0.113.10";
constexpr std::string_view kSite = "test-site";
constexpr UnixSeconds kWall = 1700000000;   // Tuesday 2023-11-14 22:13:20 UTC

// Three calls an hour per handset, and at most 4 national calls a day per handset.
std::string policy() {
    std::string s = test::site_policy("enforce", "", "      calls_per_hour: 3\n");
    s.replace(s.find("toll_fraud:\n") + 12, 0,
              "  profiles:\n    - name: national\n      prefixes: [\"+44\"]\n"
              "      per_handset:\n        calls_per_day: {critical: 4}\n");
    return s;
}

// One engine on one boot: its own monotonic clock, the shared wall clock.
struct Boot {
    std::shared_ptr<const CompiledPolicy> rules;
    std::unique_ptr<Engine> engine;
    test::EventRecorder rec;
    Timestamp mono;
    UnixSeconds wall;
    std::vector<Bytes> packets;

    Boot(std::shared_ptr<const CompiledPolicy> r, Timestamp m, UnixSeconds w)
        : rules(std::move(r)), engine(std::make_unique<Engine>(rules)), mono(m), wall(w) {}
    Now now() const { return {mono, wall}; }
    void advance(Duration d) {
        mono += d;
        wall += std::chrono::duration_cast<std::chrono::seconds>(d).count();
        engine->tick(now(), rec);
    }
    Decision feed(const Bytes& b) {
        packets.push_back(b);
        const net::DecodedPacket p = net::decode_ip(packets.back().data(), packets.back().size());
        return engine->process(p, now(), rec);
    }
    void register_handset() {
        feed(v4udp(kHandset, 5060, kPbx, 5060,
                   request("REGISTER", "sip:pbx.example.net", "reg1", "f1", "", 1, "", "Yealink SIP-T46S 66.86.0.15")));
        feed(v4udp(kPbx, 5060, kHandset, 5060,
                   response(200, "OK", "REGISTER", 1, "reg1", "t1", "", "Expires: 3600\r\n")));
    }
    // A national call placed and cancelled at once.
    Decision call(const std::string& id) {
        const Decision d = feed(v4udp(kHandset, 5060, kPbx, 5060,
                                      request("INVITE", "sip:02079460000@pbx.example.net", id, "f1", "", 1)));
        if (d.verdict == Verdict::accept)
            feed(v4udp(kHandset, 5060, kPbx, 5060,
                       request("CANCEL", "sip:02079460000@pbx.example.net", id, "f1", "", 1)));
        return d;
    }
    std::vector<std::uint8_t> save() const { return save_state(*engine, kSite, now()); }
    StateLoad load(const std::vector<std::uint8_t>& b) { return load_state(*engine, b.data(), b.size(), kSite, now()); }
};

class StateFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        rules_ = test::compile_policy(policy());
        ASSERT_NE(rules_, nullptr);
    }
    // The first boot: a registered handset that placed `calls` calls, 2 h ago
    // and then nothing; saved now.
    // `idle`: from the last call to the save (1800 s unless said).
    std::vector<std::uint8_t> first_boot(int calls, Duration idle = 1800s) {
        Boot b(rules_, Timestamp{} + 86400s, kWall - 7200 + 1800 - std::chrono::duration_cast<std::chrono::seconds>(idle).count());
        b.register_handset();
        for (int i = 0; i < calls; ++i) EXPECT_EQ(b.call("c" + std::to_string(i)).verdict, Verdict::accept);
        b.advance(idle);
        b.engine->for_each_handset([&](const Handset& h) { saved_aor_ = std::string(h.aor.view()); });
        return b.save();
    }
    // The second boot: a fresh monotonic clock, the wall clock where the save left it (+ `later`).
    std::unique_ptr<Boot> reboot(Duration later = 60s) {
        return std::make_unique<Boot>(rules_, Timestamp{} + 5s,
                                      kWall - 7200 + 1800 + std::chrono::duration_cast<std::chrono::seconds>(later).count());
    }
    static void reseal(std::vector<std::uint8_t>& b) {
        const std::uint32_t c = crc32(b.data(), b.size() - 4);
        for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = static_cast<std::uint8_t>(c >> (8 * i));
    }
    static std::size_t payload_at() { return 8 + 2 + 2 + 1 + kSite.size() + 8 + 4; }

    std::shared_ptr<const CompiledPolicy> rules_;
    std::string saved_aor_;
};

TEST_F(StateFileTest, HandsetsComeBackWithTheirWallClockTimes) {
    const auto bytes = first_boot(1);
    ASSERT_FALSE(bytes.empty());
    auto b = reboot(3600s);
    const StateLoad l = b->load(bytes);
    ASSERT_TRUE(l.ok()) << to_string(l.error) << " " << l.detail;
    EXPECT_EQ(l.handsets, 1u);
    ASSERT_EQ(b->engine->handset_count(), 1u);
    b->engine->for_each_handset([&](const Handset& h) {
        EXPECT_EQ(h.address.to_string(), kHandset);
        EXPECT_FALSE(saved_aor_.empty());
        EXPECT_EQ(h.aor.view(), saved_aor_);
        EXPECT_EQ(h.user_agent.view(), "Yealink SIP-T46S 66.86.0.15");
        // Last seen 30 min before the save, which was an hour ago: 90 min.
        EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(b->mono - h.last_seen).count(), 5400);
        EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(b->mono - h.last_register).count(), 5400);
        // Registered for an hour from then: 30 min left at the save, expired now.
        EXPECT_LT(h.registered_until, b->mono);
        EXPECT_GT(h.registered_until, b->mono - 3600s);
        EXPECT_FALSE(h.stale);
    });
    // Stale after 1 h without a REGISTER: the next tick says so, as it would have.
    b->advance(1s);
    EXPECT_EQ(b->rec.count(EventType::handset_stale), 1u);
}

TEST_F(StateFileTest, AnHourlyLimitIsNotResetByARestart) {
    // Two of three calls used; restarted a minute later (a third of a call earned back).
    const auto bytes = first_boot(2, 0s);
    auto b = reboot();
    ASSERT_TRUE(b->load(bytes).ok());
    EXPECT_EQ(b->call("d1").verdict, Verdict::accept);
    const Decision d = b->call("d2");
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.reason, Reason::call_limit);
    // Without the state, the limit would have started afresh.
    auto fresh = reboot();
    EXPECT_EQ(fresh->call("d1").verdict, Verdict::accept);
    EXPECT_EQ(fresh->call("d2").verdict, Verdict::accept);
}

TEST_F(StateFileTest, DayCountersLastTheDayOnly) {
    // 4 a day: 2 before the restart, 2 after (the hourly budget refilled), then blocked.
    const auto bytes = first_boot(2);
    auto b = reboot(3600s);
    const StateLoad l = b->load(bytes);
    ASSERT_TRUE(l.ok());
    EXPECT_GE(l.day_counters, 1u);
    EXPECT_EQ(b->call("d1").verdict, Verdict::accept);
    EXPECT_EQ(b->call("d2").verdict, Verdict::accept);
    EXPECT_EQ(b->call("d3").reason, Reason::fraud_threshold);
    // Without the state the day would have room for 4.
    auto fresh = reboot(3600s);
    for (const char* id : {"e1", "e2", "e3"}) EXPECT_EQ(fresh->call(id).verdict, Verdict::accept);
    // Restored on the next local day (UTC here): the day counters are dropped.
    auto next = reboot(24h);
    const StateLoad n = next->load(bytes);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(n.day_counters, 0u);
    EXPECT_GE(n.day_dropped, 1u);
    EXPECT_EQ(n.handsets, 1u);
}

TEST_F(StateFileTest, ASavedStateSavesAgainTheSame) {
    const auto bytes = first_boot(2);
    auto b = reboot(0s);
    ASSERT_TRUE(b->load(bytes).ok());
    EXPECT_EQ(b->save(), bytes);
}

TEST_F(StateFileTest, EveryFlippedByteIsRejectedAndChangesNothing) {
    const auto bytes = first_boot(2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
            auto bad = bytes;
            bad[i] ^= mask;
            auto b = reboot();
            const StateLoad l = b->load(bad);
            EXPECT_FALSE(l.ok()) << "byte " << i;
            EXPECT_EQ(b->engine->handset_count(), 0u);
            EXPECT_EQ(b->call("x1").verdict, Verdict::accept);
            EXPECT_EQ(b->call("x2").verdict, Verdict::accept);
            EXPECT_EQ(b->call("x3").verdict, Verdict::accept);
        }
    }
}

TEST_F(StateFileTest, EveryTruncationIsRejected) {
    const auto bytes = first_boot(2);
    auto b = reboot();
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const StateLoad l = load_state(*b->engine, bytes.data(), n, kSite, b->now());
        EXPECT_FALSE(l.ok()) << "length " << n;
        EXPECT_EQ(b->engine->handset_count(), 0u);
    }
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(b->load(longer).ok());
}

TEST_F(StateFileTest, ForeignFilesAreNamed) {
    const auto bytes = first_boot(1);
    auto b = reboot();
    auto magic = bytes;
    magic[0] = 'X';
    EXPECT_EQ(b->load(magic).error, StateError::magic);
    auto version = bytes;
    version[8] = kStateVersion + 1;
    reseal(version);
    EXPECT_EQ(b->load(version).error, StateError::version);
    EXPECT_EQ(load_state(*b->engine, bytes.data(), bytes.size(), "other-site", b->now()).error, StateError::site);
    auto flipped = bytes;
    flipped[payload_at() + 6] ^= 1;
    EXPECT_EQ(b->load(flipped).error, StateError::checksum);
    // Saved an hour after now (the clock went back, or a file from elsewhere).
    auto past = std::make_unique<Boot>(rules_, Timestamp{} + 5s, kWall - 7200 + 1800 - 3600);
    EXPECT_EQ(past->load(bytes).error, StateError::future);
    std::vector<std::uint8_t> huge(kStateMaxBytes + 1, 0);
    EXPECT_EQ(b->load(huge).error, StateError::oversized);
    EXPECT_EQ(b->engine->handset_count(), 0u);
}

TEST_F(StateFileTest, CountsAndFieldsOutOfRangeAreRejectedEvenWithAGoodChecksum) {
    const auto bytes = first_boot(2);
    auto b = reboot();
    const std::size_t at = payload_at();
    // A huge handset count.
    auto count = bytes;
    for (int i = 0; i < 4; ++i) count[at + i] = 0xff;
    reseal(count);
    EXPECT_EQ(b->load(count).error, StateError::range);
    // An address family that does not exist.
    auto family = bytes;
    family[at + 4] = 5;
    reseal(family);
    EXPECT_EQ(b->load(family).error, StateError::range);
    // An AOR longer than a handset's.
    auto aor = bytes;
    aor[at + 4 + 1 + 4] = 200;
    reseal(aor);
    EXPECT_FALSE(b->load(aor).ok());
    // A last-seen time after the save.
    auto seen = bytes;
    const std::size_t strings = 3 + bytes[at + 9] + bytes[at + 10 + bytes[at + 9]] +
                                bytes[at + 11 + bytes[at + 9] + bytes[at + 10 + bytes[at + 9]]];
    const std::size_t last_seen = at + 4 + 1 + 4 + strings + 8;
    seen[last_seen + 6] = 0x7f;
    reseal(seen);
    EXPECT_EQ(b->load(seen).error, StateError::range);
    EXPECT_EQ(b->engine->handset_count(), 0u);
}

// The report's hourly history (site_history.h) is saved with the state and
// comes back with it: a restart does not forget what `voipguard report` says.
TEST_F(StateFileTest, TheReportHistoryComesBackWithTheState) {
    const UnixSeconds saved = kWall - 7200 + 1800;
    Boot a(rules_, Timestamp{} + 86400s, saved);
    a.register_handset();
    SiteHistory h;
    Event scan;
    scan.type = EventType::scanner;
    scan.source = *net::IpAddress::parse("198.51.100.7");
    for (int i = 0; i < 3; ++i) h.note(scan, saved - 7200);   // two hours before the save
    Event fraud;
    fraud.type = EventType::toll_fraud;
    fraud.rule.assign("deny_prefix:+882");
    h.note(fraud, saved - 60);
    Event weak;
    weak.type = EventType::weak_credential;
    weak.handset = *net::IpAddress::parse(kHandset);
    weak.rule.assign("extension_number");
    h.note(weak, saved - 30);
    h.note_reload(false, saved - 10);
    KernelDropTotals k;
    k.inbound = 500;
    h.note_kernel(k, saved - 5);
    const auto bytes = save_state(*a.engine, kSite, a.now(), &h);
    ASSERT_FALSE(bytes.empty());

    auto b = reboot(600s);
    SiteHistory back;
    back.note_reload(true, b->wall);   // replaced by what the file has
    const StateLoad l = load_state(*b->engine, bytes.data(), bytes.size(), kSite, b->now(), &back);
    ASSERT_TRUE(l.ok()) << to_string(l.error) << " " << l.detail;
    EXPECT_EQ(l.history_hours, h.hours_kept());
    EXPECT_EQ(l.handsets, 1u);
    const HistorySummary want = h.summarize(b->wall, 86400);
    const HistorySummary got = back.summarize(b->wall, 86400);
    EXPECT_EQ(got.event(EventType::scanner), 3u);
    EXPECT_EQ(got.events, want.events);
    EXPECT_EQ(got.reloads_ok, 0u);
    EXPECT_EQ(got.reloads_failed, 1u);
    EXPECT_EQ(got.drops.inbound, 500u);
    ASSERT_EQ(got.scanners.size(), 1u);
    EXPECT_EQ(got.scanners[0].first.to_string(), "198.51.100.7");
    EXPECT_EQ(got.scanners[0].second, 3u);
    EXPECT_EQ(got.blocked_reason, want.blocked_reason);
    ASSERT_EQ(got.findings.size(), 1u);
    EXPECT_EQ(got.findings[0].handset.to_string(), kHandset);
    EXPECT_EQ(got.findings[0].detail.view(), "extension_number");
    EXPECT_EQ(got.findings[0].wall, saved - 30);
    // Saved again: as many bytes (the same hours, findings and tables).
    b->wall = saved;
    EXPECT_EQ(save_state(*b->engine, kSite, Now{b->mono, saved}, &back).size(), bytes.size());
}

// A file of the format before the history (version 1) still loads: its
// handsets and counters come back, the history starts empty.
TEST_F(StateFileTest, AVersionOneFileLoadsWithoutHistory) {
    const auto v2 = first_boot(1);
    // Version 2 with no history ends its payload with 00 00 (no hours) and 00
    // (no findings): without them, and with version 1, it is a version 1 file.
    ASSERT_GE(v2.size(), 7u);
    const std::size_t end = v2.size() - 4;
    ASSERT_EQ(v2[end - 1], 0);
    ASSERT_EQ(v2[end - 2], 0);
    ASSERT_EQ(v2[end - 3], 0);
    std::vector<std::uint8_t> v1(v2.begin(), v2.begin() + static_cast<std::ptrdiff_t>(end - 3));
    v1.insert(v1.end(), 4, 0);
    v1[8] = 1;
    v1[9] = 0;
    const std::size_t len_at = payload_at() - 4;
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= std::uint32_t{v1[len_at + i]} << (8 * i);
    len -= 3;
    for (int i = 0; i < 4; ++i) v1[len_at + i] = static_cast<std::uint8_t>(len >> (8 * i));
    reseal(v1);
    auto b = reboot();
    SiteHistory h;
    h.note_reload(true, b->wall);
    const StateLoad l = load_state(*b->engine, v1.data(), v1.size(), kSite, b->now(), &h);
    ASSERT_TRUE(l.ok()) << to_string(l.error) << " " << l.detail;
    EXPECT_EQ(l.handsets, 1u);
    EXPECT_EQ(l.history_hours, 0u);
    EXPECT_EQ(h.hours_kept(), 0u);
    // The same bytes as version 2 are short of the history: refused.
    auto short2 = v1;
    short2[8] = 2;
    reseal(short2);
    EXPECT_FALSE(b->load(short2).ok());
}

// A history bucket dated after the save, or a finding of a type that is no
// handset finding, is refused whole even with a good checksum.
TEST_F(StateFileTest, AHistoryOutOfRangeIsRefusedWhole) {
    const UnixSeconds saved = kWall - 7200 + 1800;
    Boot a(rules_, Timestamp{} + 86400s, saved);
    a.register_handset();
    SiteHistory h;
    h.note_reload(true, saved - 10);
    auto bytes = save_state(*a.engine, kSite, a.now(), &h);
    // The payload ends: u16 1 (one hour), i64 hour, ... u8 0 (no findings).
    // Find the hour: the 8 bytes after the u16 count, which is the first of
    // the history section; search for the hour value.
    const std::int64_t hour = SiteHistory::hour_of(saved - 10);
    std::size_t at = 0;
    for (std::size_t i = payload_at(); i + 8 <= bytes.size(); ++i) {
        std::int64_t v = 0;
        for (int k = 0; k < 8; ++k) v |= std::int64_t{bytes[i + k]} << (8 * k);
        if (v == hour && bytes[i - 2] == 1 && bytes[i - 1] == 0) at = i;
    }
    ASSERT_NE(at, 0u);
    auto future = bytes;
    future[at] = static_cast<std::uint8_t>(hour + 1);
    reseal(future);
    auto b = reboot();
    SiteHistory back;
    EXPECT_EQ(load_state(*b->engine, future.data(), future.size(), kSite, b->now(), &back).error, StateError::range);
    EXPECT_EQ(b->engine->handset_count(), 0u);
    EXPECT_EQ(back.hours_kept(), 0u);
    auto types = bytes;
    types[at + 8] = static_cast<std::uint8_t>(kEventTypeCount + 1);
    reseal(types);
    EXPECT_EQ(load_state(*b->engine, types.data(), types.size(), kSite, b->now(), &back).error, StateError::range);
    ASSERT_TRUE(load_state(*b->engine, bytes.data(), bytes.size(), kSite, b->now(), &back).ok());
    EXPECT_EQ(back.hours_kept(), 1u);
}

}  // namespace
}  // namespace vg::engine
