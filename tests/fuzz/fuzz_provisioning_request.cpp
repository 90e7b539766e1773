// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the TFTP read request and HTTP provisioning request
// parsers (provisioning_request.h). The file name must lie inside the input,
// within the inspected bytes and the name cap.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/engine/provisioning_request.h"

namespace {

void check(std::string_view in, const std::optional<vg::engine::ProvisioningRequest>& r) {
    using namespace vg::engine;
    if (!r) return;
    if (r->file.empty()) __builtin_trap();
    if (r->file.size() > kProvisioningMaxFileName) __builtin_trap();
    if (r->file.data() < in.data() || r->file.data() + r->file.size() > in.data() + in.size()) __builtin_trap();
    if (r->file.data() + r->file.size() > in.data() + kProvisioningMaxInspected) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vg::engine;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    check(in, parse_tftp_read_request(in));
    const std::uint16_t port = size > 0 && (data[0] & 1) ? 80 : 8080;
    check(in, parse_http_provisioning_request(in, port));
    return 0;
}
