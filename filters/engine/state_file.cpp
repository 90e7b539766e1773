// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/state_file.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <memory>

#include "filters/engine/engine.h"
#include "filters/engine/site_history.h"

namespace vg::engine {

namespace {

constexpr char kMagic[8] = {'V', 'G', 'S', 'T', 'A', 'T', 'E', '\n'};
constexpr std::size_t kMaxSite = 64;
constexpr std::uint32_t kMaxHandsets = 1u << 20;
constexpr std::uint32_t kMaxKeys = 1u << 22;
constexpr std::uint32_t kMaxSiteProfiles = 64;
constexpr std::int64_t kMsPerSecond = 1000;
// registered_until may lie after the save by at most a REGISTER's Expires.
constexpr std::int64_t kMaxExpiresMs = std::int64_t{0xffffffff} * kMsPerSecond;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

class Writer {
public:
    void u8(std::uint8_t v) { out.push_back(v); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
    void bytes(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        out.insert(out.end(), b, b + n);
    }
    void str(std::string_view s) {
        u8(static_cast<std::uint8_t>(s.size()));
        bytes(s.data(), s.size());
    }
    void patch_u32(std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    std::vector<std::uint8_t> out;

private:
    void put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
};

class Reader {
public:
    Reader(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
    bool ok() const noexcept { return ok_; }
    std::size_t left() const noexcept { return n_ - pos_; }
    std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() { return get(8); }
    std::int64_t i64() { return static_cast<std::int64_t>(get(8)); }
    std::string_view str(std::size_t max) {
        const std::size_t len = u8();
        if (!ok_ || len > max || len > left()) {
            ok_ = false;
            return {};
        }
        std::string_view s(reinterpret_cast<const char*>(p_ + pos_), len);
        pos_ += len;
        return s;
    }
    const std::uint8_t* take(std::size_t len) {
        if (!ok_ || len > left()) {
            ok_ = false;
            return nullptr;
        }
        const std::uint8_t* r = p_ + pos_;
        pos_ += len;
        return r;
    }
    void fail() noexcept { ok_ = false; }

private:
    std::uint64_t get(int n) {
        if (!ok_ || left() < static_cast<std::size_t>(n)) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) v |= std::uint64_t{p_[pos_ + i]} << (8 * i);
        pos_ += n;
        return v;
    }
    const std::uint8_t* p_;
    std::size_t n_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// Monotonic <-> wall-clock milliseconds, through one reading of both clocks.
std::int64_t to_wall_ms(Timestamp t, const Now& now) noexcept {
    if (t == Timestamp{}) return 0;
    const std::int64_t ms =
        now.wall * kMsPerSecond + std::chrono::duration_cast<std::chrono::milliseconds>(t - now.mono).count();
    return std::max<std::int64_t>(1, ms);
}

Timestamp from_wall_ms(std::int64_t ms, const Now& now) noexcept {
    if (ms == 0) return Timestamp{};
    const Timestamp t = now.mono + std::chrono::milliseconds(ms - now.wall * kMsPerSecond);
    return t == Timestamp{} ? t + Duration(1) : t;
}

struct HandsetRecord {
    Handset h;
    std::int64_t times[4] = {};   // first_seen, last_seen, last_register, registered_until (wall ms)
};
struct LimitRecord {
    std::uint64_t key = 0;
    std::uint64_t credit = 0;
    std::int64_t last = 0;
};
struct DayRecord {
    std::uint64_t key = 0;
    std::int64_t day = 0;
    std::uint32_t calls = 0;
    std::uint32_t seconds = 0;
};

}  // namespace

std::string_view to_string(StateError e) noexcept {
    switch (e) {
        case StateError::none: return "none";
        case StateError::truncated: return "truncated";
        case StateError::oversized: return "oversized";
        case StateError::magic: return "magic";
        case StateError::version: return "version";
        case StateError::site: return "site";
        case StateError::checksum: return "checksum";
        case StateError::future: return "future";
        case StateError::range: return "range";
    }
    return "unknown";
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) noexcept {
    std::uint32_t c = 0xffffffffu;
    for (std::size_t i = 0; i < size; ++i) c = kCrcTable[(c ^ data[i]) & 0xffu] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

struct StateCodec {
    // Version 2's section: the report's hourly ring (site_history.h), the
    // hours of the week before the save, and the handset findings, oldest first.
    static void save_history(Writer& w, const SiteHistory* h, const Now& now) {
        const std::int64_t saved_hour = SiteHistory::hour_of(now.wall);
        auto kept = [&](const HourBucket& b) {
            return h != nullptr && b.hour >= 0 && b.hour <= saved_hour &&
                   b.hour > saved_hour - static_cast<std::int64_t>(SiteHistory::kHours);
        };
        std::uint16_t n = 0;
        if (h != nullptr)
            for (const HourBucket& b : h->ring_) n += kept(b) ? 1 : 0;
        w.u16(n);
        if (h != nullptr) {
            for (const HourBucket& b : h->ring_) {
                if (!kept(b)) continue;
                w.i64(b.hour);
                w.u8(static_cast<std::uint8_t>(kEventTypeCount));
                for (std::uint32_t c : b.events) w.u32(c);
                for (std::uint32_t c : b.blocked) w.u32(c);
                w.u32(b.reloads_ok);
                w.u32(b.reloads_failed);
                for (std::uint64_t d : {b.drops.inbound, b.drops.egress, b.drops.forged, b.drops.foreign, b.drops.queue})
                    w.u64(d);
                for (const auto* t : {&b.blocked_reason, &b.blocked_group}) {
                    w.u8(t->size);
                    for (std::size_t i = 0; i < t->size; ++i) {
                        w.str(t->keys[i].view());
                        w.u32(t->counts[i]);
                    }
                }
                w.u8(b.scanners.size);
                for (std::size_t i = 0; i < b.scanners.size; ++i) {
                    w.u8(static_cast<std::uint8_t>(b.scanners.keys[i].family()));
                    w.bytes(b.scanners.keys[i].bytes(), b.scanners.keys[i].byte_length());
                    w.u32(b.scanners.counts[i]);
                }
            }
        }
        const std::size_t nf = h != nullptr ? h->findings_count_ : 0;
        w.u8(static_cast<std::uint8_t>(nf));
        for (std::size_t k = nf; k-- > 0;) {
            const HandsetFinding& f = h->findings_[(h->findings_next_ + SiteHistory::kFindings - 1 - k) % SiteHistory::kFindings];
            w.i64(f.wall);
            w.u8(static_cast<std::uint8_t>(f.type));
            w.u8(static_cast<std::uint8_t>(f.handset.family()));
            w.bytes(f.handset.bytes(), f.handset.byte_length());
            w.str(f.detail.view());
        }
    }

    static bool failed(std::string& what, const char* why) {
        what = why;
        return false;
    }

    // An address as the handsets' are saved: the family (net::Family: 0, 4
    // or 6) and its bytes.
    static bool read_address(Reader& r, net::IpAddress& out, bool allow_none) {
        const std::uint8_t fam = r.u8();
        if (fam == 0 && allow_none) {
            out = net::IpAddress();
            return r.ok();
        }
        if (fam == 4) {
            if (const std::uint8_t* b = r.take(4)) out = net::IpAddress::v4(b);
            return r.ok();
        }
        if (fam == 6) {
            if (const std::uint8_t* b = r.take(16)) out = net::IpAddress::v6(b);
            return r.ok();
        }
        return false;
    }

    // Decodes the section into `out`; false with `what` on a field out of range.
    static bool load_history(Reader& r, SiteHistory& out, std::int64_t saved_ms, std::string& what) {
        const std::int64_t saved_hour = SiteHistory::hour_of(saved_ms / kMsPerSecond);
        const std::uint16_t n = r.u16();
        if (r.ok() && n > SiteHistory::kHours) return failed(what, "history_count");
        for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
            HourBucket b;
            b.hour = r.i64();
            if (r.ok() && (b.hour < 0 || b.hour > saved_hour ||
                           b.hour <= saved_hour - static_cast<std::int64_t>(SiteHistory::kHours)))
                return failed(what, "history_hour");
            HourBucket& slot = out.ring_[static_cast<std::size_t>(b.hour % static_cast<std::int64_t>(SiteHistory::kHours))];
            if (r.ok() && slot.hour >= 0) return failed(what, "history_hour");   // twice the same hour
            const std::uint8_t types = r.u8();
            if (r.ok() && types > kEventTypeCount) return failed(what, "history_types");
            for (std::size_t t = 0; t < types; ++t) b.events[t] = r.u32();
            for (std::uint32_t& c : b.blocked) c = r.u32();
            b.reloads_ok = r.u32();
            b.reloads_failed = r.u32();
            b.drops.inbound = r.u64();
            b.drops.egress = r.u64();
            b.drops.forged = r.u64();
            b.drops.foreign = r.u64();
            b.drops.queue = r.u64();
            for (auto* t : {&b.blocked_reason, &b.blocked_group}) {
                const std::uint8_t m = r.u8();
                if (r.ok() && m > HourBucket::kTop) return failed(what, "history_top");
                t->size = m;
                for (std::size_t k = 0; k < m; ++k) {
                    t->keys[k].assign(r.str(ReportLabel::kCapacity));
                    t->counts[k] = r.u32();
                }
            }
            const std::uint8_t m = r.u8();
            if (r.ok() && m > HourBucket::kTop) return failed(what, "history_top");
            b.scanners.size = m;
            for (std::size_t k = 0; k < m && r.ok(); ++k) {
                if (!read_address(r, b.scanners.keys[k], false)) return failed(what, "history_scanner");
                b.scanners.counts[k] = r.u32();
            }
            if (r.ok()) slot = b;
        }
        const std::uint8_t nf = r.u8();
        if (r.ok() && nf > SiteHistory::kFindings) return failed(what, "finding_count");
        for (std::uint8_t i = 0; i < nf && r.ok(); ++i) {
            HandsetFinding f;
            f.wall = r.i64();
            const std::uint8_t type = r.u8();
            if (r.ok() && (f.wall < 0 || f.wall > saved_ms / kMsPerSecond || type >= kEventTypeCount ||
                           !is_handset_finding(static_cast<EventType>(type))))
                return failed(what, "finding");
            f.type = static_cast<EventType>(type);
            if (r.ok() && !read_address(r, f.handset, true)) return failed(what, "finding_address");
            f.detail.assign(r.str(64));
            out.findings_[out.findings_next_] = f;
            out.findings_next_ = (out.findings_next_ + 1) % SiteHistory::kFindings;
            out.findings_count_ = std::min(out.findings_count_ + 1, SiteHistory::kFindings);
        }
        return true;
    }

    static std::vector<std::uint8_t> save(const Engine& e, std::string_view site, const Now& now,
                                          const SiteHistory* history) {
        Writer w;
        w.bytes(kMagic, sizeof kMagic);
        w.u16(kStateVersion);
        w.u16(0);
        w.str(site.substr(0, kMaxSite));
        w.i64(now.wall * kMsPerSecond);
        const std::size_t len_at = w.out.size();
        w.u32(0);
        const std::size_t payload = w.out.size();

        // Handsets, most recently seen first.
        std::uint32_t n = 0;
        e.handsets_.table_.for_each([&](const net::IpAddress&, const Handset&) { ++n; });
        w.u32(n);
        e.handsets_.table_.for_each([&](const net::IpAddress& a, const Handset& h) {
            w.u8(static_cast<std::uint8_t>(a.family()));
            w.bytes(a.bytes(), a.byte_length());
            w.str(h.aor.view());
            w.str(h.user_agent.view());
            w.str(h.register_user_agent.view());
            w.i64(to_wall_ms(h.first_seen, now));
            w.i64(to_wall_ms(h.last_seen, now));
            w.i64(to_wall_ms(h.last_register, now));
            w.i64(to_wall_ms(h.registered_until, now));
            w.u8(static_cast<std::uint8_t>((h.firmware_outdated ? 1 : 0) | (h.stale ? 2 : 0)));
            w.u8(static_cast<std::uint8_t>(h.audit.weak));
        });

        // Hourly budgets: the site's, then every key's (most recent first).
        const TollGuard& tg = e.toll_;
        w.u8(tg.site_hourly_init_ ? 1 : 0);
        w.u64(tg.site_hourly_init_ ? tg.site_hourly_.credit : 0);
        w.i64(tg.site_hourly_init_ ? to_wall_ms(tg.site_hourly_.last, now) : 0);
        n = 0;
        tg.limits_.for_each([&](const std::uint64_t&, const TollGuard::Counters& c) { n += c.hourly_init ? 1 : 0; });
        w.u32(n);
        tg.limits_.for_each([&](const std::uint64_t& k, const TollGuard::Counters& c) {
            if (!c.hourly_init) return;
            w.u64(k);
            w.u64(c.hourly.credit);
            w.i64(to_wall_ms(c.hourly.last, now));
        });

        // Day counters of the destination profiles: the site's, then the
        // (key, profile) entries'.
        const FraudProfiles& fp = tg.profiles_;
        auto worth = [](const FraudProfiles::Counters& c) {
            return c.day != INT64_MIN && (c.calls_today > 0 || c.seconds_today > 0);
        };
        auto day = [&](std::uint64_t k, const FraudProfiles::Counters& c) {
            w.u64(k);
            w.i64(c.day);
            w.u32(c.calls_today);
            w.u32(c.seconds_today);
        };
        n = 0;
        for (const auto& s : fp.site_) n += worth(s.c) ? 1 : 0;
        w.u32(n);
        for (const auto& s : fp.site_)
            if (worth(s.c)) day(s.id, s.c);
        n = 0;
        fp.table_.for_each([&](const std::uint64_t&, const FraudProfiles::Counters& c) { n += worth(c) ? 1 : 0; });
        w.u32(n);
        fp.table_.for_each([&](const std::uint64_t& k, const FraudProfiles::Counters& c) {
            if (worth(c)) day(k, c);
        });
        save_history(w, history, now);

        w.patch_u32(len_at, static_cast<std::uint32_t>(w.out.size() - payload));
        w.u32(crc32(w.out.data(), w.out.size()));
        if (w.out.size() > kStateMaxBytes) return {};
        return std::move(w.out);
    }

    static StateLoad load(Engine& e, const std::uint8_t* data, std::size_t size, std::string_view site,
                          const Now& now, SiteHistory* history) {
        StateLoad res;
        auto fail = [&](StateError err, std::string_view detail = {}) {
            res = StateLoad{};
            res.error = err;
            res.detail.assign(detail);
            return res;
        };
        if (size > kStateMaxBytes) return fail(StateError::oversized);
        if (size >= sizeof kMagic && std::memcmp(data, kMagic, sizeof kMagic) != 0) return fail(StateError::magic);
        Reader head(data, size);
        head.take(sizeof kMagic);
        const std::uint16_t version = head.u16();
        if (!head.ok()) return fail(StateError::truncated, "header");
        // Version 1 (before the report's history) is read as well.
        if (version != kStateVersion && version != 1) return fail(StateError::version, std::to_string(version));
        head.u16();
        const std::string_view saved_site = head.str(kMaxSite);
        const std::int64_t saved_ms = head.i64();
        const std::uint32_t payload_len = head.u32();
        if (!head.ok()) return fail(StateError::truncated, "header");
        if (payload_len != head.left() - std::min<std::size_t>(4, head.left()) || head.left() < 4)
            return fail(StateError::truncated, "length");
        const std::size_t body = size - 4;
        const std::uint32_t want = static_cast<std::uint32_t>(data[body]) | static_cast<std::uint32_t>(data[body + 1]) << 8 |
                                   static_cast<std::uint32_t>(data[body + 2]) << 16 |
                                   static_cast<std::uint32_t>(data[body + 3]) << 24;
        if (crc32(data, body) != want) return fail(StateError::checksum);
        if (saved_site != site.substr(0, kMaxSite)) return fail(StateError::site, saved_site);
        if (saved_ms <= 0 || saved_ms > (now.wall + kStateFutureSlackSeconds) * kMsPerSecond)
            return fail(StateError::future, "saved_at");
        res.saved_at = saved_ms / kMsPerSecond;

        Reader r(data + (size - 4 - payload_len), payload_len);
        std::string detail;
        auto bad = [&](std::string_view what) {
            if (detail.empty()) detail.assign(what);
            r.fail();
        };
        auto time_ok = [&](std::int64_t ms, std::int64_t after) { return ms == 0 || (ms > 0 && ms <= saved_ms + after); };
        // A count must fit in what is left (each entry takes at least `min` bytes).
        auto count = [&](std::uint32_t max, std::size_t min, std::string_view what) {
            const std::uint32_t c = r.u32();
            if (r.ok() && (c > max || static_cast<std::uint64_t>(c) * min > r.left())) bad(what);
            return r.ok() ? c : 0;
        };

        std::vector<HandsetRecord> handsets;
        const std::uint32_t nh = count(kMaxHandsets, 1 + 4 + 3 + 32 + 2, "handset_count");
        handsets.reserve(nh);
        for (std::uint32_t i = 0; i < nh && r.ok(); ++i) {
            HandsetRecord rec;
            const std::uint8_t fam = r.u8();
            if (fam == 4) {
                if (const std::uint8_t* b = r.take(4)) rec.h.address = net::IpAddress::v4(b);
            } else if (fam == 6) {
                if (const std::uint8_t* b = r.take(16)) rec.h.address = net::IpAddress::v6(b);
            } else {
                bad("handset_family");
            }
            const std::string_view aor = r.str(48), ua = r.str(64), rua = r.str(64);
            rec.h.aor.assign(aor);
            rec.h.user_agent.assign(ua);
            rec.h.register_user_agent.assign(rua);
            for (int t = 0; t < 4; ++t) {
                rec.times[t] = r.i64();
                if (r.ok() && !time_ok(rec.times[t], t == 3 ? kMaxExpiresMs : 0)) bad("handset_time");
            }
            const std::uint8_t flags = r.u8();
            const std::uint8_t weak = r.u8();
            if (r.ok() && (flags > 3 || weak > static_cast<std::uint8_t>(WeakRule::policy_list))) bad("handset_flags");
            if (r.ok() && rec.times[0] == 0) bad("handset_first_seen");
            rec.h.firmware_outdated = (flags & 1) != 0;
            rec.h.stale = (flags & 2) != 0;
            rec.h.audit.weak = static_cast<WeakRule>(weak);
            rec.h.audit.next = weak != 0 ? AuditState::kDone : 0;
            handsets.push_back(rec);
        }

        LimitRecord site_hourly;
        const std::uint8_t site_init = r.u8();
        site_hourly.credit = r.u64();
        site_hourly.last = r.i64();
        if (r.ok() && (site_init > 1 || site_hourly.credit > RateSpec::kMaxCredit || !time_ok(site_hourly.last, 0) ||
                       (site_init == 1) != (site_hourly.last != 0)))
            bad("site_hourly");
        std::vector<LimitRecord> limits;
        const std::uint32_t nl = count(kMaxKeys, 24, "limit_count");
        limits.reserve(nl);
        for (std::uint32_t i = 0; i < nl && r.ok(); ++i) {
            LimitRecord l;
            l.key = r.u64();
            l.credit = r.u64();
            l.last = r.i64();
            if (r.ok() && (l.key == 0 || l.credit > RateSpec::kMaxCredit || l.last == 0 || !time_ok(l.last, 0)))
                bad("limit");
            limits.push_back(l);
        }

        auto days = [&](std::uint32_t max, std::string_view what) {
            std::vector<DayRecord> out;
            const std::uint32_t nd = count(max, 24, what);
            out.reserve(nd);
            for (std::uint32_t i = 0; i < nd && r.ok(); ++i) {
                DayRecord d;
                d.key = r.u64();
                d.day = r.i64();
                d.calls = r.u32();
                d.seconds = r.u32();
                // A day within a few of the save's (time zones are at most a day off UTC).
                const std::int64_t saved_day = saved_ms / kMsPerSecond / 86400;
                if (r.ok() && (d.key == 0 || d.day < saved_day - 2 || d.day > saved_day + 2 || d.seconds > 86400 * 1000u))
                    bad(what);
                out.push_back(d);
            }
            return out;
        };
        const std::vector<DayRecord> site_days = days(kMaxSiteProfiles, "site_day");
        const std::vector<DayRecord> key_days = days(kMaxKeys, "key_day");
        auto hist = std::make_unique<SiteHistory>();
        if (version >= 2 && r.ok()) {
            std::string what;
            if (!load_history(r, *hist, saved_ms, what) && r.ok()) bad(what);
        }
        if (r.ok() && r.left() != 0) bad("trailing");
        if (!r.ok()) return fail(detail.empty() ? StateError::truncated : StateError::range, detail);

        // Everything decoded and checked: apply. Least recent first, so the
        // tables' recency order comes back as it was.
        auto& ht = e.handsets_.table_;
        for (auto it = handsets.rbegin(); it != handsets.rend(); ++it) {
            auto ins = ht.find_or_insert(it->h.address);
            if (ins.value == nullptr) continue;
            Handset& h = *ins.value;
            h = it->h;
            h.first_seen = from_wall_ms(it->times[0], now);
            h.last_seen = from_wall_ms(it->times[1], now);
            h.last_register = from_wall_ms(it->times[2], now);
            h.registered_until = from_wall_ms(it->times[3], now);
            ++res.handsets;
        }
        res.handsets = std::min(res.handsets, ht.size());

        TollGuard& tg = e.toll_;
        auto bucket = [&](const LimitRecord& l) {
            TokenBucketState b;
            b.credit = l.credit;
            b.last = std::min(from_wall_ms(l.last, now), now.mono);
            return b;
        };
        if (site_init == 1) {
            tg.site_hourly_ = bucket(site_hourly);
            tg.site_hourly_init_ = true;
        }
        for (auto it = limits.rbegin(); it != limits.rend(); ++it) {
            TollGuard::Counters* c = tg.counters(it->key, true);
            if (c == nullptr) continue;
            c->hourly = bucket(*it);
            c->hourly_init = true;
        }
        res.limit_keys = std::min(limits.size(), tg.limits_.size());

        FraudProfiles& fp = tg.profiles_;
        const std::int64_t today = e.ctx_.r().local_day(now.wall);
        fp.observe(now);
        for (const DayRecord& d : site_days) {
            if (d.day != today) {
                ++res.day_dropped;
                continue;
            }
            FraudProfiles::Counters& c = fp.site(d.key);
            c.day = d.day;
            c.calls_today = d.calls;
            c.seconds_today = d.seconds;
            ++res.day_counters;
        }
        for (auto it = key_days.rbegin(); it != key_days.rend(); ++it) {
            if (it->day != today) {
                ++res.day_dropped;
                continue;
            }
            auto ins = fp.table_.find_or_insert(it->key);
            if (ins.value == nullptr) continue;
            if (ins.inserted) *ins.value = FraudProfiles::Counters{};
            ins.value->day = it->day;
            ins.value->calls_today = it->calls;
            ins.value->seconds_today = it->seconds;
            ++res.day_counters;
        }
        res.history_hours = hist->hours_kept();
        if (history != nullptr) *history = *hist;
        return res;
    }
};

std::vector<std::uint8_t> save_state(const Engine& engine, std::string_view site, const Now& now,
                                     const SiteHistory* history) {
    return StateCodec::save(engine, site, now, history);
}

StateLoad load_state(Engine& engine, const std::uint8_t* data, std::size_t size, std::string_view site,
                     const Now& now, SiteHistory* history) {
    return StateCodec::load(engine, data, size, site, now, history);
}

}  // namespace vg::engine
