// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/kernel/iptables_backend.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>

#include "filters/util/text.h"

namespace vg::kernel {

namespace ipt {

namespace {

const char* suffix(net::Family f) { return f == net::Family::v6 ? "6" : "4"; }
const char* ipset_family(net::Family f) { return f == net::Family::v6 ? "inet6" : "inet"; }

std::string set_name(const std::string& name, const char* what, net::Family f) {
    return name + "-" + what + suffix(f);
}
std::string static_set_name(const std::string& name, std::size_t index, net::Family f) {
    return name + "-static" + std::to_string(index + 1) + "-" + suffix(f);
}

// Element text for ipset: hash:net refuses a /0, so it becomes two /1.
std::vector<std::string> net_elements(const net::Cidr& c) {
    if (c.prefix > 0) return {prefix_text(c)};
    if (c.network.is_v4()) return {"0.0.0.0/1", "128.0.0.0/1"};
    return {"::/1", "8000::/1"};
}

std::string port_text(std::uint16_t first, std::uint16_t last) {
    return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

SetDef net_set(const std::string& set, net::Family family, const std::vector<net::Cidr>& prefixes) {
    SetDef d;
    d.name = set;
    d.type = "hash:net";
    d.family = family;
    for (const auto& c : minimal_prefixes(prefixes)) {
        if (c.network.family() != family) continue;
        for (auto& e : net_elements(c)) d.elements.push_back(std::move(e));
    }
    d.maxelem = std::max<std::size_t>(65536, d.elements.size());
    return d;
}

// hash:net,port stores one element per port of a range.
SetDef service_set(const std::string& set, net::Family family, const std::vector<ServiceEntry>& entries) {
    SetDef d;
    d.name = set;
    d.type = "hash:net,port";
    d.family = family;
    std::size_t count = 0;
    for (const auto& e : disjoint_services(entries)) {
        if (e.source.network.family() != family) continue;
        for (const auto& n : net_elements(e.source)) {
            d.elements.push_back(n + "," + to_string(e.protocol) + ":" + port_text(e.first_port, e.last_port));
            count += std::size_t{e.last_port} - e.first_port + 1;
        }
    }
    d.maxelem = std::max<std::size_t>(65536, count);
    return d;
}

// Static media entries grouped by port range, in range order.
std::vector<std::pair<std::pair<std::uint16_t, std::uint16_t>, std::vector<net::Cidr>>> static_groups(
    const RuleSpec& spec) {
    std::map<std::pair<std::uint16_t, std::uint16_t>, std::vector<net::Cidr>> groups;
    for (const auto& e : static_media_entries(spec)) groups[{e.first_port, e.last_port}].push_back(e.source);
    return {groups.begin(), groups.end()};
}

// Splits an iptables-save line into words; "quoted words" lose their quotes.
std::vector<std::string> words(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i >= line.size()) break;
        std::string w;
        if (line[i] == '"') {
            ++i;
            while (i < line.size() && line[i] != '"') {
                if (line[i] == '\\' && i + 1 < line.size()) ++i;
                w += line[i++];
            }
            ++i;
        } else {
            while (i < line.size() && line[i] != ' ' && line[i] != '\t') w += line[i++];
        }
        out.push_back(std::move(w));
    }
    return out;
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

bool in_names(const ChainNames& c, std::string_view chain) {
    return chain == c.fwd || chain == c.in || chain == c.out || chain == c.post || chain == c.rst || chain == c.src ||
           chain == c.frn || chain == c.lan || chain == c.hs;
}

// "[12:3456] -A ..." -> counters and the rest.
std::string_view strip_counters(std::string_view line, std::uint64_t* packets, std::uint64_t* bytes) {
    if (line.empty() || line[0] != '[') return line;
    const auto close = line.find(']');
    if (close == std::string_view::npos) return line;
    const std::string inner(line.substr(1, close - 1));
    std::uint64_t p = 0, b = 0;
    if (std::sscanf(inner.c_str(), "%" SCNu64 ":%" SCNu64, &p, &b) == 2) {
        if (packets) *packets = p;
        if (bytes) *bytes = b;
    }
    line.remove_prefix(close + 1);
    while (!line.empty() && line[0] == ' ') line.remove_prefix(1);
    return line;
}

void multiport_rules(std::ostringstream& o, const std::string& chain, const std::string& match,
                     const std::vector<std::uint16_t>& ports, const std::string& target) {
    // xt_multiport takes at most 15 ports per rule.
    for (const char* proto : {"udp", "tcp"}) {
        for (std::size_t i = 0; i < ports.size(); i += 15) {
            std::string list;
            for (std::size_t j = i; j < ports.size() && j < i + 15; ++j) {
                if (!list.empty()) list += ',';
                list += std::to_string(ports[j]);
            }
            o << "-A " << chain << " -p " << proto << match << " -m multiport --ports " << list << target << "\n";
        }
    }
}

}  // namespace

ChainNames chain_names(const std::string& name, int generation) {
    const std::string g = generation == 1 ? "-2" : "";
    return {name + "-fwd" + g, name + "-in" + g,  name + "-out" + g, name + "-post" + g, name + "-src" + g,
            name + "-frn" + g, name + "-lan" + g, name + "-hs" + g,  name + "-rst" + g};
}

int chain_generation(const std::string& name, std::string_view chain) {
    for (int g = 0; g < 2; ++g)
        if (in_names(chain_names(name, g), chain)) return g;
    return -1;
}

int staging_generation(const TableState& existing) { return existing.live == 0 ? 1 : 0; }

std::string staging_name(const std::string& set_name) { return set_name + "-new"; }

std::vector<SetDef> sets_for(const RuleSpec& spec, bool ipv6) {
    std::vector<SetDef> out;
    std::vector<net::Family> fams{net::Family::v4};
    if (ipv6) fams.push_back(net::Family::v6);
    const auto groups = static_groups(spec);
    for (const auto f : fams) {
        out.push_back(net_set(set_name(spec.name, "handsets", f), f, spec.handsets));
        out.push_back(net_set(set_name(spec.name, "pbx-sig", f), f, spec.pbx_signalling));
        out.push_back(net_set(set_name(spec.name, "pbx-media", f), f, spec.pbx_media));
        out.push_back(service_set(set_name(spec.name, "support", f), f, spec.support));
        if (spec.egress_allow_list) out.push_back(service_set(set_name(spec.name, "egress", f), f, spec.egress));
        for (std::size_t i = 0; i < groups.size(); ++i)
            out.push_back(net_set(static_set_name(spec.name, i, f), f, groups[i].second));
    }
    return out;
}

std::vector<SetState> parse_ipset_list(const std::string& text) {
    std::vector<SetState> out;
    for (auto line : lines_of(text)) {
        if (text::starts_with(line, "Name:")) {
            out.push_back(SetState{});
            out.back().name = std::string(text::trim_wsp(line.substr(5)));
        } else if (!out.empty() && text::starts_with(line, "Type:")) {
            out.back().type = std::string(text::trim_wsp(line.substr(5)));
        } else if (!out.empty() && text::starts_with(line, "Header:")) {
            const auto w = words(line.substr(7));
            for (std::size_t i = 0; i + 1 < w.size(); ++i)
                if (w[i] == "family") out.back().family = w[i + 1];
        }
    }
    return out;
}

std::vector<std::string> our_sets(const std::string& name, const std::vector<SetState>& existing) {
    // Exactly the names sets_for() and staging_name() make.
    const std::string prefix = name + "-";
    std::vector<std::string> out;
    for (const auto& s : existing) {
        if (s.name.compare(0, prefix.size(), prefix) != 0) continue;
        std::string rest = s.name.substr(prefix.size());
        if (rest.size() > 4 && rest.compare(rest.size() - 4, 4, "-new") == 0) rest.resize(rest.size() - 4);
        if (rest.empty() || (rest.back() != '4' && rest.back() != '6')) continue;
        rest.pop_back();
        bool match = rest == "handsets" || rest == "pbx-sig" || rest == "pbx-media" || rest == "support" ||
                     rest == "egress";
        if (!match && rest.size() > 7 && rest.compare(0, 6, "static") == 0 && rest.back() == '-') {
            const std::string digits = rest.substr(6, rest.size() - 7);
            match = !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos;
        }
        if (match) out.push_back(s.name);
    }
    return out;
}

bool sets_compatible(const std::vector<SetDef>& wanted, const std::vector<SetState>& existing,
                     std::string& mismatch) {
    for (const auto& w : wanted) {
        for (const auto& e : existing) {
            if (e.name != w.name) continue;
            if (e.type != w.type || e.family != ipset_family(w.family)) {
                mismatch = "set " + e.name + " is " + e.type + " family " + e.family + ", needs " + w.type +
                           " family " + ipset_family(w.family);
                return false;
            }
        }
    }
    return true;
}

std::string render_ipset_stage(const std::vector<SetDef>& wanted, const std::vector<SetState>& existing) {
    std::ostringstream o;
    auto exists = [&](const std::string& n) {
        return std::any_of(existing.begin(), existing.end(), [&](const SetState& s) { return s.name == n; });
    };
    for (const auto& w : wanted) {
        const std::string header = " " + w.type + " family " + ipset_family(w.family) +
                                   " hashsize 64 maxelem " + std::to_string(w.maxelem);
        const std::string staging = staging_name(w.name);
        if (exists(staging)) o << "destroy " << staging << "\n";
        if (!exists(w.name)) o << "create " << w.name << header << "\n";
        o << "create " << staging << header << "\n";
        for (const auto& e : w.elements) o << "add -exist " << staging << " " << e << "\n";
    }
    return o.str();
}

std::string render_ipset_swap(const std::vector<SetDef>& wanted, bool destroy) {
    std::ostringstream o;
    for (const auto& w : wanted) {
        o << "swap " << staging_name(w.name) << " " << w.name << "\n";
        if (destroy) o << "destroy " << staging_name(w.name) << "\n";
    }
    return o.str();
}

std::string render_ipset_destroy(const std::vector<std::string>& names) {
    std::ostringstream o;
    for (const auto& n : names) o << "destroy " << n << "\n";
    return o.str();
}

TableState parse_table(const std::string& save_text, const std::string& name) {
    TableState st;
    st.name = name;
    // Text without a "*table" line is the mangle table (iptables-save -t mangle).
    std::string table = "mangle";
    for (auto line : lines_of(save_text)) {
        line = strip_counters(line, nullptr, nullptr);
        if (!line.empty() && line[0] == '*') {
            table = std::string(line.substr(1));
            continue;
        }
        if (table != "mangle" && table != "filter") continue;
        auto& chains = table == "filter" ? st.filter_chains : st.chains;
        auto& references = table == "filter" ? st.filter_references : st.references;
        if (!line.empty() && line[0] == ':') {
            const auto w = words(line.substr(1));
            if (!w.empty() && chain_generation(name, w[0]) >= 0) chains.push_back(w[0]);
            continue;
        }
        if (line.compare(0, 3, "-A ") != 0) continue;
        const auto w = words(line);
        if (w.size() < 2 || chain_generation(name, w[1]) >= 0) continue;
        for (std::size_t i = 2; i + 1 < w.size(); ++i) {
            const int g = chain_generation(name, w[i + 1]);
            if ((w[i] == "-j" || w[i] == "-g" || w[i] == "--jump" || w[i] == "--goto") && g >= 0) {
                references.emplace_back(line.substr(3));
                if (table == "mangle" && w[1] == "FORWARD" && w[i + 1] == chain_names(name, g).fwd) st.live = g;
                break;
            }
        }
    }
    return st;
}

std::string render_rules(const RuleSpec& spec, net::Family family, int generation) {
    const ChainNames c = chain_names(spec.name, generation);
    const char* s = suffix(family);
    const std::string mask = mark_text(spec.mark_mask);
    const std::string mm = mark_text(spec.verified_mark) + "/" + mask;
    const std::string handsets = spec.name + "-handsets" + s;
    const std::string sig = spec.name + "-pbx-sig" + s;
    const std::string media = spec.name + "-pbx-media" + s;
    const std::string support = spec.name + "-support" + s;
    const std::string egress = spec.name + "-egress" + s;
    // No comment match on the queue rules (iptables-nft runs it as an
    // xtables match on every packet that reaches the rule): the queued
    // counter is read from the NFQUEUE targets (add_counters).
    std::string queue = " -j NFQUEUE --queue-num " + std::to_string(spec.queue);
    if (spec.fail_open) queue += " --queue-bypass";
    const std::string set_mark = " -j MARK --set-xmark " + mm;

    std::ostringstream o;
    // Filter table: TCP segments the daemon gave the reset mark (a SIP
    // stream the engine cut) are answered with a reset to their sender.
    // REJECT works only in the filter table; our FORWARD rule 1 (see
    // render_swap) comes before the router's own accept rules.
    o << "*filter\n";
    o << ":" << c.rst << " - [0:0]\n";
    o << "-A " << c.rst << " -p tcp -m mark --mark " << mark_text(spec.reset_mark) << "/" << mask
      << " -j REJECT --reject-with tcp-reset\n";
    o << "COMMIT\n";
    o << "*mangle\n";
    const bool bind = !spec.voice_interfaces.empty();
    for (const auto* chain : {&c.fwd, &c.in, &c.out, &c.post, &c.hs}) o << ":" << *chain << " - [0:0]\n";
    if (bind)
        for (const auto* chain : {&c.src, &c.frn, &c.lan}) o << ":" << *chain << " - [0:0]\n";

    // "The source (destination) is in a handset network": one match per
    // prefix, native expressions (see kNativeHandsetPrefixes), or the set.
    std::vector<std::string> prefixes;
    for (const auto& p : minimal_prefixes(spec.handsets))
        if (p.network.family() == family) prefixes.push_back(prefix_text(p));
    const auto handset = [&](const char* dir) {
        std::vector<std::string> m;
        if (prefixes.size() > kNativeHandsetPrefixes) {
            m.push_back(" -m set --match-set " + handsets + " " + dir);
        } else {
            for (const auto& p : prefixes) m.push_back((dir[0] == 's' ? " -s " : " -d ") + p);
        }
        return m;
    };
    const auto each = [&](const std::string& chain, const char* dir, const std::string& target) {
        for (const auto& m : handset(dir)) o << "-A " << chain << m << target << "\n";
    };
    const std::string verified = " -m connmark --mark " + mm + " -j RETURN";

    const auto drop = [&](const std::string& chain, const char* what) {
        if (spec.nflog_rate_per_second > 0) {
            o << "-A " << chain << " -m limit --limit " << spec.nflog_rate_per_second << "/second --limit-burst "
              << std::max<std::uint32_t>(spec.nflog_burst, 1) << " -j NFLOG --nflog-group " << spec.nflog_group
              << " --nflog-prefix " << nflog_prefix(spec.name, what) << "\n";
        }
        // Monitor mode: the same rule counts, without dropping.
        o << "-A " << chain << " -m comment --comment " << spec.name << ":" << what;
        if (!spec.monitor) o << " -j DROP";
        o << "\n";
    };
    // Forward: a packet is classified once, by where it came from, and each
    // class walks only its own checks (every forwarded packet of the router
    // passes here, the office's too):
    //   - from a voice interface (NAME-lan): a source in a handset network
    //     goes to NAME-hs; any other is a foreign source (NAME-frn), then
    //     the verified fast path, then NAME-in if it is for a handset;
    //   - from anywhere else with a handset source: forged (NAME-src);
    //   - from anywhere else: the verified fast path, then NAME-in if it is
    //     for a handset.
    // NAME-hs (a handset's packet): the verified fast path, traffic between
    // handset networks goes on, the rest is NAME-out. The binding checks
    // come before the fast path: a forged packet of a verified flow does not
    // take it. Without voice interfaces there is no binding: a handset
    // source goes to NAME-hs from anywhere. The classes' chains are entered
    // with -g: their end is the end of ours.
    //
    // The voice-interface binding: a handset source from anywhere else is
    // forged (the router's loose reverse-path filter lets it through, and
    // IPv6 has none); a voice-interface packet with a source outside the
    // handset networks, for the PBX or a SIP port, is a spoofing or
    // hijacked device.
    if (bind) {
        for (const auto& i : spec.voice_interfaces) o << "-A " << c.fwd << " -i " << i << " -g " << c.lan << "\n";
        each(c.fwd, "src", " -g " + c.src);
        drop(c.src, "forged-src");
        // Monitor mode only (the drop ends the walk otherwise): a forged
        // packet goes on as the handset's packet it claims to be.
        if (spec.monitor) o << "-A " << c.src << " -g " << c.hs << "\n";
        each(c.lan, "src", " -g " + c.hs);
        o << "-A " << c.lan << " -j " << c.frn << "\n";
        o << "-A " << c.lan << verified << "\n";
        each(c.lan, "dst", " -g " + c.in);
        // For the PBX or a SIP port: sampled and dropped (each match its own
        // pair of rules; the first DROP ends the walk).
        std::vector<std::string> matches{" -m set --match-set " + sig + " dst", " -m set --match-set " + media + " dst"};
        for (const char* proto : {"udp", "tcp"})
            for (std::size_t i = 0; i < spec.sip_ports.size(); i += 15) {
                std::string list;
                for (std::size_t j = i; j < spec.sip_ports.size() && j < i + 15; ++j)
                    list += (list.empty() ? "" : ",") + std::to_string(spec.sip_ports[j]);
                matches.push_back(std::string(" -p ") + proto + " -m multiport --dports " + list);
            }
        for (const auto& m : matches) {
            if (spec.nflog_rate_per_second > 0)
                o << "-A " << c.frn << m << " -m limit --limit " << spec.nflog_rate_per_second << "/second --limit-burst "
                  << std::max<std::uint32_t>(spec.nflog_burst, 1) << " -j NFLOG --nflog-group " << spec.nflog_group
                  << " --nflog-prefix " << nflog_prefix(spec.name, "foreign-src") << "\n";
            o << "-A " << c.frn << m << " -m comment --comment " << spec.name << ":foreign-src";
            if (!spec.monitor) o << " -j DROP";
            o << "\n";
        }
    } else {
        each(c.fwd, "src", " -g " + c.hs);
    }
    o << "-A " << c.fwd << verified << "\n";
    each(c.fwd, "dst", " -g " + c.in);
    o << "-A " << c.hs << verified << "\n";
    each(c.hs, "dst", " -j RETURN");
    o << "-A " << c.hs << " -g " << c.out << "\n";

    // Towards the handsets. SIP ports match as source or destination port
    // (replies to a handset's TCP connection arrive on its ephemeral port).
    multiport_rules(o, c.in, " -m set --match-set " + sig + " src", spec.sip_ports, queue);
    o << "-A " << c.in << " -m set --match-set " << support << " src,dst" << set_mark << "\n";
    o << "-A " << c.in << " -m set --match-set " << support << " src,dst -j RETURN\n";
    // The static allowance comes before the media queue rule, which would
    // otherwise take every packet it covers.
    const auto groups = static_groups(spec);
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const std::string match = " -p udp -m udp --sport " + std::to_string(groups[i].first.first) + ":" +
                                  std::to_string(groups[i].first.second) + " -m set --match-set " +
                                  static_set_name(spec.name, i, family) + " src";
        o << "-A " << c.in << match << set_mark << "\n";
        o << "-A " << c.in << match << " -j RETURN\n";
    }
    o << "-A " << c.in << " -p udp -m set --match-set " << media << " src" << queue << "\n";
    // Return traffic of flows the handsets opened comes after the media
    // rule: media a handset sent first must still be verified by the
    // engine, so that its pinhole (and the conntrack entry the daemon
    // deletes when the call ends) governs it, not the reply direction.
    o << "-A " << c.in << " -m conntrack --ctstate RELATED,ESTABLISHED --ctdir REPLY -j RETURN\n";
    // An ICMP error from the PBX that conntrack cannot place (INVALID): the
    // flow it quotes is gone, typically the verified media flow whose entry
    // the daemon deleted at the end of the call while the PBX's "port
    // unreachable" for its last packet was on the way. The engine judges it
    // by what it quotes (a flow of this handset to the PBX passes);
    // rate-limited, the rest is dropped below. Pings from the PBX are NEW
    // and stay in the kernel.
    const std::string icmp = family == net::Family::v4 ? " -p icmp" : " -p ipv6-icmp";
    for (const auto* peers : {&sig, &media})
        o << "-A " << c.in << icmp << " -m conntrack --ctstate INVALID -m set --match-set " << *peers
          << " src -m limit --limit " << kIcmpQueueRate << "/second --limit-burst " << kIcmpQueueRate << queue
          << "\n";
    drop(c.in, "drop-in");

    // From the handsets: every TCP and UDP packet that has not taken the
    // fast path goes to the engine, whatever its port or payload. It judges
    // SIP by content (to the PBX on any port, to anyone else: dropped),
    // egress and media, and marks the flows it is done with as verified.
    // No payload match (nftables has none; a request line split across TCP
    // segments defeats one).
    for (const char* proto : {"tcp", "udp"}) o << "-A " << c.out << " -p " << proto << queue << "\n";
    // SCTP is a SIP transport (RFC 4168) the engine does not follow, and no
    // handset needs it: dropped, whatever the egress mode (counted and
    // sampled as egress drops).
    if (spec.nflog_rate_per_second > 0)
        o << "-A " << c.out << " -p sctp -m limit --limit " << spec.nflog_rate_per_second << "/second --limit-burst "
          << std::max<std::uint32_t>(spec.nflog_burst, 1) << " -j NFLOG --nflog-group " << spec.nflog_group
          << " --nflog-prefix " << nflog_prefix(spec.name, "drop-out") << "\n";
    o << "-A " << c.out << " -p sctp -m comment --comment " << spec.name << ":drop-out" << (spec.monitor ? "" : " -j DROP")
      << "\n";
    // Other protocols (ICMP, ...): the egress allow-list, or continue.
    if (spec.egress_allow_list) {
        o << "-A " << c.out << " -m set --match-set " << egress << " dst,dst -j RETURN\n";
        // Packets of flows conntrack already tracks: a handset's ICMP error
        // about a SIP flow with the PBX (RELATED, in either direction of
        // it), its echo reply to the PBX's ping. A flow is ESTABLISHED only
        // once its first packet passed.
        o << "-A " << c.out << " -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n";
        drop(c.out, "drop-out");
    }

    // After the router's filter: the verdict's packet mark becomes the
    // conntrack mark (no conntrack glue in queue verdicts needed).
    // Only the bits of our mask are copied: the rest of the conntrack mark
    // belongs to the router's other rules.
    o << "-A " << c.post << " -m mark --mark " << mm << " -j CONNMARK --save-mark --nfmask " << mask
      << " --ctmask " << mask << "\n";
    o << "COMMIT\n";
    return o.str();
}

std::string render_swap(const std::string& name, const TableState& existing, int generation) {
    const ChainNames c = chain_names(name, generation < 0 ? 0 : generation);
    std::ostringstream o;
    // The filter table first: if the mangle commit then fails, at most the
    // reset rule (the same in every generation) has moved.
    if (generation >= 0 || !existing.filter_references.empty()) {
        o << "*filter\n";
        for (const auto& r : existing.filter_references) o << "-D " << r << "\n";
        if (generation >= 0) o << "-I FORWARD 1 -j " << c.rst << "\n";
        o << "COMMIT\n";
    }
    if (generation >= 0 || !existing.references.empty()) {
        o << "*mangle\n";
        for (const auto& r : existing.references) o << "-D " << r << "\n";
        if (generation >= 0) {
            o << "-I FORWARD 1 -j " << c.fwd << "\n";
            o << "-I POSTROUTING 1 -j " << c.post << "\n";
        }
        o << "COMMIT\n";
    }
    return o.str();
}

bool rules_in_place(const std::string& save_text, const std::string& rendered, const std::string& name) {
    const TableState st = parse_table(save_text, name);
    if (st.live < 0) return false;
    const ChainNames c = chain_names(name, st.live);
    // Rules per chain, "table chain" -> count; and the first rule of each
    // built-in chain we jump from.
    const auto count_rules = [&](const std::string& text, std::map<std::string, int>& counts,
                                 std::map<std::string, std::string>* first) {
        std::string table = "mangle";
        for (auto line : lines_of(text)) {
            line = strip_counters(line, nullptr, nullptr);
            if (!line.empty() && line[0] == '*') {
                table = std::string(line.substr(1));
                continue;
            }
            if (line.compare(0, 3, "-A ") != 0) continue;
            const auto w = words(line);
            if (w.size() < 2) continue;
            const std::string key = table + " " + w[1];
            if (first && (w[1] == "FORWARD" || w[1] == "POSTROUTING") && !first->count(key))
                (*first)[key] = std::string(line.substr(3));
            if (chain_generation(name, w[1]) == st.live) ++counts[key];
        }
    };
    std::map<std::string, int> want, have;
    std::map<std::string, std::string> first;
    count_rules(rendered, want, nullptr);
    count_rules(save_text, have, &first);
    return want == have && first["mangle FORWARD"] == "FORWARD -j " + c.fwd &&
           first["mangle POSTROUTING"] == "POSTROUTING -j " + c.post && first["filter FORWARD"] == "FORWARD -j " + c.rst &&
           st.references.size() == 2 && st.filter_references.size() == 1;
}

std::string render_removal(const TableState& existing, int keep) {
    const auto kept = [&](const std::string& chain) {
        return keep >= 0 && chain_generation(existing.name, chain) == keep;
    };
    // The chain a reference ("FORWARD -p udp -j voipguard-fwd") jumps to.
    const auto target = [](const std::string& reference) {
        const auto w = words(reference);
        for (std::size_t i = 0; i + 1 < w.size(); ++i)
            if (w[i] == "-j" || w[i] == "-g" || w[i] == "--jump" || w[i] == "--goto") return w[i + 1];
        return std::string();
    };
    std::ostringstream o;
    const auto table = [&](const char* table_name, const std::vector<std::string>& references,
                           const std::vector<std::string>& chains) {
        std::vector<std::string> refs, gone;
        for (const auto& r : references)
            if (!kept(target(r))) refs.push_back(r);
        for (const auto& chain : chains)
            if (!kept(chain)) gone.push_back(chain);
        if (refs.empty() && gone.empty()) return;
        o << "*" << table_name << "\n";
        for (const auto& r : refs) o << "-D " << r << "\n";
        for (const auto& chain : gone) o << "-F " << chain << "\n";
        for (const auto& chain : gone) o << "-X " << chain << "\n";
        o << "COMMIT\n";
    };
    table("mangle", existing.references, existing.chains);
    table("filter", existing.filter_references, existing.filter_chains);
    return o.str();
}

void add_counters(const std::string& save_text, const std::string& name, Counters& into, int generation) {
    const auto counted = [&](const std::string& chain) {
        for (int g = 0; g < 2; ++g) {
            if (generation >= 0 && g != generation) continue;
            const ChainNames c = chain_names(name, g);
            if (chain == c.in || chain == c.out || chain == c.src || chain == c.frn) return true;
        }
        return false;
    };
    const std::string queue = name + ":queue", drop_in = name + ":drop-in", drop_out = name + ":drop-out";
    const std::string forged = name + ":forged-src", foreign = name + ":foreign-src";
    for (auto line : lines_of(save_text)) {
        std::uint64_t packets = 0, bytes = 0;
        line = strip_counters(line, &packets, &bytes);
        if (line.compare(0, 3, "-A ") != 0) continue;
        const auto w = words(line);
        if (w.size() < 2 || !counted(w[1])) continue;
        for (std::size_t i = 2; i + 1 < w.size(); ++i) {
            // The queue rules: by their target (no comment since the
            // comment match left the packet path; older rules have both).
            if ((w[i] == "-j" || w[i] == "--jump") && w[i + 1] == "NFQUEUE") {
                into.queued_packets += packets;
                into.queued_bytes += bytes;
                break;
            }
            if (w[i] != "--comment") continue;
            if (w[i + 1] == queue) {
                into.queued_packets += packets;
                into.queued_bytes += bytes;
            } else if (w[i + 1] == drop_in) {
                into.inbound_drop_packets += packets;
                into.inbound_drop_bytes += bytes;
            } else if (w[i + 1] == drop_out) {
                into.egress_drop_packets += packets;
                into.egress_drop_bytes += bytes;
            } else if (w[i + 1] == forged) {
                into.forged_drop_packets += packets;
                into.forged_drop_bytes += bytes;
            } else if (w[i + 1] == foreign) {
                into.foreign_drop_packets += packets;
                into.foreign_drop_bytes += bytes;
            }
            break;
        }
    }
}

}  // namespace ipt

IptablesBackend::IptablesBackend(std::string name, BackendOptions options)
    : rules_name_(std::move(name)), options_(std::move(options)), runner_(runner_for(options_)) {}

std::vector<IptablesBackend::Family> IptablesBackend::families() const {
    std::vector<Family> out{{net::Family::v4, options_.iptables_save, options_.iptables_restore}};
    if (options_.ipv6) out.push_back({net::Family::v6, options_.ip6tables_save, options_.ip6tables_restore});
    return out;
}

bool IptablesBackend::run(const std::vector<std::string>& argv, const std::string& input, std::string* out,
                          std::string& error) {
    const ExecResult r = runner_(argv, input);
    if (!r.ok()) {
        error = describe(argv, r);
        return false;
    }
    if (out) *out = r.out;
    return true;
}

bool IptablesBackend::read_sets(std::vector<ipt::SetState>& sets, std::string& error) {
    std::string out;
    if (!run({options_.ipset, "list", "-t"}, {}, &out, error)) return false;
    sets = ipt::parse_ipset_list(out);
    return true;
}

bool IptablesBackend::check_spec(const RuleSpec& spec, std::string& error) const {
    if (!validate(spec, error)) return false;
    if (spec.name != rules_name_) {
        error = "rule spec is named \"" + spec.name + "\", the backend \"" + rules_name_ + "\"";
        return false;
    }
    if (!options_.ipv6) {
        for (const auto& c : spec.handsets)
            if (c.network.is_v6()) {
                error = "handset network " + c.to_string() + " is IPv6, but ip6tables is not available";
                return false;
            }
    }
    return true;
}

std::vector<std::string> IptablesBackend::restore_command(const Family& f) const {
    std::vector<std::string> argv{f.restore};
    if (options_.xtables_wait_seconds > 0) {
        argv.push_back("-w");
        argv.push_back(std::to_string(options_.xtables_wait_seconds));
    }
    argv.push_back("--noflush");
    return argv;
}

bool IptablesBackend::stage_sets(const std::vector<ipt::SetDef>& wanted, const std::vector<ipt::SetState>& existing,
                                 std::string& error) {
    if (run({options_.ipset, "restore"}, ipt::render_ipset_stage(wanted, existing), nullptr, error)) return true;
    // Nothing the rules use changed; drop the half-filled staging sets and
    // the sets created for this attempt.
    drop_staged_sets(existing);
    return false;
}

void IptablesBackend::drop_staged_sets(const std::vector<ipt::SetState>& existing) {
    std::vector<ipt::SetState> now;
    std::string ignored;
    if (!read_sets(now, ignored)) return;
    std::vector<std::string> leftovers;
    for (const auto& n : ipt::our_sets(rules_name_, now)) {
        const bool staging = n.size() > 4 && n.compare(n.size() - 4, 4, "-new") == 0;
        const bool existed =
            std::any_of(existing.begin(), existing.end(), [&](const ipt::SetState& s) { return s.name == n; });
        if (staging || !existed) leftovers.push_back(n);
    }
    // A new set that a chain left behind still references cannot go; the
    // next install reuses it.
    for (const auto& n : leftovers) run({options_.ipset, "destroy", n}, {}, nullptr, ignored);
}

void IptablesBackend::drop_unlive_chains(const Family& f) {
    std::string save, ignored;
    if (!run({f.save}, {}, &save, ignored)) return;
    const ipt::TableState st = ipt::parse_table(save, rules_name_);
    const std::string text = ipt::render_removal(st, st.live);
    if (!text.empty()) run(restore_command(f), text, nullptr, ignored);
}

// Stage and swap (see the header): sets staged, rules written into the
// generation nothing jumps to, sets swapped, jumps moved family by family,
// the old generation deleted. Any failure before the end puts the jumps and
// the set contents back: the kernel path is the old one again.
bool IptablesBackend::replace_rules(const RuleSpec& spec, const std::vector<ipt::SetDef>& wanted,
                                    const std::vector<ipt::SetState>& existing, std::string& error) {
    if (!stage_sets(wanted, existing, error)) return false;
    const std::vector<Family> fams = families();
    const auto abandon = [&]() {
        for (const auto& f : fams) drop_unlive_chains(f);
        drop_staged_sets(existing);
    };
    struct Staged {
        ipt::TableState before;
        int generation;
    };
    std::vector<Staged> staged;
    for (const auto& f : fams) {
        std::string save;
        if (!run({f.save}, {}, &save, error)) {
            abandon();
            return false;
        }
        Staged s{ipt::parse_table(save, spec.name), 0};
        s.generation = ipt::staging_generation(s.before);
        if (!run(restore_command(f), ipt::render_rules(spec, f.family, s.generation), nullptr, error)) {
            abandon();
            return false;
        }
        staged.push_back(std::move(s));
    }
    // The new contents into place; the staging sets keep the old ones until
    // the jumps have moved. (Only a set vanishing under us fails a swap of
    // two existing sets of one type.)
    if (!run({options_.ipset, "restore"}, ipt::render_ipset_swap(wanted, false), nullptr, error)) {
        abandon();
        return false;
    }
    for (std::size_t i = 0; i < fams.size(); ++i) {
        if (run(restore_command(fams[i]), ipt::render_swap(spec.name, staged[i].before, staged[i].generation), nullptr,
                error))
            continue;
        // Back to the previous generation in every family that moved (this
        // one too: its filter commit may have gone through), then the old
        // set contents.
        std::string ignored;
        for (std::size_t j = 0; j <= i; ++j) {
            std::string save;
            if (!run({fams[j].save}, {}, &save, ignored)) continue;
            run(restore_command(fams[j]),
                ipt::render_swap(spec.name, ipt::parse_table(save, spec.name), staged[j].before.live), nullptr, ignored);
        }
        run({options_.ipset, "restore"}, ipt::render_ipset_swap(wanted, false), nullptr, ignored);
        abandon();
        return false;
    }
    // Live. The old generation goes, its counts kept (when they were ours).
    for (std::size_t i = 0; i < fams.size(); ++i) {
        std::string save, ignored;
        if (!run({fams[i].save, "-c"}, {}, &save, ignored)) continue;
        if (installed_ && staged[i].before.live >= 0)
            ipt::add_counters(save, spec.name, base_, staged[i].before.live);
        const std::string text = ipt::render_removal(ipt::parse_table(save, spec.name), staged[i].generation);
        // Left over if this fails (the lock): the next install deletes it.
        if (!text.empty()) run(restore_command(fams[i]), text, nullptr, ignored);
    }
    std::vector<std::string> staging;
    for (const auto& w : wanted) staging.push_back(ipt::staging_name(w.name));
    std::string ignored;
    run({options_.ipset, "restore"}, ipt::render_ipset_destroy(staging), nullptr, ignored);
    destroy_unwanted_sets(wanted);
    return true;
}

void IptablesBackend::destroy_unwanted_sets(const std::vector<ipt::SetDef>& wanted) {
    std::vector<ipt::SetState> now;
    std::string ignored;
    if (!read_sets(now, ignored)) return;
    std::vector<std::string> unwanted;
    for (const auto& n : ipt::our_sets(rules_name_, now)) {
        if (std::none_of(wanted.begin(), wanted.end(), [&](const ipt::SetDef& w) { return w.name == n; }))
            unwanted.push_back(n);
    }
    // A set still referenced cannot go; it is retried at the next reload.
    for (const auto& n : unwanted) run({options_.ipset, "destroy", n}, {}, nullptr, ignored);
}

bool IptablesBackend::install(const RuleSpec& spec, std::string& error) {
    if (!check_spec(spec, error)) return false;
    const auto wanted = ipt::sets_for(spec, options_.ipv6);
    std::vector<ipt::SetState> existing;
    if (!read_sets(existing, error)) return false;
    std::string mismatch;
    if (!ipt::sets_compatible(wanted, existing, mismatch)) {
        // Left by another version with another type under a name we need:
        // it cannot be swapped, so (the one case) everything of ours is
        // removed before the new rules go in.
        std::string remove_error;
        if (!remove(remove_error)) {
            error = mismatch + "; removing it failed: " + remove_error;
            return false;
        }
        if (!read_sets(existing, error)) return false;
    }
    // Counts of a previous instance's rules are not ours; those of rules
    // this backend installed before are kept.
    if (!installed_) base_ = Counters{};
    // A reload with the same rules, still in place as written: only the set
    // contents change (the common case; a storm of reloads does not rewrite
    // chains). Rules a firewall reload deleted or pushed down are written
    // again.
    bool in_place = installed_;
    for (const auto& f : families()) {
        if (!in_place) break;
        const std::string rendered = ipt::render_rules(spec, f.family);
        std::string save;
        in_place = rendered == installed_rules_[f.family == net::Family::v6 ? 1 : 0] &&
                   run({f.save}, {}, &save, error) &&
                   ipt::rules_in_place(save, ipt::render_rules(spec, f.family, ipt::parse_table(save, spec.name).live),
                                       spec.name);
    }
    if (in_place) return swap_sets(wanted, existing, error);
    if (!replace_rules(spec, wanted, existing, error)) return false;
    for (const auto& f : families())
        installed_rules_[f.family == net::Family::v6 ? 1 : 0] = ipt::render_rules(spec, f.family);
    installed_ = true;
    return true;
}

bool IptablesBackend::update(const RuleSpec& spec, std::string& error) {
    if (!installed_) return install(spec, error);
    if (!check_spec(spec, error)) return false;
    const auto wanted = ipt::sets_for(spec, options_.ipv6);
    std::vector<ipt::SetState> existing;
    if (!read_sets(existing, error)) return false;
    std::string mismatch;
    if (!ipt::sets_compatible(wanted, existing, mismatch)) return install(spec, error);
    bool same_rules = true;
    for (const auto& f : families())
        if (ipt::render_rules(spec, f.family) != installed_rules_[f.family == net::Family::v6 ? 1 : 0])
            same_rules = false;
    if (!same_rules) return install(spec, error);
    // Only addresses changed: the sets are swapped, the rules stay.
    return swap_sets(wanted, existing, error);
}

bool IptablesBackend::swap_sets(const std::vector<ipt::SetDef>& wanted, const std::vector<ipt::SetState>& existing,
                                std::string& error) {
    if (!stage_sets(wanted, existing, error)) return false;
    if (!run({options_.ipset, "restore"}, ipt::render_ipset_swap(wanted), nullptr, error)) {
        drop_staged_sets(existing);
        return false;
    }
    destroy_unwanted_sets(wanted);
    return true;
}

bool IptablesBackend::remove(std::string& error) {
    bool ok = true;
    for (const auto& f : families()) {
        std::string save, e;
        if (!run({f.save}, {}, &save, e)) {
            if (ok) error = e;
            ok = false;
            continue;
        }
        const std::string text = ipt::render_removal(ipt::parse_table(save, rules_name_));
        if (!text.empty() && !run(restore_command(f), text, nullptr, e)) {
            if (ok) error = e;
            ok = false;
        }
    }
    std::vector<ipt::SetState> sets;
    std::string e;
    if (!read_sets(sets, e)) {
        if (ok) error = e;
        return false;
    }
    const auto ours = ipt::our_sets(rules_name_, sets);
    if (!ours.empty() && !run({options_.ipset, "restore"}, ipt::render_ipset_destroy(ours), nullptr, e)) {
        if (ok) error = e;
        ok = false;
    }
    if (ok) {
        installed_ = false;
        installed_rules_ = {};
        base_ = Counters{};
    }
    return ok;
}

bool IptablesBackend::read_counters(Counters& c) {
    for (const auto& f : families()) {
        std::string save, error;
        if (!run({f.save, "-c", "-t", "mangle"}, {}, &save, error)) return false;
        ipt::add_counters(save, rules_name_, c);
    }
    return true;
}

Counters IptablesBackend::counters() {
    Counters c = base_;
    c.ok = read_counters(c);
    return c;
}

}  // namespace vg::kernel
