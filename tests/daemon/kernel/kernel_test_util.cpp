// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/daemon/kernel/kernel_test_util.h"

#include <stdexcept>

namespace vg::test {

net::Cidr cidr(const char* text) {
    const auto c = net::Cidr::parse(text);
    if (!c) throw std::invalid_argument(text);
    return *c;
}

kernel::ServiceEntry service(const char* prefix, kernel::L4 protocol, std::uint16_t first, std::uint16_t last) {
    kernel::ServiceEntry e;
    e.source = cidr(prefix);
    e.protocol = protocol;
    e.first_port = first;
    e.last_port = last;
    return e;
}

kernel::RuleSpec representative_spec() {
    using kernel::L4;
    kernel::RuleSpec s;
    s.name = "voipguard";
    s.queue = 3;
    s.fail_open = true;
    s.monitor = false;
    s.handsets = {cidr("192.168.20.0/24"), cidr("fd00:20::/64")};
    s.pbx_signalling = {cidr("203.0.113.10"), cidr("198.51.100.128/28"), cidr("2001:db8:10::10")};
    s.pbx_media = {cidr("203.0.113.64/27"), cidr("198.51.100.128/28"), cidr("2001:db8:10::/64")};
    s.sip_ports = {5060, 5061};
    s.support = {service("198.51.100.7", L4::tcp, 22, 22), service("198.51.100.7", L4::tcp, 443, 443),
                 service("2001:db8:99::7", L4::tcp, 22, 22)};
    s.egress_allow_list = true;
    s.egress = {service("192.0.2.123", L4::udp, 123, 123), service("0.0.0.0/0", L4::tcp, 443, 443),
                service("2001:db8:1::/48", L4::tcp, 8000, 8080)};
    return s;
}

kernel::CommandRunner FakeRunner::runner() {
    return [this](const std::vector<std::string>& argv, const std::string& input) {
        std::string command;
        for (const auto& a : argv) {
            if (!command.empty()) command += ' ';
            command += a;
        }
        calls_.push_back({command, input});
        kernel::ExecResult answer;
        if (handler && handler(command, input, answer)) return answer;
        const auto it = replies_.find(command);
        return it != replies_.end() ? it->second : default_reply;
    };
}

void FakeRunner::reply(const std::string& command, std::string out, int exit_code) {
    kernel::ExecResult r;
    r.exit_code = exit_code;
    if (exit_code == 0) r.out = std::move(out);
    else r.err = std::move(out);
    replies_[command] = std::move(r);
}

std::vector<std::string> FakeRunner::commands() const {
    std::vector<std::string> out;
    for (const auto& c : calls_) out.push_back(c.command);
    return out;
}

std::vector<std::string> FakeRunner::inputs_of(const std::string& command) const {
    std::vector<std::string> out;
    for (const auto& c : calls_)
        if (c.command == command) out.push_back(c.input);
    return out;
}

}  // namespace vg::test
