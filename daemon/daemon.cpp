// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/loader.h"
#include "daemon/control.h"
#include "daemon/json.h"
#include "daemon/kernel/backend.h"
#include "daemon/kernel/mark_check.h"
#include "daemon/kernel/rule_spec.h"
#include "daemon/logging.h"
#include "daemon/netlink/conntrack.h"
#include "daemon/netlink/nflog.h"
#include "daemon/netlink/nfqueue.h"
#include "daemon/netlink/route.h"
#include "daemon/privileges.h"
#include "filters/engine/engine.h"
#include "filters/net/packet.h"

#ifndef VOIPGUARD_VERSION
#define VOIPGUARD_VERSION "unknown"
#endif

namespace vg::daemon {

namespace {

using engine::Timestamp;

// The secret of the engine's dialog keys (filters/engine/calls.h), drawn once
// per start so a sender cannot choose Call-IDs whose keys collide. It never
// blocks a start: before the kernel's pool is initialised (early boot on a
// router) getrandom(GRND_NONBLOCK) fails and /dev/urandom's bytes are the
// best there is; the clock and the PID are the last resort.
engine::SipHashKey dialog_secret() {
    std::uint8_t b[16] = {};
    std::size_t got = 0;
    while (got < sizeof b) {
        const ssize_t n = getrandom(b + got, sizeof b - got, GRND_NONBLOCK);
        if (n > 0) got += static_cast<std::size_t>(n);
        else if (n == 0 || errno != EINTR) break;
    }
    if (got < sizeof b) {
        const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            while (got < sizeof b) {
                const ssize_t n = ::read(fd, b + got, sizeof b - got);
                if (n > 0) got += static_cast<std::size_t>(n);
                else if (n == 0 || errno != EINTR) break;
            }
            ::close(fd);
        }
    }
    engine::SipHashKey key = engine::SipHashKey::from_bytes(b);
    if (got < sizeof b) {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        key.k0 ^= static_cast<std::uint64_t>(ts.tv_nsec) * 0x9e3779b97f4a7c15ull;
        key.k1 ^= (static_cast<std::uint64_t>(ts.tv_sec) << 20) ^ static_cast<std::uint64_t>(getpid());
    }
    return key;
}

// Durations (the engine's timeouts and buckets, log aggregation, control
// timeouts) run on CLOCK_MONOTONIC: a router without a real-time clock steps
// CLOCK_REALTIME by years when its time is first synchronised.
Timestamp mono_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Timestamp{} + std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Both clocks for the engine (filters/engine/timestamp.h): the monotonic one,
// and wall time for the calendar rules (business hours).
engine::Now clock_now() {
    timespec wall{};
    clock_gettime(CLOCK_REALTIME, &wall);
    return engine::Now{mono_now(), static_cast<engine::UnixSeconds>(wall.tv_sec)};
}

std::int64_t mono_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

// A loaded, validated and compiled policy.
struct LoadedPolicy {
    std::shared_ptr<config::Policy> policy;
    std::shared_ptr<const engine::CompiledPolicy> rules;
    std::vector<std::string> errors;
    std::size_t warnings = 0;
};

LoadedPolicy load_policy(const std::string& path) {
    LoadedPolicy out;
    config::LoadResult r = config::load_policy_file(path);
    for (const config::Diagnostic& d : r.diagnostics) {
        if (d.severity == config::Diagnostic::Severity::error) out.errors.push_back(d.format());
        else ++out.warnings;
    }
    if (!r.ok()) return out;
    out.policy = std::make_shared<config::Policy>(std::move(*r.policy));
    std::string error;
    out.rules = engine::CompiledPolicy::compile(out.policy, error);
    if (!out.rules) out.errors.push_back(path + ": " + error);
    return out;
}

LogOptions log_options(const RunOptions& o, const config::Policy& p) {
    LogOptions l;
    l.to_stderr = o.log_stderr;
    apply_policy(l, p);
    return l;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
}

const char* proto_text(std::uint8_t p) {
    switch (p) {
    case net::ipproto::udp: return "udp";
    case net::ipproto::tcp: return "tcp";
    case net::ipproto::icmp: return "icmp";
    case net::ipproto::icmpv6: return "icmpv6";
    default: return "ip";
    }
}

class Daemon;

// Routes the engine's events to the log, and closed pinholes to conntrack.
class DaemonSink : public engine::EventSink {
public:
    DaemonSink(Log& log, netlink::Conntrack& ct, std::uint32_t mark, std::uint32_t mask)
        : log_(log), ct_(ct), mark_(mark), mask_(mask) {}
    void on_event(const engine::Event& e) override {
        log_.on_event(e);
        if (!ct_.is_open()) return;
        if (e.type == engine::EventType::pinhole_closed) close_flows(e);
        // A call begun before a restart was hung up: its media's verified
        // flows (the engine has no pinhole for them) lose their fast path.
        if (e.type == engine::EventType::call_ended && e.detail == std::string_view("unknown_dialog"))
            if (auto n = ct_.delete_marked_by_address(e.handset, mark_, mask_, net::ipproto::udp)) conntrack_deleted += *n;
    }
    std::uint64_t conntrack_deleted = 0;

private:
    // The pinhole is gone: so must every conntrack entry on the handset's
    // port (and with them the verified mark that let their packets take the
    // fast path), so the next packet is judged again and dropped. Every flow
    // on that port was judged by the engine when it began (media from the
    // PBX, and media the handset sent first, which is verified too), but the
    // pinhole names at most the first inbound one: a table dump filtered on
    // the endpoint finds them all.
    void close_flows(const engine::Event& e) {
        if (auto n = ct_.delete_by_endpoint(e.handset, e.handset_port, net::ipproto::udp)) conntrack_deleted += *n;
    }
    Log& log_;
    netlink::Conntrack& ct_;
    std::uint32_t mark_;   // the verified value under mask_
    std::uint32_t mask_;
};

class Daemon {
public:
    explicit Daemon(const RunOptions& o) : opt_(o) {}
    int run();

private:
    bool setup_loop(std::string& error);
    void watch(int fd, unsigned interest);
    void on_queue(const engine::Now& now);
    void on_nflog(const engine::Now& now);
    void on_timer(const engine::Now& now);
    bool reload(std::string& summary);
    // What stays in the kernel while the daemon does not run (see
    // leave_kernel() below); a failed start: that, then exit code 1.
    bool leave_kernel(const config::Policy& p, bool install_barrier, std::string& what);
    int fail_start(const config::Policy& p, bool install_barrier);
    std::string handle(const control::Request& r);
    std::string status_text(bool json);
    std::string calls_text(bool json);
    std::string handsets_text(bool json);
    // The rule spec of a policy; the voice interfaces from the routes when
    // the policy does not list them. False with `error` when a handset
    // network cannot be bound to an interface.
    bool spec_for(const config::Policy& p, kernel::RuleSpec& out, std::string& error) const;
    bool check_marks(std::string& error);
    void stats_line();

    RunOptions opt_;
    LoadedPolicy current_;
    std::unique_ptr<Log> log_;
    std::unique_ptr<engine::Engine> engine_;
    std::unique_ptr<kernel::RuleBackend> backend_;
    std::string backend_why_;
    netlink::NfQueue queue_;
    netlink::NflogListener nflog_;
    netlink::Conntrack conntrack_;
    std::unique_ptr<DaemonSink> sink_;
    std::unique_ptr<control::Server> control_;
    int epoll_ = -1;
    int signal_fd_ = -1;
    int timer_fd_ = -1;
    bool running_ = true;
    std::int64_t started_ = 0;
    std::int64_t last_stats_ = 0;
    std::int64_t last_dns_ = 0;
    std::uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
    std::uint64_t undecodable_ = 0;
    std::vector<std::uint32_t> deferred_;   // plain accepts of the current drain
    std::uint64_t kernel_samples_ = 0;
    std::vector<std::string> voice_interfaces_;   // of the installed rules
};

bool Daemon::spec_for(const config::Policy& p, kernel::RuleSpec& out, std::string& error) const {
    kernel::RuleSpec base;
    base.name = opt_.name;
    base.mark_mask = opt_.mark_mask;
    base.verified_mark = opt_.verified_mark;
    base.reset_mark = opt_.reset_mark;
    base.nflog_group = opt_.nflog_group;
    out = kernel::rule_spec_from_policy(p, opt_.queue, base);
    if (!out.voice_interfaces.empty()) return true;
    // handsets.interfaces is empty: what the routes say, now.
    std::vector<netlink::RoutedNetwork> routed;
    if (!netlink::interfaces_from_routes(p.handsets.networks, routed, error)) {
        error = "handsets.interfaces is not set and the routes cannot be read (" + error + ")";
        return false;
    }
    for (const auto& r : routed) {
        if (r.interface.empty()) {
            error = "handsets.networks: " + r.why + ": the network cannot be bound to a voice interface; set "
                    "handsets.interfaces";
            return false;
        }
        if (std::find(out.voice_interfaces.begin(), out.voice_interfaces.end(), r.interface) == out.voice_interfaces.end())
            out.voice_interfaces.push_back(r.interface);
    }
    return true;
}

// No other rule of the router may write our mark values (or copy packet
// data into our mask): it would give an attacker's flow the fast path.
bool Daemon::check_marks(std::string& error) {
    kernel::MarkSignature sig;
    sig.mask = opt_.mark_mask;
    sig.verified = opt_.verified_mark;
    sig.reset = opt_.reset_mark;
    const kernel::MarkCheck c = kernel::check_router_marks(kernel::BackendOptions{}, opt_.name, sig);
    for (const std::string& e : c.errors) {
        std::string line = "VG_MARK_CHECK_FAILED";
        append_field(line, "site", log_->site());
        append_field(line, "error", e);
        log_->write(Severity::warning, line);
    }
    std::size_t conflicts = 0;
    for (const kernel::MarkFinding& f : c.findings) {
        const bool conflict = f.kind == kernel::MarkFinding::Kind::conflict;
        std::string line = conflict ? "VG_MARK_CONFLICT" : "VG_MARK_OVERLAP";
        append_field(line, "site", log_->site());
        append_field(line, "mark", kernel::mark_text(sig.verified) + "/" + kernel::mark_text(sig.mask));
        append_field(line, "rule", f.rule);
        append_field(line, "why", f.why);
        log_->write(conflict ? Severity::error : Severity::warning, line);
        if (conflict) ++conflicts;
    }
    if (conflicts == 0) return true;
    error = std::to_string(conflicts) + " rule" + (conflicts == 1 ? "" : "s") + " of the router can write voipguard's mark " +
            kernel::mark_text(sig.verified) + "/" + kernel::mark_text(sig.mask) +
            " (see VG_MARK_CONFLICT in the log); choose another --mark VALUE/MASK";
    return false;
}

void Daemon::watch(int fd, unsigned interest) {
    epoll_event ev{};
    ev.data.fd = fd;
    ev.events = ((interest & control::kRead) ? EPOLLIN : 0u) | ((interest & control::kWrite) ? EPOLLOUT : 0u);
    if (interest == control::kNone) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
        return;
    }
    if (epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
}

bool Daemon::setup_loop(std::string& error) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal(SIGPIPE, SIG_IGN);
    signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll_ < 0 || signal_fd_ < 0 || timer_fd_ < 0) {
        error = std::string("event loop set-up: ") + std::strerror(errno);
        return false;
    }
    itimerspec its{};
    its.it_interval.tv_sec = 1;
    its.it_value.tv_sec = 1;
    timerfd_settime(timer_fd_, 0, &its, nullptr);
    for (int fd : {signal_fd_, timer_fd_, queue_.fd(), nflog_.fd()}) watch(fd, control::kRead);
    return true;
}

int Daemon::run() {
    started_ = mono_seconds();
    last_stats_ = last_dns_ = started_;

    // 1. The policy.
    current_ = load_policy(opt_.policy_path);
    // A policy that is only missing DNS answers (host names that do not
    // resolve yet, typical at boot) is a runtime failure the supervisor
    // should retry (exit 1), after its on_failure is applied with what is
    // known; anything else is a bad policy (exit 2) about which nothing is
    // known: the kernel is left as it is (a previous barrier stays).
    std::optional<config::Policy> unresolved;
    if (!current_.rules) {
        for (const std::string& e : current_.errors) std::fprintf(stderr, "%s\n", e.c_str());
        config::LoadOptions syntax_only;
        syntax_only.resolve_host_names = false;
        config::LoadResult r = config::load_policy_file(opt_.policy_path, syntax_only);
        if (!r.ok()) {
            std::fprintf(stderr, "voipguard run: %s: policy not loaded, the kernel is left as it is\n",
                         opt_.policy_path.c_str());
            return 2;
        }
        unresolved = std::move(r.policy);
    }
    const config::Policy& pol = unresolved ? *unresolved : *current_.policy;
    log_ = std::make_unique<Log>(log_options(opt_, pol));

    // 2. The kernel: which backend, and why.
    const kernel::ProbeResult probe = kernel::probe();
    const kernel::BackendKind kind = kernel::choose_backend(probe, opt_.backend, backend_why_);
    if (kind == kernel::BackendKind::none) {
        log_->write(Severity::error, "VG_BACKEND_UNAVAILABLE requested=" + opt_.backend + " why=\"" + backend_why_ + "\"");
        std::fprintf(stderr, "voipguard run: no usable rule backend: %s\n", backend_why_.c_str());
        return 1;
    }
    kernel::BackendOptions bo;
    bo.ipv6 = probe.ip6tables || kind == kernel::BackendKind::nftables;
    backend_ = kernel::make_backend(kind, opt_.name, bo);
    log_->backend(backend_->name(), backend_why_);
    if (unresolved) {
        std::fprintf(stderr, "voipguard run: %s: host names do not resolve yet\n", opt_.policy_path.c_str());
        return fail_start(pol, true);
    }

    // 3. Rules (replacing those of a crashed instance), then the queue.
    std::string error;
    if (!check_marks(error)) {
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, true);
    }
    kernel::RuleSpec spec;
    if (!spec_for(pol, spec, error)) {
        log_->write(Severity::error, "VG_RULES_FAILED backend=" + backend_->name() + " error=\"" + error + "\"");
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, true);
    }
    {
        std::string line = "VG_VOICE_INTERFACES";
        append_field(line, "site", log_->site());
        append_field(line, "interfaces", join(spec.voice_interfaces));
        append_field(line, "source", pol.handsets.interfaces.empty() ? "routes" : "policy");
        log_->write(Severity::info, line);
    }
    voice_interfaces_ = spec.voice_interfaces;
    if (!backend_->install(spec, error)) {
        log_->write(Severity::error, "VG_RULES_FAILED backend=" + backend_->name() + " error=\"" + error + "\"");
        std::fprintf(stderr, "voipguard run: installing kernel rules: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    netlink::NfQueueOptions qo;
    qo.queue = opt_.queue;
    qo.fail_open = pol.on_failure == config::OnFailure::open;
    qo.fallback_verdict = qo.fail_open ? netlink::Verdict::accept : netlink::Verdict::drop;
    netlink::NflogOptions lo;
    lo.group = opt_.nflog_group;
    if (!queue_.open(qo) || !nflog_.open(lo) || !conntrack_.open()) {
        error = !queue_.is_open() ? "queue: " + queue_.error()
                : !nflog_.is_open() ? "nflog: " + nflog_.error()
                                    : "conntrack: " + conntrack_.error();
        log_->write(Severity::error, "VG_NETLINK_FAILED error=\"" + error + "\"");
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    sink_ = std::make_unique<DaemonSink>(*log_, conntrack_, opt_.verified_mark, opt_.mark_mask);
    engine::EngineLimits limits;
    if (opt_.max_dialogs != 0) limits.max_dialogs = opt_.max_dialogs;
    limits.dialog_key = dialog_secret();
    engine_ = std::make_unique<engine::Engine>(current_.rules, limits);
    // Packets can arrive before the bind is acknowledged; they wait in the
    // queue object until the first drain.
    on_queue(clock_now());

    if (!setup_loop(error)) {
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    control::ServerOptions so;
    so.path = opt_.control_path.empty() ? control::kDefaultSocketPath : opt_.control_path;
    control_ = std::make_unique<control::Server>(
        so, [this](const control::Request& r) { return handle(r); },
        [this](control::Rejection why, std::string_view detail, std::int64_t uid, std::int64_t pid) {
            log_->control_rejected(control::rejection_name(why), detail, uid, pid, mono_now());
        },
        [this](int fd, unsigned interest) { watch(fd, interest); });
    if (!control_->open(&error)) {
        log_->write(Severity::error, "VG_CONTROL_FAILED error=\"" + error + "\"");
        std::fprintf(stderr, "voipguard run: control socket: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    watch(control_->listen_fd(), control::kRead);

    // 4. Keep only what the loop needs.
    if (!drop_privileges(opt_.user, error)) {
        log_->write(Severity::error, "VG_PRIVILEGES_FAILED error=\"" + error + "\"");
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    StartInfo si;
    si.version = VOIPGUARD_VERSION;
    si.mode = config::to_string(pol.mode);
    const std::string backend_name = backend_->name();
    si.backend = backend_name;
    si.on_failure = config::to_string(pol.on_failure);
    si.policy = opt_.policy_path;
    log_->start(si);
    log_->write(Severity::info, "VG_PRIVILEGES " + capability_summary());

    // 5. The loop.
    epoll_event events[32];
    while (running_) {
        const int n = epoll_wait(epoll_, events, 32, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            log_->write(Severity::error, std::string("VG_LOOP_FAILED error=\"") + std::strerror(errno) + "\"");
            break;
        }
        const engine::Now now = clock_now();
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == queue_.fd()) {
                on_queue(now);
            } else if (fd == nflog_.fd()) {
                on_nflog(now);
            } else if (fd == timer_fd_) {
                std::uint64_t expirations = 0;
                while (read(timer_fd_, &expirations, sizeof expirations) > 0) {
                }
                on_timer(now);
            } else if (fd == signal_fd_) {
                signalfd_siginfo si_buf{};
                while (read(signal_fd_, &si_buf, sizeof si_buf) == static_cast<ssize_t>(sizeof si_buf)) {
                    if (si_buf.ssi_signo == SIGHUP) {
                        std::string summary;
                        reload(summary);
                    } else {
                        running_ = false;
                    }
                }
            } else if (control_ && fd == control_->listen_fd()) {
                control_->on_readable(fd, now.mono);
            } else if (control_) {
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) control_->on_readable(fd, now.mono);
                if (events[i].events & EPOLLOUT) control_->on_writable(fd, now.mono);
            }
        }
    }

    // 6. Shutdown: on_failure says what stays in the kernel.
    const Timestamp now = mono_now();
    control_.reset();
    queue_.close();
    nflog_.close();
    std::string what;
    const bool left = leave_kernel(*current_.policy, true, what);
    log_->shutdown("signal, " + what);
    log_->flush_all(now);
    return left ? 0 : 1;
}

// While voipguard does not run, on_failure decides (README "While voipguard
// is not running"). closed: the barrier stays, voipguard's own rules with
// nothing bound to their queue, which has no bypass: everything they would
// queue (SIP from the PBX, new media, handset TCP and UDP) is dropped by the
// kernel, the kernel's own drops go on, flows verified before keep their
// fast path until conntrack forgets them, and the next successful start
// swaps in the full rules (install() replaces them without a gap). With
// `install_barrier` they are (re)installed from `p` (at a stop: whatever a
// firewall reload left; at a failed start: what the policy says without
// the host names that do not resolve, the handset networks unbound when
// the routes cannot bind them); if that fails, what the kernel has stays.
// Only `voipguard uninstall` removes the barrier. open: every rule and set
// goes, the voice network passes unchecked.
bool Daemon::leave_kernel(const config::Policy& p, bool install_barrier, std::string& what) {
    std::string error;
    if (p.on_failure == config::OnFailure::open) {
        if (backend_->remove(error)) {
            what = "rules removed (on_failure open)";
            return true;
        }
        log_->write(Severity::error, "VG_RULES_REMOVE_FAILED error=\"" + error + "\"");
        what = "rules not all removed";
        return false;
    }
    std::string line = "VG_BARRIER";
    append_field(line, "site", log_->site());
    bool ok = true;
    if (install_barrier) {
        kernel::RuleSpec spec;
        if (!spec_for(p, spec, error)) {
            kernel::RuleSpec base;
            base.name = opt_.name;
            base.mark_mask = opt_.mark_mask;
            base.verified_mark = opt_.verified_mark;
            base.reset_mark = opt_.reset_mark;
            base.nflog_group = opt_.nflog_group;
            spec = kernel::rule_spec_from_policy(p, opt_.queue, base);
        }
        ok = backend_->install(spec, error);
    }
    append_field(line, "action", !install_barrier ? "kept" : ok ? "installed" : "failed");
    if (!ok) append_field(line, "error", error);
    log_->write(ok ? Severity::notice : Severity::error, line);
    what = !ok ? "barrier not installed: " + error : "barrier left (on_failure closed)";
    return ok;
}

int Daemon::fail_start(const config::Policy& p, bool install_barrier) {
    std::string what;
    leave_kernel(p, install_barrier, what);
    std::fprintf(stderr, "voipguard run: not started; %s\n", what.c_str());
    return 1;
}

void Daemon::on_queue(const engine::Now& now) {
    // Plain accepts (most SIP) are answered together with one batch verdict
    // per drain, which accepts every packet up to the highest id still
    // queued; drops and accepts that set the verified mark are answered one
    // by one at once. Ids rise in queue order, and every packet this drain
    // handed over without its own verdict is a plain accept, so the batch
    // covers exactly those. One verdict message instead of one per packet is
    // what lets the daemon keep up with bursts (as the trivial NFQUEUE
    // program in tests/bench does).
    // Our bits of the packet mark are replaced, the router's are kept.
    const auto with_mark = [&](std::uint32_t old, std::uint32_t value) { return (old & ~opt_.mark_mask) | value; };
    std::uint32_t batch_max = 0;
    bool batch_pending = false;
    bool batch_blocked = false;
    deferred_.clear();
    queue_.drain([&](const netlink::QueuedPacket& qp) {
        const net::DecodedPacket p = net::decode_ip(qp.payload, qp.payload_len);
        if (!p.ok() && !p.src.valid()) ++undecodable_;
        const engine::Decision d = engine_->process(p, now, *sink_);
        switch (d.verdict) {
        case engine::Verdict::accept:
            batch_max = qp.id;
            batch_pending = true;
            deferred_.push_back(qp.id);
            return;
        case engine::Verdict::accept_verified:
        case engine::Verdict::drop: {
            // accept_verified: the packet mark; our postrouting rule copies
            // it to the conntrack mark, so the rest of the flow stays in the
            // kernel. Each is an individual verdict (with its mark).
            //
            // A drop with reset (a cut SIP-over-TCP stream): the packet goes
            // on with the reset mark, and our filter-priority rule rejects it
            // with a TCP reset to the sender. Only for TCP (the rule matches
            // nothing else: any other packet would pass) and never in
            // monitor mode.
            const bool reset = d.verdict == engine::Verdict::drop && d.reset && p.protocol == net::ipproto::tcp &&
                               current_.policy->mode != config::Mode::monitor;
            const bool drop = d.verdict == engine::Verdict::drop && !reset;
            const auto v = drop ? netlink::Verdict::drop : netlink::Verdict::accept;
            const std::optional<std::uint32_t> mark =
                drop ? std::nullopt
                     : std::optional<std::uint32_t>(with_mark(qp.mark, reset ? opt_.reset_mark : opt_.verified_mark));
            // A verdict that could not be sent leaves the packet queued; it
            // must not fall under the batch accept below.
            if (!queue_.verdict(qp.id, v, mark) && !queue_.verdict(qp.id, v, mark)) batch_blocked = true;
            return;
        }
        }
    });
    if (batch_pending && !batch_blocked) {
        if (!queue_.verdict_batch(batch_max, netlink::Verdict::accept)) batch_blocked = true;
    }
    if (batch_pending && batch_blocked) {
        // Without the batch, each deferred accept gets its own verdict.
        for (std::uint32_t id : deferred_) queue_.verdict(id, netlink::Verdict::accept);
    }
    deferred_.clear();
}

void Daemon::on_nflog(const engine::Now& now) {
    nflog_.drain([&](const netlink::LoggedPacket& lp) {
        ++kernel_samples_;
        const net::DecodedPacket p = net::decode_ip(lp.payload, lp.payload_len);
        if (!p.src.valid()) return;
        const engine::Engine::SipSummary sip = engine_->observe_kernel_drop(p, now, *sink_);
        const std::string src = p.src.to_string(), dst = p.dst.to_string();
        KernelDropInfo k;
        k.source = src;
        k.source_port = p.src_port;
        k.destination = dst;
        k.destination_port = p.dst_port;
        k.protocol = proto_text(p.protocol);
        // The rules' log prefixes are kernel::nflog_prefix(name, "drop-in" |
        // "drop-out"): the same reasons the engine would give.
        std::string_view prefix = lp.prefix;
        while (!prefix.empty() && (prefix.back() == ' ' || prefix.back() == '\0')) prefix.remove_suffix(1);
        // The voice-interface binding: forged and foreign sources are events
        // of their own (VG_FORGED_SOURCE / VG_FOREIGN_SOURCE, aggregated per
        // source), with the input interface as detail.
        const bool forged = prefix == kernel::nflog_prefix(opt_.name, "forged-src");
        if (forged || prefix == kernel::nflog_prefix(opt_.name, "foreign-src")) {
            engine::Event e;
            e.type = forged ? engine::EventType::forged_source : engine::EventType::foreign_source;
            e.time = now.mono;
            e.source = p.src;
            e.destination = p.dst;
            e.source_port = p.src_port;
            e.destination_port = p.dst_port;
            e.protocol = p.protocol;
            char name[IF_NAMESIZE] = {};
            if (lp.indev != 0 && if_indextoname(lp.indev, name) != nullptr) engine::assign_truncated(e.detail, name);
            else if (lp.indev != 0) engine::assign_truncated(e.detail, "ifindex" + std::to_string(lp.indev));
            e.monitor = current_.policy->mode == config::Mode::monitor;
            log_->on_event(e);
            return;
        }
        if (prefix == kernel::nflog_prefix(opt_.name, "drop-in")) k.reason = engine::reason_name(engine::Reason::unlisted_source);
        else if (prefix == kernel::nflog_prefix(opt_.name, "drop-out")) k.reason = engine::reason_name(engine::Reason::egress_denied);
        else k.reason = prefix;
        k.method = sip.method;
        k.user_agent = sip.user_agent;
        log_->kernel_drop(k, now.mono);
    });
}

void Daemon::on_timer(const engine::Now& now) {
    engine_->tick(now, *sink_);
    log_->flush(now.mono);
    if (control_) control_->tick(now.mono);
    const std::int64_t mono = mono_seconds();
    if (opt_.stats_interval > 0 && mono - last_stats_ >= static_cast<std::int64_t>(opt_.stats_interval)) {
        last_stats_ = mono;
        stats_line();
    }
    // Host names in the policy: refreshed every dns.refresh; a failed
    // lookup keeps the last good addresses (and warns).
    const auto refresh = current_.policy->dns.refresh.count();
    if (refresh > 0 && mono - last_dns_ >= refresh) {
        last_dns_ = mono;
        auto copy = std::make_shared<config::Policy>(*current_.policy);
        const config::RefreshResult rr = config::refresh_host_names(*copy, config::system_resolve);
        for (const config::Diagnostic& d : rr.warnings) log_->write(Severity::warning, "VG_DNS_REFRESH_FAILED " + d.format());
        if (rr.changed) {
            std::string error;
            auto rules = engine::CompiledPolicy::compile(copy, error);
            kernel::RuleSpec spec;
            if (rules && spec_for(*copy, spec, error) && backend_->update(spec, error)) {
                voice_interfaces_ = spec.voice_interfaces;
                engine_->reload(rules, now, *sink_);
                current_.policy = copy;
                current_.rules = rules;
                log_->write(Severity::notice, "VG_DNS_REFRESHED addresses changed, kernel sets updated");
            } else {
                log_->write(Severity::error, "VG_DNS_REFRESH_FAILED error=\"" + error + "\"");
            }
        }
    }
}

void Daemon::stats_line() {
    const engine::EngineStats& s = engine_->stats();
    StatsInfo st;
    st.calls = engine_->active_calls();
    st.pinholes = engine_->pinhole_count();
    st.handsets = engine_->handset_count();
    st.accepted = s.verdicts[0] + s.verdicts[1];
    st.dropped = s.verdicts[2];
    for (std::size_t i = 0; i < engine::kReasonCount; ++i) {
        const auto r = static_cast<engine::Reason>(i);
        if (s.reasons[i] != 0 && engine::reason_is_drop(r))
            st.drops_by_reason.emplace_back(engine::reason_name(r), s.reasons[i]);
    }
    if (auto k = netlink::read_queue_stats(opt_.queue)) st.queue_drops = k->queue_dropped + k->user_dropped;
    st.enobufs = queue_.stats().enobufs;
    const kernel::Counters kc = backend_->counters();
    st.kernel_drops = kc.inbound_drop_packets + kc.egress_drop_packets + kc.forged_drop_packets + kc.foreign_drop_packets;
    log_->stats(st);
}

bool Daemon::reload(std::string& summary) {
    const engine::Now now = clock_now();
    LoadedPolicy next = load_policy(opt_.policy_path);
    if (!next.rules) {
        ++reloads_failed_;
        log_->reload_failed(opt_.policy_path, next.errors);
        summary = "reload failed, the running policy stays:\n";
        for (const std::string& e : next.errors) summary += e + "\n";
        return false;
    }
    // Kernel first: if the rules cannot be installed, nothing changes. A
    // full, atomic install (not only a set update) also puts back rules that
    // a firewall reload (fw4, nftables.service, iptables-restore) deleted;
    // conntrack marks, and so the calls' fast paths, are kept.
    std::string error;
    if (!check_marks(error)) {
        ++reloads_failed_;
        log_->reload_failed(opt_.policy_path, {error});
        summary = "reload failed, the running policy stays: " + error + "\n";
        return false;
    }
    kernel::RuleSpec spec;
    if (!spec_for(*next.policy, spec, error) || !backend_->install(spec, error)) {
        // (a failed install keeps the previous rules working)
        ++reloads_failed_;
        log_->reload_failed(opt_.policy_path, {"kernel rules: " + error});
        summary = "reload failed, the running policy stays: kernel rules: " + error + "\n";
        return false;
    }
    voice_interfaces_ = spec.voice_interfaces;
    if (next.policy->on_failure != current_.policy->on_failure) {
        const bool open = next.policy->on_failure == config::OnFailure::open;
        log_->write(Severity::notice, std::string("VG_FAIL_MODE on_failure=") + (open ? "open" : "closed") +
                                          " (the rules follow now, at a stop too; the queue's fail-open flag"
                                          " at the next start)");
    }
    engine_->reload(next.rules, now, *sink_);
    log_->reconfigure(log_options(opt_, *next.policy));
    current_ = std::move(next);
    ++reloads_ok_;
    log_->reload_ok(opt_.policy_path, current_.warnings);
    summary = "ok: policy reloaded (" + config::summary_line(*current_.policy) + ")\n";
    return true;
}

std::string Daemon::handle(const control::Request& r) {
    switch (r.command) {
    case control::Command::status: return status_text(r.json);
    case control::Command::calls: return calls_text(r.json);
    case control::Command::handsets: return handsets_text(r.json);
    case control::Command::reload: {
        std::string summary;
        const bool ok = reload(summary);
        // A refused reload is an error reply, so `voipguard reload` exits 1.
        if (!ok && !r.json) return control::error_response(summary, false);
        if (r.json) {
            std::string s = "{";
            if (!ok) json::field(s, "error", "reload failed, the running policy stays");
            json::field_bool(s, "ok", ok);
            json::field(s, "message", summary);
            return s + "}\n";
        }
        return summary;
    }
    }
    return control::error_response("unknown command", r.json);
}

std::string Daemon::status_text(bool js) {
    const config::Policy& p = *current_.policy;
    const engine::EngineStats& s = engine_->stats();
    const netlink::NfQueueStats& q = queue_.stats();
    const auto kq = netlink::read_queue_stats(opt_.queue);
    const kernel::Counters kc = backend_->counters();
    const std::int64_t uptime = mono_seconds() - started_;
    if (js) {
        std::string o = "{";
        json::field(o, "version", VOIPGUARD_VERSION);
        json::field(o, "policy", opt_.policy_path);
        json::field(o, "site", p.site);
        json::field(o, "mode", config::to_string(p.mode));
        json::field(o, "on_failure", config::to_string(p.on_failure));
        json::field(o, "backend", backend_->name());
        json::field(o, "backend_reason", backend_why_);
        json::append_key(o, "voice_interfaces");
        o.push_back('[');
        for (std::size_t i = 0; i < voice_interfaces_.size(); ++i) {
            if (i) o.push_back(',');
            json::append_string(o, voice_interfaces_[i]);
        }
        o.push_back(']');
        json::field(o, "uptime_s", static_cast<std::uint64_t>(uptime));
        json::field(o, "packets", s.packets);
        json::append_key(o, "verdicts");
        o += "{\"accept\":" + std::to_string(s.verdicts[0]) + ",\"accept_verified\":" + std::to_string(s.verdicts[1]) +
             ",\"drop\":" + std::to_string(s.verdicts[2]) + "}";
        json::append_key(o, "reasons");
        o.push_back('{');
        for (std::size_t i = 0; i < engine::kReasonCount; ++i)
            if (s.reasons[i] != 0) json::field(o, engine::reason_name(static_cast<engine::Reason>(i)), s.reasons[i]);
        o.push_back('}');
        json::field(o, "monitored", s.monitored);
        json::field(o, "sip_messages", s.sip_messages);
        json::field(o, "calls", engine_->active_calls());
        json::field(o, "dialogs", engine_->dialog_count());
        json::field(o, "pinholes", engine_->pinhole_count());
        json::field(o, "pinholes_opened", s.pinholes_opened);
        json::field(o, "pinholes_closed", s.pinholes_closed);
        json::field(o, "handsets", engine_->handset_count());
        json::append_key(o, "evictions");
        o.push_back('{');
        json::field(o, "dialogs", s.evictions_dialogs);
        json::field(o, "dialogs_refused", s.dialogs_refused);
        json::field(o, "pinholes", s.evictions_pinholes);
        json::field(o, "handsets", s.evictions_handsets);
        json::field(o, "egress_flows", s.evictions_egress);
        o.push_back('}');
        json::append_key(o, "queue");
        o.push_back('{');
        json::field(o, "number", opt_.queue);
        json::field(o, "packets", q.packets);
        json::field(o, "enobufs", q.enobufs);
        json::field(o, "fallback_verdicts", q.fallback_verdicts);
        json::field(o, "kernel_waiting", kq ? kq->queue_total : 0);
        json::field(o, "kernel_queue_dropped", kq ? kq->queue_dropped : 0);
        json::field(o, "kernel_user_dropped", kq ? kq->user_dropped : 0);
        o.push_back('}');
        json::append_key(o, "kernel");
        o.push_back('{');
        json::field(o, "inbound_drop_packets", kc.inbound_drop_packets);
        json::field(o, "egress_drop_packets", kc.egress_drop_packets);
        json::field(o, "queued_packets", kc.queued_packets);
        json::field(o, "forged_source_drop_packets", kc.forged_drop_packets);
        json::field(o, "foreign_source_drop_packets", kc.foreign_drop_packets);
        json::field(o, "drop_samples", kernel_samples_);
        o.push_back('}');
        json::field(o, "conntrack_deleted", sink_->conntrack_deleted);
        json::field(o, "reloads_ok", reloads_ok_);
        json::field(o, "reloads_failed", reloads_failed_);
        json::field(o, "log_lines_lost", log_->lines_lost());
        return o + "}\n";
    }
    std::string o;
    o += "voipguard " + std::string(VOIPGUARD_VERSION) + ", site " + p.site + ", policy " + opt_.policy_path + "\n";
    o += "mode " + std::string(config::to_string(p.mode)) + ", on_failure " + config::to_string(p.on_failure) +
         ", backend " + backend_->name() + " (" + backend_why_ + "), up " + std::to_string(uptime) + " s\n";
    o += "voice interfaces: " + join(voice_interfaces_) + (p.handsets.interfaces.empty() ? " (from the routes)" : "") + "\n";
    o += "packets " + std::to_string(s.packets) + ": accept " + std::to_string(s.verdicts[0]) + ", accept+verify " +
         std::to_string(s.verdicts[1]) + ", drop " + std::to_string(s.verdicts[2]) + "\n";
    o += "reasons:";
    for (std::size_t i = 0; i < engine::kReasonCount; ++i)
        if (s.reasons[i] != 0)
            o += " " + std::string(engine::reason_name(static_cast<engine::Reason>(i))) + "=" + std::to_string(s.reasons[i]);
    o += "\ncalls " + std::to_string(engine_->active_calls()) + ", pinholes " + std::to_string(engine_->pinhole_count()) +
         ", handsets " + std::to_string(engine_->handset_count()) + ", sip messages " + std::to_string(s.sip_messages) + "\n";
    o += "queue " + std::to_string(opt_.queue) + ": " + std::to_string(q.packets) + " packets, enobufs " +
         std::to_string(q.enobufs) + ", kernel queue drops " +
         std::to_string(kq ? kq->queue_dropped + kq->user_dropped : 0) + "\n";
    o += "kernel: " + std::to_string(kc.inbound_drop_packets) + " inbound drops, " +
         std::to_string(kc.egress_drop_packets) + " egress drops, " + std::to_string(kc.forged_drop_packets) +
         " forged-source drops, " + std::to_string(kc.foreign_drop_packets) + " foreign-source drops, " +
         std::to_string(kc.queued_packets) + " queued\n";
    return o;
}

std::string Daemon::calls_text(bool js) {
    engine_->tick(clock_now(), *sink_);
    std::string o = js ? "{\"calls\":[" : "";
    bool first = true;
    engine_->for_each_dialog([&](const engine::Dialog& d) {
        if (d.state == engine::DialogState::ended) return;
        if (js) {
            if (!first) o.push_back(',');
            o.push_back('{');
            json::field(o, "call_id", d.call_id.view());
            json::field(o, "handset", d.handset.to_string());
            json::field(o, "pbx", d.pbx.to_string());
            json::field(o, "direction", d.handset_is_caller ? "outbound" : "inbound");
            json::field(o, "number", d.number.view());
            json::field(o, "state", engine::dialog_state_name(d.state));
            json::append_key(o, "media");
            o.push_back('[');
            for (std::size_t i = 0; i < d.media_count; ++i) {
                const engine::MediaLeg& m = d.media[i];
                if (i) o.push_back(',');
                o.push_back('{');
                json::field(o, "handset_rtp", m.handset_known ? m.handset_rtp : 0);
                json::field(o, "handset_rtcp", m.handset_known ? m.handset_rtcp : 0);
                json::field(o, "remote", m.remote_known ? m.remote.to_string() : "");
                json::field(o, "remote_rtp", m.remote_known ? m.remote_rtp : 0);
                json::field_bool(o, "on_hold", m.on_hold);
                o.push_back('}');
            }
            o += "]}";
        } else {
            // Call-ID and number come from packets: escaped (no terminal
            // control sequences reach the operator's screen).
            append_escaped(o, d.call_id.view());
            o += "  " + d.handset.to_string() + (d.handset_is_caller ? " -> " : " <- ");
            append_escaped(o, d.number.view());
            o += "  " + std::string(engine::dialog_state_name(d.state));
            for (std::size_t i = 0; i < d.media_count; ++i) {
                const engine::MediaLeg& m = d.media[i];
                if (!m.handset_known) continue;
                o += "  pinhole " + m.handset.to_string() + ":" + std::to_string(m.handset_rtp);
                if (m.handset_rtcp) o += "/" + std::to_string(m.handset_rtcp);
                if (m.remote_known) o += " from " + m.remote.to_string() + ":" + std::to_string(m.remote_rtp);
                if (m.on_hold) o += " (hold)";
            }
            o += "\n";
        }
        first = false;
    });
    if (js) return o + "]}\n";
    return o.empty() ? "no active calls\n" : o;
}

std::string Daemon::handsets_text(bool js) {
    const engine::Now clocks = clock_now();
    const Timestamp now = clocks.mono;
    std::string o = js ? "{\"handsets\":[" : "";
    bool first = true;
    // The engine's times are monotonic; shown as wall-clock seconds since the
    // Unix epoch, as of the current wall clock (0: never).
    auto secs = [&](Timestamp t) -> std::uint64_t {
        if (t == Timestamp{}) return 0;
        const std::int64_t w = clocks.wall + std::chrono::duration_cast<std::chrono::seconds>(t - clocks.mono).count();
        return w > 0 ? static_cast<std::uint64_t>(w) : 0;
    };
    engine_->for_each_handset([&](const engine::Handset& h) {
        if (js) {
            if (!first) o.push_back(',');
            o.push_back('{');
            json::field(o, "address", h.address.to_string());
            json::field(o, "aor", h.aor.view());
            json::field(o, "user_agent", h.user_agent.view());
            json::field(o, "first_seen", secs(h.first_seen));
            json::field(o, "last_seen", secs(h.last_seen));
            json::field(o, "registered_until", secs(h.registered_until));
            json::field_bool(o, "registered", h.registered_until > now);
            json::field_bool(o, "firmware_outdated", h.firmware_outdated);
            json::field_bool(o, "stale", h.stale);
            json::field(o, "active_calls", h.active_calls);
            o.push_back('}');
        } else {
            // AOR and User-Agent come from packets: escaped.
            o += h.address.to_string() + "  " + escape_text(h.aor.view()) + "  \"" + escape_text(h.user_agent.view()) +
                 "\"  " + (h.registered_until > now ? "registered" : "not registered") +
                 (h.firmware_outdated ? "  FIRMWARE OUTDATED" : "") + (h.stale ? "  STALE" : "") + "  calls " +
                 std::to_string(h.active_calls) + "\n";
        }
        first = false;
    });
    if (js) return o + "]}\n";
    return o.empty() ? "no handsets seen\n" : o;
}

}  // namespace

int run_daemon(const RunOptions& options) {
    Daemon d(options);
    return d.run();
}

}  // namespace vg::daemon
