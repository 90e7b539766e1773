// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the interface audit's banner parsing
// (daemon/interface_audit.h), whose input is whatever a handset's port sends.
// The first byte chooses the service; the banner is at most kMaxBanner
// printable ASCII characters, and no input is read beyond the audit's cap.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/interface_audit.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vg::daemon::audit;
    if (size == 0) return 0;
    constexpr Service kServices[] = {Service::telnet, Service::ssh, Service::http, Service::https, Service::other};
    const Service s = kServices[data[0] % 5];
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    if (in.size() > kMaxRead) in = in.substr(0, kMaxRead);
    const std::string b = banner_text(s, in);
    if (b.size() > kMaxBanner) __builtin_trap();
    for (char c : b) {
        if (c < 0x20 || c > 0x7e) __builtin_trap();
    }
    if (!b.empty() && (b.front() == ' ' || b.back() == ' ')) __builtin_trap();
    (void)banner_complete(s, in);
    return 0;
}
