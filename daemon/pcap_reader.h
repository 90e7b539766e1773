// SPDX-License-Identifier: GPL-2.0-or-later
// Reads pcap and pcapng captures with libpcap for `voipguard replay`, and finds
// the IP packet in each frame with net::decode_link().
//
//   PcapReader reader;
//   if (!reader.open(path)) { print(reader.error()); return 2; }
//   PcapFrame f;
//   PcapReader::Next n;
//   while ((n = reader.next(f)) == PcapReader::Next::frame) {
//       if (f.link.ok() && f.link.is_ip) { decode_ip(f.link.l3, f.link.l3_length); ... }
//   }
//   if (n == PcapReader::Next::error) { print(reader.error()); return 2; }
//
// Frames are numbered from 1, as tshark and Wireshark number them. Timestamps
// are read with nanosecond precision whatever the file holds (libpcap scales
// microsecond files). Errors are values: the file cannot be opened or is not
// a capture, its link type is not one decode_link() knows, or a record is cut
// or corrupt; error() then says which, starting with the file name. Nothing
// throws; the pcap_t is closed by the destructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "filters/net/link.h"

struct pcap;  // pcap_t

namespace vg::daemon {

struct PcapFrame {
    std::uint64_t index = 0;            // 1-based frame number
    std::int64_t ts_sec = 0;            // seconds since the Unix epoch (UTC)
    std::uint32_t ts_nsec = 0;          // 0..999999999
    std::uint32_t captured_length = 0;  // bytes in the file (the snapshot)
    std::uint32_t original_length = 0;  // bytes on the wire
    const std::uint8_t* data = nullptr; // captured bytes; valid until the next next()
    net::LinkFrame link;                // decode_link() of the captured bytes
};

class PcapReader {
public:
    enum class Next : std::uint8_t { frame, end, error };

    PcapReader() noexcept;
    ~PcapReader();
    PcapReader(PcapReader&&) noexcept;
    PcapReader& operator=(PcapReader&&) noexcept;
    PcapReader(const PcapReader&) = delete;
    PcapReader& operator=(const PcapReader&) = delete;

    // Opens a pcap or pcapng file (closing any previous one). False with
    // error() set if it cannot be read or its link type is unsupported.
    bool open(const std::string& path) noexcept;
    // The next frame, the end of the file, or an error (a truncated or corrupt
    // record); after end or error, next() keeps returning the same.
    Next next(PcapFrame& out) noexcept;
    void close() noexcept;

    bool is_open() const noexcept { return handle_ != nullptr; }
    const std::string& error() const noexcept { return error_; }
    const std::string& path() const noexcept { return path_; }
    // The file's DLT value as libpcap reports it, and the LinkType it maps to.
    int datalink() const noexcept { return datalink_; }
    net::LinkType link_type() const noexcept { return link_type_; }
    std::uint64_t frames_read() const noexcept { return index_; }

private:
    struct Closer {
        void operator()(pcap* p) const noexcept;
    };
    void set_error(const char* what, const char* detail) noexcept;

    std::unique_ptr<pcap, Closer> handle_;
    std::string path_;
    std::string error_;
    int datalink_ = -1;
    net::LinkType link_type_ = net::LinkType::raw;
    std::uint64_t index_ = 0;
    Next state_ = Next::end;
};

}  // namespace vg::daemon
