// SPDX-License-Identifier: GPL-2.0-or-later
// The catalogue of evasions (tests/data/evasion/*.evasion): attempts to get a
// packet past voipguard that it must refuse, and the legitimate traffic next
// to them that it must let through. Each entry is a short packet sequence
// written as text (the format is in tests/data/evasion/README.md); this
// library turns it into IP packets with their expected verdicts. The unit
// tests replay every entry through the engine; `vg_evasion_export` writes the
// entries a handset can send through a socket as JSON lines for the
// end-to-end tests against a real PBX.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vg::test::evasion {

using Bytes = std::vector<std::uint8_t>;

// What a packet must get.
struct Expect {
    enum class Kind : std::uint8_t { accept, verified, drop, reset };
    Kind kind = Kind::accept;
    std::string reason;                // empty: any reason
    std::vector<std::string> events;   // event names the packet must raise
    std::string number;                // with events: the normalised number of the toll/limit event
    std::string text() const;          // "drop/toll_fraud"
};

struct Packet {
    int line = 0;                      // line in the catalogue file
    Bytes bytes;                       // the whole IP packet
    std::chrono::nanoseconds advance{0};   // the clock moves this much before it
    Expect expect;
    // For the exporter.
    std::string src_host, dst_host;    // names ("handset", "pbx", ...)
    std::string src, dst;              // addresses as text
    std::uint16_t src_port = 0, dst_port = 0;
    bool tcp = false;
    bool v6 = false;
    bool syn = false, fin = false, rst = false;
    std::uint16_t urgent = 0;          // urgent pointer (URG flag when not 0)
    bool seq_override = false;         // explicit seq= (retransmission, overlap, gap)
    Bytes payload;
    std::vector<std::string> numbers;  // Request-URI users of INVITEs, Refer-To users, 3xx Contact users
};

struct Entry {
    std::string file;
    int line = 0;
    std::string name;                  // "tcp/retransmitted-denied-invite"
    std::string cls;                   // "tcp", "dial-string", ...
    std::string why;
    std::string policy;                // file name inside the catalogue directory
    bool e2e = true;                   // may be exported for the real-PBX test
    std::vector<Packet> packets;

    std::string where() const { return file + ":" + std::to_string(line); }
};

// Reads every *.evasion file of `dir` (sorted by name). On a syntax error
// returns nothing and sets `error` to "FILE:LINE: message".
std::vector<Entry> load_catalogue(const std::string& dir, std::string& error);

// One file, for tests of the format itself.
std::vector<Entry> parse_catalogue(const std::string& text, const std::string& file, std::string& error);

// Host names of the catalogue and their addresses (the end-to-end site's).
std::optional<std::string> host_address(const std::string& name);

}  // namespace vg::test::evasion
