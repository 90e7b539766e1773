// SPDX-License-Identifier: GPL-2.0-or-later
// Frames of a capture file held in memory: classic pcap (either byte order,
// micro- or nanosecond magic) and pcapng (section header, interface
// description, enhanced, simple and obsolete packet blocks; other blocks
// are skipped), each frame with the link type of its interface. Used to cut
// fuzz inputs out of the corpus captures without libpcap (the fuzz build has
// none); `voipguard replay` reads captures with libpcap (daemon/pcap_reader).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vg::test {

struct CaptureFrame {
    std::uint32_t linktype = 0;  // LINKTYPE_* of the frame's interface
    std::string_view bytes;      // the captured bytes (a view into the file)
};

struct CaptureFile {
    bool ok = false;    // the whole file was read without a format error
    std::string error;  // what stopped the reading when !ok
    std::vector<CaptureFrame> frames;  // the frames read before any error
};

CaptureFile parse_capture(std::string_view file);

}  // namespace vg::test
