// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/rule_spec.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "config/policy.h"

namespace vg::kernel {

namespace {

bool prefix_less(const net::Cidr& a, const net::Cidr& b) {
    if (a.network != b.network) return a.network < b.network;
    return a.prefix < b.prefix;
}

bool inside(const net::Cidr& inner, const net::Cidr& outer) {
    return outer.prefix <= inner.prefix && outer.contains(inner.network);
}

auto key(const ServiceEntry& e) {
    return std::make_tuple(e.source.network.family(), e.protocol, e.first_port, e.last_port, e.source.network,
                           e.source.prefix);
}

bool service_less(const ServiceEntry& a, const ServiceEntry& b) { return key(a) < key(b); }
bool service_equal(const ServiceEntry& a, const ServiceEntry& b) { return key(a) == key(b); }

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 16) return false;
    const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!alpha(name[0])) return false;
    for (char c : name)
        if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
    return true;
}

bool valid_entries(const std::vector<ServiceEntry>& entries, const char* what, std::string& error) {
    for (const auto& e : entries) {
        if (!e.source.network.valid()) {
            error = std::string(what) + ": entry without an address";
            return false;
        }
        if (e.first_port > e.last_port) {
            error = std::string(what) + ": port range " + std::to_string(e.first_port) + "-" +
                    std::to_string(e.last_port) + " of " + prefix_text(e.source) + " is reversed";
            return false;
        }
    }
    return true;
}

void add_prefixes(std::vector<net::Cidr>& out, const std::vector<config::AddressEntry>& entries) {
    for (const auto& a : entries)
        for (const auto& c : a.prefixes()) out.push_back(c);
}

void add_services(std::vector<ServiceEntry>& out, const std::vector<config::ServicePeer>& peers) {
    for (const auto& peer : peers) {
        for (const auto& a : peer.addresses) {
            for (const auto& c : a.prefixes()) {
                for (const auto& p : peer.ports) {
                    ServiceEntry e;
                    e.source = c;
                    e.protocol = p.transport == config::Transport::udp ? L4::udp : L4::tcp;
                    e.first_port = p.ports.first;
                    e.last_port = p.ports.last;
                    out.push_back(e);
                }
            }
        }
    }
}

std::string hex(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", static_cast<unsigned>(v));
    return buf;
}

void sort_unique(std::vector<ServiceEntry>& v) {
    std::sort(v.begin(), v.end(), service_less);
    v.erase(std::unique(v.begin(), v.end(), service_equal), v.end());
}

}  // namespace

bool valid_mark_signature(std::uint32_t verified, std::uint32_t mask, std::string& error) {
    std::uint32_t bits = 0;
    for (std::uint32_t m = mask; m != 0; m &= m - 1) ++bits;
    if (bits < 4) {
        error = "the mark mask " + hex(mask) + " has " + std::to_string(bits) +
                " bits; at least 4 are needed for a signature";
        return false;
    }
    if ((verified & ~mask) != 0) {
        error = "the mark value " + hex(verified) + " has bits outside the mask " + hex(mask);
        return false;
    }
    if (verified == 0 || verified == mask) {
        error = "the mark value " + hex(verified) + " must be neither 0 nor the whole mask " + hex(mask) +
                " (the reset value, its complement under the mask, must not be 0 either)";
        return false;
    }
    return true;
}

bool parse_mark_signature(std::string_view text, MarkSignature& out, std::string& error) {
    const auto parse_hex = [](std::string_view t, std::uint32_t& v) {
        if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t.remove_prefix(2);
        if (t.empty() || t.size() > 8) return false;
        std::uint32_t r = 0;
        for (char c : t) {
            int d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
            else return false;
            r = (r << 4) | static_cast<std::uint32_t>(d);
        }
        v = r;
        return true;
    };
    const auto slash = text.find('/');
    std::uint32_t value = 0, mask = kDefaultMarkMask;
    if (!parse_hex(text.substr(0, slash), value) ||
        (slash != std::string_view::npos && !parse_hex(text.substr(slash + 1), mask))) {
        error = "\"" + std::string(text) + "\" is not VALUE[/MASK] in hex (e.g. 0x5a0000/0xff0000)";
        return false;
    }
    if (!valid_mark_signature(value, mask, error)) return false;
    out.mask = mask;
    out.verified = value;
    out.reset = reset_mark_for(value, mask);
    return true;
}

const char* to_string(L4 protocol) { return protocol == L4::udp ? "udp" : "tcp"; }

std::string prefix_text(const net::Cidr& c) {
    if (c.prefix == c.network.bit_length()) return c.network.to_string();
    return c.to_string();
}

bool validate(const RuleSpec& spec, std::string& error) {
    if (!valid_name(spec.name)) {
        error = "rule name prefix \"" + spec.name + "\" is not 1..16 characters [A-Za-z][A-Za-z0-9_]*";
        return false;
    }
    if (!valid_mark_signature(spec.verified_mark, spec.mark_mask, error)) return false;
    if (spec.reset_mark != reset_mark_for(spec.verified_mark, spec.mark_mask)) {
        error = "the reset mark is not the complement of the verified mark under the mask";
        return false;
    }
    if (spec.handsets.empty()) {
        error = "no handset networks";
        return false;
    }
    for (const auto& i : spec.voice_interfaces) {
        bool ok = !i.empty() && i.size() <= 15;
        for (char c : i)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-' || c == '@'))
                ok = false;
        if (!ok) {
            error = "voice interface \"" + i + "\" is not an interface name";
            return false;
        }
    }
    if (spec.sip_ports.empty()) {
        error = "no SIP ports";
        return false;
    }
    for (const auto* list : {&spec.handsets, &spec.pbx_signalling, &spec.pbx_media})
        for (const auto& c : *list)
            if (!c.network.valid()) {
                error = "a prefix without an address";
                return false;
            }
    if (spec.static_media && spec.static_media_sources.empty() &&
        spec.static_media_first_port > spec.static_media_last_port) {
        error = "static media port range is reversed";
        return false;
    }
    return valid_entries(spec.support, "support", error) && valid_entries(spec.egress, "egress", error) &&
           valid_entries(spec.static_media_sources, "static media", error);
}

std::vector<net::Cidr> minimal_prefixes(std::vector<net::Cidr> prefixes) {
    std::sort(prefixes.begin(), prefixes.end(), prefix_less);
    // Prefixes nest or are disjoint; sorted by network and then length, a
    // prefix inside another comes right after it or after others inside it,
    // so comparing with the last one kept is enough.
    std::vector<net::Cidr> out;
    for (const auto& c : prefixes) {
        if (!out.empty() && inside(c, out.back())) continue;
        out.push_back(c);
    }
    return out;
}

std::vector<ServiceEntry> disjoint_services(const std::vector<ServiceEntry>& entries) {
    std::vector<ServiceEntry> out;
    for (const net::Family family : {net::Family::v4, net::Family::v6}) {
        for (const L4 protocol : {L4::tcp, L4::udp}) {
            std::vector<const ServiceEntry*> group;
            for (const auto& e : entries)
                if (e.source.network.family() == family && e.protocol == protocol) group.push_back(&e);
            if (group.empty()) continue;
            // Cut the port axis where any range starts or ends; inside one
            // piece every entry either covers it all or none of it.
            std::vector<std::uint32_t> cuts;
            for (const auto* e : group) {
                cuts.push_back(e->first_port);
                cuts.push_back(std::uint32_t{e->last_port} + 1);
            }
            std::sort(cuts.begin(), cuts.end());
            cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
            std::vector<net::Cidr> run_prefixes;
            std::uint32_t run_first = 0, run_last = 0;
            bool in_run = false;
            auto flush = [&]() {
                if (!in_run) return;
                for (const auto& c : run_prefixes) {
                    ServiceEntry s;
                    s.source = c;
                    s.protocol = protocol;
                    s.first_port = static_cast<std::uint16_t>(run_first);
                    s.last_port = static_cast<std::uint16_t>(run_last);
                    out.push_back(s);
                }
                in_run = false;
            };
            for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
                const std::uint32_t first = cuts[i], last = cuts[i + 1] - 1;
                std::vector<net::Cidr> covering;
                for (const auto* e : group)
                    if (e->first_port <= first && e->last_port >= last) covering.push_back(e->source);
                covering = minimal_prefixes(std::move(covering));
                if (in_run && !covering.empty() && covering == run_prefixes && run_last + 1 == first) {
                    run_last = last;
                    continue;
                }
                flush();
                if (covering.empty()) continue;
                run_prefixes = std::move(covering);
                run_first = first;
                run_last = last;
                in_run = true;
            }
            flush();
        }
    }
    sort_unique(out);
    return out;
}

std::vector<ServiceEntry> static_media_entries(const RuleSpec& spec) {
    if (!spec.static_media) return {};
    if (!spec.static_media_sources.empty()) return spec.static_media_sources;
    std::vector<ServiceEntry> out;
    for (const auto& c : spec.pbx_media) {
        ServiceEntry e;
        e.source = c;
        e.protocol = L4::udp;
        e.first_port = spec.static_media_first_port;
        e.last_port = spec.static_media_last_port;
        out.push_back(e);
    }
    return out;
}

RuleSpec rule_spec_from_policy(const config::Policy& policy, std::uint16_t queue, RuleSpec base) {
    RuleSpec spec = std::move(base);
    spec.queue = queue;
    spec.fail_open = policy.on_failure == config::OnFailure::open;
    spec.monitor = policy.mode == config::Mode::monitor;

    spec.handsets = minimal_prefixes(policy.handsets.networks);
    // The policy's list; when it is empty the daemon fills it from the
    // routes (what `base` brings is kept).
    if (!policy.handsets.interfaces.empty()) spec.voice_interfaces = policy.handsets.interfaces;

    spec.pbx_signalling.clear();
    spec.pbx_media.clear();
    spec.static_media_sources.clear();
    for (const auto& pbx : policy.peers.pbx) {
        add_prefixes(spec.pbx_signalling, pbx.addresses);
        // The loader copies the PBX's addresses into media.addresses when
        // the policy leaves it out.
        const auto& media = pbx.media.addresses.empty() && pbx.media.addresses_from_pbx ? pbx.addresses
                                                                                       : pbx.media.addresses;
        std::vector<net::Cidr> media_prefixes;
        add_prefixes(media_prefixes, media);
        for (const auto& c : media_prefixes) {
            spec.pbx_media.push_back(c);
            ServiceEntry e;
            e.source = c;
            e.protocol = L4::udp;
            e.first_port = pbx.media.ports.first;
            e.last_port = pbx.media.ports.last;
            spec.static_media_sources.push_back(e);
        }
    }
    spec.pbx_signalling = minimal_prefixes(std::move(spec.pbx_signalling));
    spec.pbx_media = minimal_prefixes(std::move(spec.pbx_media));
    sort_unique(spec.static_media_sources);

    spec.sip_ports = policy.sip.ports;
    std::sort(spec.sip_ports.begin(), spec.sip_ports.end());
    spec.sip_ports.erase(std::unique(spec.sip_ports.begin(), spec.sip_ports.end()), spec.sip_ports.end());

    spec.support.clear();
    add_services(spec.support, policy.peers.support);
    sort_unique(spec.support);

    spec.egress_allow_list = policy.egress.allow_list;
    spec.egress.clear();
    add_services(spec.egress, policy.egress.allow);
    sort_unique(spec.egress);

    spec.static_media = policy.media.static_allowance;
    spec.static_media_first_port = 0;
    spec.static_media_last_port = 0;
    if (!policy.peers.pbx.empty()) {
        spec.static_media_first_port = policy.peers.pbx.front().media.ports.first;
        spec.static_media_last_port = policy.peers.pbx.front().media.ports.last;
        for (const auto& pbx : policy.peers.pbx) {
            spec.static_media_first_port = std::min(spec.static_media_first_port, pbx.media.ports.first);
            spec.static_media_last_port = std::max(spec.static_media_last_port, pbx.media.ports.last);
        }
    }
    if (!spec.static_media) spec.static_media_sources.clear();
    return spec;
}

}  // namespace vg::kernel
