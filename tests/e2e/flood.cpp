// SPDX-License-Identifier: GPL-2.0-or-later
// Paced UDP flood sender of the end-to-end load tests (test_20..test_24):
// faster than Python can offer, and able to spoof its source address.
//
//   vg_e2e_flood --dst ADDR:PORT --rate PPS --seconds S [--src ADDR[:PORT]]
//                [--spoof CIDR[,CIDR...]] [--exclude ADDR[,ADDR...]]
//                [--kind udp|rtp|invite|options] [--size BYTES] [--batch N]
//                [--dst-count N]
//
// --src binds an ordinary UDP socket to a local address. --spoof sends from a
// raw socket (IPv4 header written here) with a source address drawn at random
// from the CIDR ranges, never one of --exclude: the allow-lists' gaps. The
// SIP kinds carry a request whose Call-ID and branch change with every
// datagram (a new dialog each time, as a flood of calls looks). --dst-count
// spreads the datagrams in turn over N consecutive destination addresses
// from ADDR (many handsets; the Request-URI keeps naming ADDR). Pacing:
// datagram i is due at start + i / PPS, sent in sendmmsg batches; a sender
// that fell more than 10 ms behind lets the schedule slip (counted) instead of
// bursting. Prints one JSON line:
//   {"sent":N,"errors":N,"slipped":N,"seconds":S,"rate":R}
// errors: datagrams the kernel refused (ENOBUFS, EPERM, ...).
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Range {
    std::uint32_t first = 0;  // host order
    std::uint32_t count = 0;
};

double now_seconds() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void sleep_seconds(double s) {
    if (s <= 0) return;
    timespec ts;
    ts.tv_sec = static_cast<time_t>(s);
    ts.tv_nsec = static_cast<long>((s - static_cast<double>(ts.tv_sec)) * 1e9);
    nanosleep(&ts, nullptr);
}

bool parse_endpoint(const std::string& text, bool port_required, sockaddr_in& out) {
    std::memset(&out, 0, sizeof out);
    out.sin_family = AF_INET;
    std::string addr = text;
    const std::string::size_type colon = text.rfind(':');
    if (colon != std::string::npos) {
        char* end = nullptr;
        const unsigned long port = std::strtoul(text.c_str() + colon + 1, &end, 10);
        if (*end != '\0' || port > 65535) return false;
        out.sin_port = htons(static_cast<std::uint16_t>(port));
        addr = text.substr(0, colon);
    } else if (port_required) {
        return false;
    }
    return inet_pton(AF_INET, addr.c_str(), &out.sin_addr) == 1;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::string::size_type start = 0;
    while (start <= s.size()) {
        const std::string::size_type comma = s.find(',', start);
        const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) out.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

bool parse_cidr(const std::string& text, Range& out) {
    const std::string::size_type slash = text.find('/');
    const std::string addr = text.substr(0, slash);
    unsigned long len = 32;
    if (slash != std::string::npos) {
        char* end = nullptr;
        len = std::strtoul(text.c_str() + slash + 1, &end, 10);
        if (*end != '\0' || len > 32 || len < 8) return false;
    }
    in_addr a;
    if (inet_pton(AF_INET, addr.c_str(), &a) != 1) return false;
    const std::uint32_t mask = len == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> len);
    out.first = ntohl(a.s_addr) & mask;
    out.count = static_cast<std::uint32_t>(1ull << (32 - len));
    return true;
}

// The datagram body; for SIP kinds, the offsets of the 8-digit serial
// patched into each copy.
struct Payload {
    std::string text;
    std::vector<std::size_t> serial_at;
};

Payload make_payload(const std::string& kind, std::size_t size, const std::string& from, const std::string& to) {
    Payload p;
    if (kind == "invite" || kind == "options") {
        const std::string method = kind == "invite" ? "INVITE" : "OPTIONS";
        const std::string body = kind == "invite"
                                     ? "v=0\r\no=- 1 1 IN IP4 " + from + "\r\ns=-\r\nc=IN IP4 " + from +
                                           "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
                                     : "";
        std::string t = method + " sip:100@" + to + " SIP/2.0\r\n" + "Via: SIP/2.0/UDP " + from +
                        ":5060;branch=z9hG4bK-flood-@@@@@@@@\r\n" + "From: <sip:flood@" + from +
                        ">;tag=flood\r\n" + "To: <sip:100@" + to + ">\r\n" + "Call-ID: flood-@@@@@@@@-" + from +
                        "\r\n" + "CSeq: 1 " + method + "\r\nMax-Forwards: 70\r\n" + "Contact: <sip:flood@" + from +
                        ":5060>\r\nUser-Agent: load-test\r\n" +
                        (body.empty() ? std::string() : std::string("Content-Type: application/sdp\r\n")) +
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        for (std::size_t at = t.find("@@@@@@@@"); at != std::string::npos; at = t.find("@@@@@@@@", at + 9))
            p.serial_at.push_back(at);
        p.text = t;
        return p;
    }
    p.text.assign(size < 12 ? 12 : size, '\x55');
    if (kind == "rtp") {
        p.text[0] = static_cast<char>(0x80);
        p.text[1] = 0;
    }
    return p;
}

void put_serial(char* d, const Payload& p, std::uint64_t serial) {
    char digits[9];
    std::snprintf(digits, sizeof digits, "%08llx", static_cast<unsigned long long>(serial & 0xFFFFFFFFull));
    for (std::size_t at : p.serial_at) std::memcpy(d + at, digits, 8);
}

// IPv4 + UDP header for the raw socket; the kernel fills in the IP checksum,
// the total length and the ID (raw(7)); the UDP checksum 0 means none.
constexpr std::size_t kHeaders = 28;

void put_headers(char* d, std::uint32_t src_host, const sockaddr_in& dst, std::uint16_t sport_host,
                 std::size_t payload) {
    std::memset(d, 0, kHeaders);
    d[0] = 0x45;
    d[8] = 64;
    d[9] = IPPROTO_UDP;
    const std::uint32_t src = htonl(src_host);
    std::memcpy(d + 12, &src, 4);
    std::memcpy(d + 16, &dst.sin_addr.s_addr, 4);
    const std::uint16_t sport = htons(sport_host);
    const std::uint16_t ulen = htons(static_cast<std::uint16_t>(8 + payload));
    std::memcpy(d + 20, &sport, 2);
    std::memcpy(d + 22, &dst.sin_port, 2);
    std::memcpy(d + 24, &ulen, 2);
}

int usage() {
    std::fprintf(stderr,
                 "usage: vg_e2e_flood --dst ADDR:PORT --rate PPS --seconds S [--src ADDR[:PORT]]\n"
                 "                    [--spoof CIDR[,CIDR...]] [--exclude ADDR[,ADDR...]]\n"
                 "                    [--kind udp|rtp|invite|options] [--size BYTES] [--batch N]\n"
                 "                    [--dst-count N]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    sockaddr_in dst{}, src{};
    bool have_dst = false, have_src = false;
    double rate = 0, seconds = 0;
    std::vector<Range> ranges;
    std::vector<std::uint32_t> excluded;
    std::string kind = "udp";
    std::size_t size = 172;
    unsigned batch = 64;
    unsigned dst_count = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        const std::string v = argv[++i];
        if (a == "--dst") {
            have_dst = parse_endpoint(v, true, dst);
            if (!have_dst) return usage();
        } else if (a == "--src") {
            have_src = parse_endpoint(v, false, src);
            if (!have_src) return usage();
        } else if (a == "--rate") {
            rate = std::strtod(v.c_str(), nullptr);
        } else if (a == "--seconds") {
            seconds = std::strtod(v.c_str(), nullptr);
        } else if (a == "--spoof") {
            for (const std::string& c : split(v)) {
                Range r;
                if (!parse_cidr(c, r)) return usage();
                ranges.push_back(r);
            }
        } else if (a == "--exclude") {
            for (const std::string& x : split(v)) {
                in_addr ad;
                if (inet_pton(AF_INET, x.c_str(), &ad) != 1) return usage();
                excluded.push_back(ntohl(ad.s_addr));
            }
        } else if (a == "--kind") {
            kind = v;
        } else if (a == "--size") {
            size = std::strtoul(v.c_str(), nullptr, 10);
        } else if (a == "--batch") {
            batch = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
        } else if (a == "--dst-count") {
            dst_count = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
        } else {
            return usage();
        }
    }
    if (!have_dst || rate <= 0 || seconds <= 0 || batch == 0 || batch > 1024 || size > 1400 || dst_count == 0 ||
        dst_count > 65536)
        return usage();
    if (ranges.empty() && !have_src) return usage();

    const bool spoof = !ranges.empty();
    const int fd = spoof ? socket(AF_INET, SOCK_RAW, IPPROTO_RAW) : socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        std::perror("socket");
        return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    if (!spoof && bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) < 0) {
        std::perror("bind");
        return 1;
    }

    char from_text[INET_ADDRSTRLEN] = "192.0.2.1";
    char to_text[INET_ADDRSTRLEN] = "";
    if (have_src) inet_ntop(AF_INET, &src.sin_addr, from_text, sizeof from_text);
    inet_ntop(AF_INET, &dst.sin_addr, to_text, sizeof to_text);
    const Payload payload = make_payload(kind, size, from_text, to_text);
    const std::size_t offset = spoof ? kHeaders : 0;
    const std::size_t length = offset + payload.text.size();

    std::vector<std::vector<char>> bufs(batch, std::vector<char>(length));
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> msgs(batch);
    std::vector<sockaddr_in> slot_dst(batch, dst);   // each datagram's destination
    for (unsigned b = 0; b < batch; ++b) {
        std::memcpy(bufs[b].data() + offset, payload.text.data(), payload.text.size());
        iov[b].iov_base = bufs[b].data();
        iov[b].iov_len = length;
        std::memset(&msgs[b], 0, sizeof msgs[b]);
        msgs[b].msg_hdr.msg_iov = &iov[b];
        msgs[b].msg_hdr.msg_iovlen = 1;
        msgs[b].msg_hdr.msg_name = &slot_dst[b];
        msgs[b].msg_hdr.msg_namelen = sizeof slot_dst[b];
    }

    std::mt19937 rng(static_cast<std::uint32_t>(getpid()));
    std::uint64_t total_weight = 0;
    for (const Range& r : ranges) total_weight += r.count;
    auto random_source = [&]() -> std::uint32_t {
        for (;;) {
            std::uint64_t pick = std::uniform_int_distribution<std::uint64_t>(0, total_weight - 1)(rng);
            for (const Range& r : ranges) {
                if (pick < r.count) {
                    const std::uint32_t a = r.first + static_cast<std::uint32_t>(pick);
                    const std::uint32_t low = a & 0xFFu;
                    bool bad = low == 0 || low == 255;
                    for (std::uint32_t x : excluded) bad = bad || x == a;
                    if (!bad) return a;
                    break;
                }
                pick -= r.count;
            }
        }
    };

    const double start = now_seconds();
    const double end = start + seconds;
    std::uint64_t scheduled = 0, sent = 0, errors = 0, slipped = 0, serial = 0;
    const double catch_up = rate * 0.01 > batch ? rate * 0.01 : batch;
    for (;;) {
        const double now = now_seconds();
        if (now >= end) break;
        double due = (now - start) * rate;
        if (due - static_cast<double>(scheduled) > catch_up) {
            const auto skip = static_cast<std::uint64_t>(due - static_cast<double>(scheduled) - catch_up);
            slipped += skip;
            scheduled += skip;
        }
        if (static_cast<double>(scheduled) + 1 > due) {
            sleep_seconds((static_cast<double>(scheduled) + 1 - due) / rate);
            continue;
        }
        std::uint64_t n = static_cast<std::uint64_t>(due) - scheduled;
        if (n > batch) n = batch;
        for (std::uint64_t b = 0; b < n; ++b) {
            char* d = bufs[b].data();
            slot_dst[b].sin_addr.s_addr =
                htonl(ntohl(dst.sin_addr.s_addr) + static_cast<std::uint32_t>(serial % dst_count));
            if (spoof) {
                const std::uint16_t sport = static_cast<std::uint16_t>(1024 + (rng() % 60000));
                put_headers(d, random_source(), slot_dst[b], sport, payload.text.size());
            }
            if (!payload.serial_at.empty()) put_serial(d + offset, payload, serial);
            ++serial;
        }
        unsigned done = 0;
        while (done < n) {
            const int r = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n) - done, 0);
            if (r < 0) {
                if (errno == EINTR) continue;
                ++errors;
                ++done;
                continue;
            }
            done += static_cast<unsigned>(r);
            sent += static_cast<unsigned>(r);
        }
        scheduled += n;
    }
    const double elapsed = now_seconds() - start;
    std::printf("{\"sent\":%llu,\"errors\":%llu,\"slipped\":%llu,\"seconds\":%.3f,\"rate\":%.0f}\n",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(slipped), elapsed, elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0);
    close(fd);
    return 0;
}
