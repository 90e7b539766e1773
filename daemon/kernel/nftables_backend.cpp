// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/nftables_backend.h"

#include <cinttypes>
#include <cstdio>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/util/text.h"

namespace vg::kernel {

namespace nft {

namespace {

struct SetShape {
    std::string name;
    const char* type;
    std::vector<std::string> elements;
};

std::string ports_text(std::uint16_t first, std::uint16_t last) {
    return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

SetShape prefix_set(const char* name, net::Family f, const std::vector<net::Cidr>& prefixes) {
    SetShape s{name, f == net::Family::v6 ? "ipv6_addr" : "ipv4_addr", {}};
    for (const auto& c : minimal_prefixes(prefixes))
        if (c.network.family() == f) s.elements.push_back(prefix_text(c));
    return s;
}

SetShape service_set(const char* name, net::Family f, const std::vector<ServiceEntry>& entries) {
    SetShape s{name, f == net::Family::v6 ? "ipv6_addr . inet_proto . inet_service"
                                          : "ipv4_addr . inet_proto . inet_service",
               {}};
    for (const auto& e : disjoint_services(entries))
        if (e.source.network.family() == f)
            s.elements.push_back(prefix_text(e.source) + " . " + to_string(e.protocol) + " . " +
                                 ports_text(e.first_port, e.last_port));
    return s;
}

SetShape static_set(const char* name, net::Family f, const std::vector<ServiceEntry>& entries) {
    SetShape s{name, f == net::Family::v6 ? "ipv6_addr . inet_service" : "ipv4_addr . inet_service", {}};
    for (const auto& e : disjoint_services(entries))
        if (e.source.network.family() == f)
            s.elements.push_back(prefix_text(e.source) + " . " + ports_text(e.first_port, e.last_port));
    return s;
}

std::vector<SetShape> sets_of(const RuleSpec& spec) {
    using net::Family;
    std::vector<SetShape> out{
        prefix_set("handsets4", Family::v4, spec.handsets),
        prefix_set("handsets6", Family::v6, spec.handsets),
        prefix_set("pbx_sig4", Family::v4, spec.pbx_signalling),
        prefix_set("pbx_sig6", Family::v6, spec.pbx_signalling),
        prefix_set("pbx_media4", Family::v4, spec.pbx_media),
        prefix_set("pbx_media6", Family::v6, spec.pbx_media),
        service_set("support4", Family::v4, spec.support),
        service_set("support6", Family::v6, spec.support),
    };
    if (spec.egress_allow_list) {
        out.push_back(service_set("egress4", Family::v4, spec.egress));
        out.push_back(service_set("egress6", Family::v6, spec.egress));
    }
    if (spec.static_media) {
        const auto entries = static_media_entries(spec);
        out.push_back(static_set("static4", Family::v4, entries));
        out.push_back(static_set("static6", Family::v6, entries));
    }
    return out;
}

std::string element_list(const std::vector<std::string>& elements) {
    std::string s = "{ ";
    for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i) s += ", ";
        s += elements[i];
    }
    return s + " }";
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace

std::string render_table(const RuleSpec& spec, bool with_elements) {
    const std::string& t = spec.name;
    const std::string mark = mark_text(spec.verified_mark);
    const std::string mask = mark_text(spec.mark_mask);
    const std::string keep = mark_text(~spec.mark_mask);   // the bits of the mark that are not ours
    const std::string set_mark = "meta mark set meta mark & " + keep + " | " + mark + " return";
    std::string queue = "counter name \"queued\" queue num " + std::to_string(spec.queue);
    if (spec.fail_open) queue += " bypass";
    std::string sip = "{ ";
    for (std::size_t i = 0; i < spec.sip_ports.size(); ++i) {
        if (i) sip += ", ";
        sip += std::to_string(spec.sip_ports[i]);
    }
    sip += " }";

    std::ostringstream o;
    // Creating the table first makes the delete succeed when it is absent;
    // the three commands are one transaction.
    o << "table inet " << t << " {}\n";
    o << "delete table inet " << t << "\n";
    o << "table inet " << t << " {\n";
    o << "\tcounter queued {\n\t}\n";
    o << "\tcounter drop_in {\n\t}\n";
    const bool bind = !spec.voice_interfaces.empty();
    if (bind) o << "\tcounter forged {\n\t}\n\tcounter foreign {\n\t}\n";
    o << "\tcounter drop_out {\n\t}\n";
    for (const auto& s : sets_of(spec)) {
        o << "\tset " << s.name << " {\n\t\ttype " << s.type << "\n\t\tflags interval\n";
        if (with_elements && !s.elements.empty()) o << "\t\telements = " << element_list(s.elements) << "\n";
        o << "\t}\n";
    }

    // Forward: verified flows, traffic that is not the handsets' and traffic
    // between handset networks go on; the rest by direction.
    o << "\tchain forward {\n";
    o << "\t\ttype filter hook forward priority mangle; policy accept;\n";
    // First of all (before the fast path): the handset networks are bound
    // to the voice interfaces (see the iptables backend).
    if (bind) {
        std::string ifs = "{ ";
        for (std::size_t i = 0; i < spec.voice_interfaces.size(); ++i)
            ifs += (i ? ", \"" : "\"") + spec.voice_interfaces[i] + "\"";
        ifs += " }";
        for (const char* ip : {"ip", "ip6"}) {
            const char* v = ip[2] == '6' ? "6" : "4";
            o << "\t\t" << ip << " saddr @handsets" << v << " iifname != " << ifs << " jump forged_source\n";
            const std::string from = std::string("\t\tiifname ") + ifs + " " + ip + " saddr != @handsets" + v + " ";
            o << from << ip << " daddr @pbx_sig" << v << " jump foreign_source\n";
            o << from << ip << " daddr @pbx_media" << v << " jump foreign_source\n";
            o << from << "meta l4proto { tcp, udp } th dport " << sip << " jump foreign_source\n";
        }
    }
    o << "\t\tct mark & " << mask << " == " << mark << " return\n";
    o << "\t\tip daddr @handsets4 ip saddr != @handsets4 jump to_handsets\n";
    o << "\t\tip6 daddr @handsets6 ip6 saddr != @handsets6 jump to_handsets\n";
    o << "\t\tip saddr @handsets4 ip daddr != @handsets4 jump from_handsets\n";
    o << "\t\tip6 saddr @handsets6 ip6 daddr != @handsets6 jump from_handsets\n";
    o << "\t}\n";

    const auto drop = [&](const char* counter, const char* what) {
        if (spec.nflog_rate_per_second > 0)
            o << "\t\tlimit rate " << spec.nflog_rate_per_second << "/second burst "
              << std::max<std::uint32_t>(spec.nflog_burst, 1) << " packets log prefix \""
              << nflog_prefix(spec.name, what) << "\" group " << spec.nflog_group << "\n";
        // Monitor mode: the same counter, without dropping.
        o << "\t\tcounter name \"" << counter << "\"" << (spec.monitor ? "" : " drop") << "\n";
    };

    if (bind) {
        o << "\tchain forged_source {\n";
        drop("forged", "forged-src");
        o << "\t}\n";
        o << "\tchain foreign_source {\n";
        drop("foreign", "foreign-src");
        o << "\t}\n";
    }

    // Towards the handsets. SIP ports match as source or destination port
    // (replies to a handset's TCP connection arrive on its ephemeral port).
    o << "\tchain to_handsets {\n";
    for (const char* ip : {"ip", "ip6"}) {
        const char* v = ip[2] == '6' ? "6" : "4";
        o << "\t\t" << ip << " saddr @pbx_sig" << v << " meta l4proto { tcp, udp } th sport " << sip << " " << queue
          << "\n";
        o << "\t\t" << ip << " saddr @pbx_sig" << v << " meta l4proto { tcp, udp } th dport " << sip << " " << queue
          << "\n";
    }
    o << "\t\tip saddr . meta l4proto . th dport @support4 " << set_mark << "\n";
    o << "\t\tip6 saddr . meta l4proto . th dport @support6 " << set_mark << "\n";
    // The static allowance comes before the media queue rule, which would
    // otherwise take every packet it covers.
    if (spec.static_media) {
        o << "\t\tip saddr . udp sport @static4 " << set_mark << "\n";
        o << "\t\tip6 saddr . udp sport @static6 " << set_mark << "\n";
    }
    o << "\t\tip saddr @pbx_media4 meta l4proto udp " << queue << "\n";
    o << "\t\tip6 saddr @pbx_media6 meta l4proto udp " << queue << "\n";
    // Return traffic after the media rule (see the iptables backend).
    o << "\t\tct state established,related ct direction reply return\n";
    // ICMP errors from the PBX about a flow conntrack no longer has: the
    // engine judges what they quote (see the iptables backend).
    for (const char* set : {"pbx_sig", "pbx_media"}) {
        o << "\t\tct state invalid ip saddr @" << set << "4 meta l4proto icmp limit rate " << kIcmpQueueRate
          << "/second burst " << kIcmpQueueRate << " packets " << queue << "\n";
        o << "\t\tct state invalid ip6 saddr @" << set << "6 meta l4proto ipv6-icmp limit rate " << kIcmpQueueRate
          << "/second burst " << kIcmpQueueRate << " packets " << queue << "\n";
    }
    drop("drop_in", "drop-in");
    o << "\t}\n";

    // From the handsets: every TCP and UDP packet that has not taken the
    // fast path goes to the engine (see the iptables backend); other
    // protocols meet the egress allow-list.
    // SCTP is a SIP transport (RFC 4168) the engine does not follow, and no
    // handset needs it: dropped, whatever the egress mode.
    o << "\tchain drop_sctp {\n";
    drop("drop_out", "drop-out");
    o << "\t}\n";
    o << "\tchain from_handsets {\n";
    o << "\t\tmeta l4proto { tcp, udp } " << queue << "\n";
    o << "\t\tmeta l4proto sctp jump drop_sctp\n";
    if (spec.egress_allow_list) {
        o << "\t\tip daddr . meta l4proto . th dport @egress4 return\n";
        o << "\t\tip6 daddr . meta l4proto . th dport @egress6 return\n";
        // Packets of flows conntrack already tracks (as the iptables
        // backend): a handset's ICMP error about a SIP flow with the PBX
        // (RELATED, in either direction of it), its echo reply to the PBX's
        // ping. A flow is established only once its first packet passed.
        o << "\t\tct state established,related return\n";
        drop("drop_out", "drop-out");
    }
    o << "\t}\n";

    // TCP segments the daemon gave the reset mark (a SIP stream the engine
    // cut): a reset to their sender. After the mangle chains (the queue
    // verdict), at filter priority.
    o << "\tchain send_reset {\n";
    o << "\t\ttype filter hook forward priority filter; policy accept;\n";
    o << "\t\tmeta mark & " << mask << " == " << mark_text(spec.reset_mark)
      << " meta l4proto tcp reject with tcp reset\n";
    o << "\t}\n";

    // After the router's filter: the verdict's packet mark becomes the
    // conntrack mark (no conntrack glue in queue verdicts needed).
    o << "\tchain postrouting {\n";
    o << "\t\ttype filter hook postrouting priority mangle; policy accept;\n";
    o << "\t\tmeta mark & " << mask << " == " << mark << " ct mark set ct mark & " << keep << " | " << mark << "\n";
    o << "\t}\n";
    o << "}\n";
    return o.str();
}

std::string render_set_update(const RuleSpec& spec) {
    std::ostringstream o;
    for (const auto& s : sets_of(spec)) {
        o << "flush set inet " << spec.name << " " << s.name << "\n";
        if (!s.elements.empty())
            o << "add element inet " << spec.name << " " << s.name << " " << element_list(s.elements) << "\n";
    }
    return o.str();
}

std::string render_delete(const std::string& name) {
    return "table inet " + name + " {}\ndelete table inet " + name + "\n";
}

void add_counters(const std::string& list_text, Counters& into) {
    std::string current;
    for (auto line : lines_of(list_text)) {
        line = text::trim_wsp(line);
        if (text::starts_with(line, "counter ")) {
            auto rest = line.substr(8);
            current = std::string(rest.substr(0, rest.find(' ')));
            continue;
        }
        if (!text::starts_with(line, "packets ")) continue;
        std::uint64_t packets = 0, bytes = 0;
        const std::string l(line);
        if (std::sscanf(l.c_str(), "packets %" SCNu64 " bytes %" SCNu64, &packets, &bytes) != 2) continue;
        if (current == "queued") {
            into.queued_packets += packets;
            into.queued_bytes += bytes;
        } else if (current == "drop_in") {
            into.inbound_drop_packets += packets;
            into.inbound_drop_bytes += bytes;
        } else if (current == "drop_out") {
            into.egress_drop_packets += packets;
            into.egress_drop_bytes += bytes;
        } else if (current == "forged") {
            into.forged_drop_packets += packets;
            into.forged_drop_bytes += bytes;
        } else if (current == "foreign") {
            into.foreign_drop_packets += packets;
            into.foreign_drop_bytes += bytes;
        }
    }
}

}  // namespace nft

NftablesBackend::NftablesBackend(std::string name, BackendOptions options)
    : rules_name_(std::move(name)), options_(std::move(options)), runner_(runner_for(options_)) {}

bool NftablesBackend::run_nft(const std::string& input, std::string& error) {
    const std::vector<std::string> argv{options_.nft, "-f", "-"};
    const ExecResult r = runner_(argv, input);
    if (r.ok()) return true;
    error = describe(argv, r);
    return false;
}

bool NftablesBackend::read_counters(Counters& c) {
    const ExecResult r = runner_({options_.nft, "list", "counters", "table", "inet", rules_name_}, {});
    if (!r.ok()) return false;
    nft::add_counters(r.out, c);
    return true;
}

bool NftablesBackend::install(const RuleSpec& spec, std::string& error) {
    if (!validate(spec, error)) return false;
    if (spec.name != rules_name_) {
        error = "rule spec is named \"" + spec.name + "\", the backend \"" + rules_name_ + "\"";
        return false;
    }
    // One transaction: when nft or the kernel refuses any part of it, the
    // table in place (ours, or a previous instance's) stays as it was.
    // Counts of rules this backend installed before are kept; a previous
    // instance's are not ours.
    Counters before;
    const bool counted = installed_ && read_counters(before);
    if (!run_nft(nft::render_table(spec), error)) return false;
    if (counted) base_ += before;
    else base_ = Counters{};
    installed_ = true;
    installed_shape_ = nft::render_table(spec, false);
    return true;
}

bool NftablesBackend::update(const RuleSpec& spec, std::string& error) {
    if (!installed_) return install(spec, error);
    if (!validate(spec, error)) return false;
    if (spec.name != rules_name_) {
        error = "rule spec is named \"" + spec.name + "\", the backend \"" + rules_name_ + "\"";
        return false;
    }
    std::string shape = nft::render_table(spec, false);
    if (shape == installed_shape_) return run_nft(nft::render_set_update(spec), error);
    // The rules change: replace the table, keeping what its counters counted.
    Counters before;
    const bool counted = read_counters(before);
    if (!run_nft(nft::render_table(spec), error)) return false;
    if (counted) base_ += before;
    installed_shape_ = std::move(shape);
    return true;
}

bool NftablesBackend::remove(std::string& error) {
    if (!run_nft(nft::render_delete(rules_name_), error)) return false;
    installed_ = false;
    installed_shape_.clear();
    base_ = Counters{};
    return true;
}

Counters NftablesBackend::counters() {
    Counters c = base_;
    c.ok = read_counters(c);
    return c;
}

}  // namespace vg::kernel
