// SPDX-License-Identifier: GPL-2.0-or-later
// Shared pieces of the benchmark programs: the result file every program
// appends to (one "key value" line per figure, collected by tests/bench/run),
// the process's resident set size, policy compilation from YAML text, and the
// SIP traffic of a handset making and taking calls.
#pragma once

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filters/engine/rules.h"
#include "filters/net/packet.h"
#include "tests/filters/net/packet_builder.h"

namespace vg::bench {

// Figures go to stdout and, when a result file was given (--vg-out FILE),
// are appended to it as "key value" lines; "key null reason text" for a
// figure that could not be measured, "info.key text" for context.
class Results {
public:
    // Removes "--vg-out FILE" / "--vg-out=FILE" from argv (so other option
    // parsers do not see it) and remembers the file.
    void take_args(int& argc, char** argv);
    void number(const std::string& key, double value);
    void null(const std::string& key, const std::string& reason);
    void info(const std::string& key, const std::string& text);

private:
    void line(const std::string& text);
    std::string path_;
};

// A "kB" field of /proc/self/status ("VmRSS", "RssAnon", "RssFile", "VmHWM"),
// in KiB; -1 if unreadable.
long status_kb(const char* field);
inline long rss_kb() { return status_kb("VmRSS"); }
inline long hwm_kb() { return status_kb("VmHWM"); }

// CPU time of this process in nanoseconds / milliseconds (the benchmarks are
// single-threaded; CPU time does not count the time another program had the
// CPU, wall time would).
inline std::uint64_t cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
inline double cpu_ms() { return static_cast<double>(cpu_ns()) / 1e6; }

// Loads (without DNS, includes or permission checks) and compiles a policy.
// Exits the program with the loader's messages when it does not load: a
// benchmark on a policy that is not the one intended measures nothing.
std::shared_ptr<const engine::CompiledPolicy> compile_policy_text(const std::string& yaml, const std::string& name);
std::shared_ptr<const engine::CompiledPolicy> compile_policy_file(const std::string& path);

// IPv4 "a.b.c.d" of a 32-bit host-order value.
std::string ipv4_text(std::uint32_t host_order);

// --- traffic of a site ----------------------------------------------------------
// Realistic messages of a desk phone (Yealink) registered to a Cloud PBX
// (Asterisk): the same shapes the parser benchmark uses.
struct CallParty {
    std::string handset;        // handset IPv4 address
    std::string extension;      // "201"
    std::string pbx = "203.0.113.10";
    std::string pbx_media = "203.0.113.70";
};

// SDP of a handset or the PBX: one audio line, plus a video line when
// `video_port` is not 0. RTCP is RTP + 1 (no a=rtcp-mux).
std::string sdp_body(const std::string& addr, unsigned audio_port, unsigned video_port, bool pbx_side,
                     unsigned session_id);

// Whole requests/responses. `call_id`, tags and CSeq are the caller's; the
// Content-Length is computed.
std::string invite(const CallParty& c, bool from_handset, const std::string& number, const std::string& call_id,
                   const std::string& sdp);
std::string response(const CallParty& c, bool from_handset, unsigned code, const std::string& reason,
                     const std::string& method, unsigned cseq, const std::string& call_id,
                     const std::string& to_tag, const std::string& sdp, bool caller_is_handset);
std::string ack(const CallParty& c, bool from_handset, const std::string& call_id, const std::string& to_tag);
std::string bye(const CallParty& c, bool from_handset, const std::string& call_id, const std::string& to_tag,
                bool caller_is_handset);
std::string register_request(const CallParty& c, unsigned cseq, bool with_auth, const std::string& call_id);
std::string options_keepalive(const CallParty& c, unsigned cseq, const std::string& call_id);

// An IPv4/UDP packet around a payload.
test::Bytes udp4(const std::string& src, unsigned sport, const std::string& dst, unsigned dport,
                 const std::string& payload);
// A 172-byte RTP packet (PCMU, 20 ms).
std::string rtp_payload(unsigned seq);

// Keeps a value from being optimised away.
template <typename T>
inline void keep(const T& value) {
    asm volatile("" : : "g"(&value) : "memory");
}

}  // namespace vg::bench
