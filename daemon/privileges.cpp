// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vg::daemon {

namespace {

constexpr std::uint64_t kKeep = (1ull << CAP_NET_ADMIN) | (1ull << CAP_NET_RAW);

bool set_caps(std::uint64_t effective, std::uint64_t permitted, std::uint64_t inheritable, std::string& error) {
    __user_cap_header_struct hdr{};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    __user_cap_data_struct data[2]{};
    data[0].effective = static_cast<std::uint32_t>(effective);
    data[1].effective = static_cast<std::uint32_t>(effective >> 32);
    data[0].permitted = static_cast<std::uint32_t>(permitted);
    data[1].permitted = static_cast<std::uint32_t>(permitted >> 32);
    data[0].inheritable = static_cast<std::uint32_t>(inheritable);
    data[1].inheritable = static_cast<std::uint32_t>(inheritable >> 32);
    if (syscall(SYS_capset, &hdr, data) != 0) {
        error = std::string("capset: ") + std::strerror(errno);
        return false;
    }
    return true;
}

int last_cap() {
    std::ifstream f("/proc/sys/kernel/cap_last_cap");
    int n = CAP_LAST_CAP;
    if (f) f >> n;
    return n;
}

}  // namespace

bool drop_privileges(const std::string& user, std::string& error) {
    // Bounding set first: nothing dropped here can come back, not even
    // through a set-uid program run later.
    const int last = last_cap();
    for (int c = 0; c <= last; ++c) {
        if (kKeep & (1ull << c)) continue;
        // Already outside the bounding set (systemd's CapabilityBoundingSet,
        // procd): nothing to drop, and without CAP_SETPCAP we could not.
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0) continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
            error = std::string("dropping capability ") + std::to_string(c) + " from the bounding set: " +
                    std::strerror(errno);
            return false;
        }
    }
    if (!user.empty()) {
        errno = 0;
        const passwd* pw = getpwnam(user.c_str());
        if (pw == nullptr) {
            error = "unknown user '" + user + "'";
            return false;
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 ||
            setuid(pw->pw_uid) != 0) {
            error = "switching to user '" + user + "': " + std::strerror(errno);
            return false;
        }
        if (setuid(0) == 0) {
            error = "switched to user '" + user + "' but could regain root";
            return false;
        }
    }
    if (!set_caps(kKeep, kKeep, kKeep, error)) return false;
    if (!user.empty()) {
        // Children (iptables-restore, ipset, nft) run as the same user and
        // need the two capabilities too.
        for (int c : {CAP_NET_ADMIN, CAP_NET_RAW}) {
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0) {
                error = std::string("raising ambient capability: ") + std::strerror(errno);
                return false;
            }
        }
    }
    return true;
}

std::string capability_summary() {
    std::ifstream f("/proc/self/status");
    std::string line, out;
    while (std::getline(f, line)) {
        if (line.rfind("CapEff:", 0) == 0 || line.rfind("CapPrm:", 0) == 0 || line.rfind("CapBnd:", 0) == 0 ||
            line.rfind("CapAmb:", 0) == 0) {
            std::istringstream in(line);
            std::string key, value;
            in >> key >> value;
            if (!out.empty()) out += ' ';
            key.pop_back();
            out += key + "=" + value;
        }
    }
    return out;
}

}  // namespace vg::daemon
