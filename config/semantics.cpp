// SPDX-License-Identifier: GPL-2.0-or-later
// Checks across keys and files, on the built Policy and the merged view they
// came from: at least one PBX, peer names unique over all files, host names
// that resolve (resolver.cpp), the schedule's time zone read now (its rules,
// so the engine never asks the C library), in enforce mode no PBX address
// inside a handset network; then the warnings (risky but legal settings).
// Part of the loader (see config/loader_internal.h).
#include "config/loader_internal.h"

#include "config/schema.h"
#include "config/time_zone.h"

#include <cstdlib>
#include <map>

namespace vg::config::detail {

void check_semantics(View& view, Policy& p, const LoadOptions& opt, std::vector<Diagnostic>& out) {
    const Layer& site = view.site();
    auto at = [&](const Val& v, const std::string& path, Diagnostic::Severity sev, std::string msg) {
        if (v.node && v.layer) out.push_back({sev, v.layer->file, v.node->line, v.node->column, path, std::move(msg)});
        else out.push_back({sev, site.file, site.root->line, site.root->column, path, std::move(msg)});
    };

    // At least one PBX after merging.
    if (p.peers.pbx.empty()) {
        const YNode* peers = find_in(site.root.get(), "peers");
        Val where{peers ? peers : site.root.get(), &site};
        at(where, "peers.pbx", kError,
               peers ? "at least one PBX is required" : "required key is missing (at least one PBX is required)");
    }

    // Peer names are unique over all files and lists.
    std::map<std::string, Val> names;
    for (const char* list : {"peers.pbx", "peers.support", "egress.allow"}) {
        for (const auto& it : view.items(list)) {
            const Val name = view.field(it, "name", std::string(list) + "[].name");
            if (!name.node || name.is_default()) continue;
            const auto [pos, inserted] = names.emplace(name.node->value, name);
            if (!inserted) {
                const Origin first = origin_of(pos->second);
                at(name, item_path(list, it.index) + ".name", kError,
                   "duplicate peer name '" + name.node->value + "' (first at " +
                       (first.file == name.layer->file ? std::to_string(first.line) + ":" + std::to_string(first.column)
                                                       : first.to_string()) +
                       ")");
            }
        }
    }

    // Host names: resolved now; a name that never resolved is an error.
    if (opt.resolve_host_names) resolve_host_names(p, opt, out);

    // The schedule's time zone: its rules are read now, so the engine never
    // asks the C library (which would mean writing TZ into the environment).
    if (p.toll_fraud.out_of_hours.enabled) {
        std::string error;
        std::string dir = opt.zoneinfo_dir;
        if (dir.empty()) {
            const char* env = std::getenv("TZDIR");
            dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
        }
        if (auto z = load_time_zone(p.toll_fraud.out_of_hours.timezone, dir, error))
            p.toll_fraud.out_of_hours.zone = std::move(*z);
        else
            at(view.get("toll_fraud.out_of_hours.timezone"), "toll_fraud.out_of_hours.timezone", kError,
               "unknown time zone '" + p.toll_fraud.out_of_hours.timezone + "': " + error);
    }

    // Enforce: the handset networks may not contain a PBX address.
    if (p.mode == Mode::enforce) {
        for (std::size_t h = 0; h < p.handsets.networks.size(); ++h) {
            const auto& net = p.handsets.networks[h];
            const auto& ho = p.handsets.network_origins[h];
            for (const auto& pbx : p.peers.pbx) {
                for (const auto& a : pbx.addresses) {
                    for (const auto& c : a.prefixes()) {
                        if (!net.overlaps(c)) continue;
                        out.push_back({kError, ho.file, ho.line, ho.column, "handsets.networks[" + std::to_string(h) + "]",
                                       net.to_string() + " overlaps " + c.to_string() + " of PBX '" + pbx.name +
                                           "' (at " + a.origin.to_string() +
                                           "); in enforce mode the handset network may not contain a PBX address"});
                    }
                }
            }
        }
    }

    // Warnings: risky but legal.
    if (p.mode == Mode::enforce && p.on_failure == OnFailure::open) {
        const Val v = view.get("on_failure");
        at(v, "on_failure", kWarning,
           std::string(v.is_default() ? "'open' (the default) " : "'open' ") +
               "with mode 'enforce': while the daemon is stopped or its queue is full the kernel lets voice traffic "
               "through unchecked; set on_failure: closed to drop it instead (calls then fail until the daemon is back)");
    }
    if (p.mode == Mode::enforce && !p.egress.allow_list) {
        const Val v = view.get("egress.mode");
        at(v, "egress.mode", kWarning,
           "no egress allow-list: handsets may reach any destination except with SIP (which may reach only the PBX); "
           "set egress.mode: allow_list and list NTP, provisioning and firmware servers in egress.allow");
    }
    for (const auto& it : view.items("peers.support")) {
        for (const auto& port : view.field_items(it, "ports", "peers.support[].ports")) {
            const auto sp = parse_service_port(text_of(port));
            if (!sp) continue;
            struct Risky {
                Transport t;
                std::uint16_t port;
                const char* what;
            };
            static constexpr Risky kRisky[] = {{Transport::tcp, 23, "telnet (clear-text passwords)"},
                                               {Transport::tcp, 21, "FTP (clear-text passwords)"},
                                               {Transport::udp, 69, "TFTP (no authentication)"},
                                               {Transport::tcp, 513, "rlogin (clear-text)"},
                                               {Transport::tcp, 514, "rsh (no authentication)"}};
            for (const auto& r : kRisky)
                if (sp->transport == r.t && sp->ports.contains(r.port))
                    at(port, item_path("peers.support", it.index) + ".ports[" + std::to_string(port.index) + "]",
                       kWarning,
                       std::string(to_string(r.t)) + "/" + std::to_string(r.port) + " is " + r.what +
                           "; prefer an encrypted service such as tcp/22 or tcp/443");
        }
    }
    if (p.toll_fraud.enabled && p.toll_fraud.allow_list && p.toll_fraud.allow_prefixes.empty()) {
        at(view.get("toll_fraud.mode"), "toll_fraud.mode", kWarning,
           "allow_list with no allow_prefixes: only emergency numbers can be called");
    }
    if (p.toll_fraud.enabled && p.toll_fraud.country_code.empty()) {
        const Val v = view.get("toll_fraud");
        std::string msg =
            "not set: numbers dialled in international form (+..., or with the "
            "international prefix " + p.toll_fraud.international_prefix +
            "), the built-in high-risk list and every limit are enforced, but national numbers cannot be "
            "normalised";
        msg += p.toll_fraud.allow_list ? ": in allow_list mode they are denied unless an allow prefix matches them as "
                                         "dialled"
                                       : ": deny prefixes in national form match them only as dialled, `+` prefixes "
                                         "never";
        msg += "; set it to the site's country calling code (\"44\", \"1\")";
        at(v, "toll_fraud.country_code", kWarning, msg);
    }
}

}  // namespace vg::config::detail
