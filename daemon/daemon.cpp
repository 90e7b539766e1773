// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "daemon/alerts.h"
#include "daemon/log_structured.h"
#include "daemon/loop_priority.h"
#include "daemon/metrics.h"
#include "daemon/interface_audit.h"
#include "daemon/interface_probe.h"
#include "daemon/policy_lifecycle.h"
#include "daemon/status_report.h"
#include "daemon/worker.h"
#include "daemon/control.h"
#include "daemon/site_report.h"
#include "daemon/json.h"
#include "daemon/kernel/backend.h"
#include "daemon/kernel/rule_spec.h"
#include "daemon/logging.h"
#include "daemon/netlink/conntrack.h"
#include "daemon/netlink/nflog.h"
#include "daemon/netlink/nfqueue.h"
#include "daemon/netlink/route.h"
#include "daemon/privileges.h"
#include "filters/engine/engine.h"
#include "filters/engine/site_history.h"
#include "filters/engine/state_file.h"
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
std::int64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Gives the calling thread (the loop: on Linux the nice value is per
// thread) the nice value `nice`. A packet waits for its verdict while the
// loop waits for a CPU: on a busy router, every process at the default
// priority competes with the packet path. Returns the fields of the
// VG_PRIVILEGES line that say what was set.
std::string set_loop_priority(int nice) {
    errno = 0;
    const int before = getpriority(PRIO_PROCESS, 0);
    if (before == -1 && errno != 0) return std::string("nice=unknown nice_error=\"") + std::strerror(errno) + "\"";
    if (before == nice) return "nice=" + std::to_string(nice);
    if (setpriority(PRIO_PROCESS, 0, nice) != 0)
        return "nice=" + std::to_string(before) + " nice_wanted=" + std::to_string(nice) + " nice_error=\"" +
               std::strerror(errno) + "\"";
    return "nice=" + std::to_string(nice);
}

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

const char* proto_text(std::uint8_t p) {
    switch (p) {
    case net::ipproto::udp: return "udp";
    case net::ipproto::tcp: return "tcp";
    case net::ipproto::icmp: return "icmp";
    case net::ipproto::icmpv6: return "icmpv6";
    default: return "ip";
    }
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

void write_lines(Log& log, const std::vector<LogLine>& lines) {
    for (const LogLine& l : lines) log.write(l.severity, l.text);
}

// What `reload` answers: an error reply when it was refused, so that
// `voipguard reload` exits 1.
std::string reload_reply(bool ok, const std::string& summary, bool js) {
    if (!ok && !js) return control::error_response(summary, false);
    if (!js) return summary;
    std::string s = "{";
    if (!ok) json::field(s, "error", "reload failed, the running policy stays");
    json::field_bool(s, "ok", ok);
    json::field(s, "message", summary);
    return s + "}\n";
}

// Records what the engine hands out while it decides (events.h, effects.h):
// the daemon carries it out once the verdicts of the packets it drained are
// sent (Daemon::carry_out). A storm of events beyond kMaxEvents is logged at
// once instead (logging never blocks; it only takes time).
class DaemonSink : public engine::EventSink {
public:
    static constexpr std::size_t kMaxEvents = 1024;
    explicit DaemonSink(Log& log) : log_(log) {
        events.reserve(64);
        effects.reserve(16);
    }
    void on_event(const engine::Event& e) override {
        ++counts[static_cast<std::size_t>(e.type)];
        if (history != nullptr) {
            // The coarse clock (vDSO, no system call): an hour bucket needs no more.
            timespec wall{};
            clock_gettime(CLOCK_REALTIME_COARSE, &wall);
            history->note(e, static_cast<std::int64_t>(wall.tv_sec));
        }
        if (events.size() < kMaxEvents) events.push_back(e);
        else log_.on_event(e);
    }
    void on_effect(const engine::Effect& f) override { effects.push_back(f); }
    std::vector<engine::Event> events;
    std::vector<engine::Effect> effects;
    // Every event by type, since start (metrics).
    std::array<std::uint64_t, engine::kEventTypeCount> counts{};
    // The report's hourly history (the daemon's; null: none).
    engine::SiteHistory* history = nullptr;

private:
    Log& log_;
};

// A control request waiting for a reload (ticket 0: SIGHUP, nobody waits).
struct ReloadWaiter {
    control::Server::Ticket ticket = 0;
    bool json = false;
};

// The daemon: one epoll loop that serves the queue, and workers for what
// must not hold it up (worker.h):
//   dns_     policy loads and DNS refreshes (a lookup can wait seconds for a
//            server that never answers);
//   kernel_  the rule backend (installs, updates, counters: forked tools)
//            and conntrack table dumps. One at a time, in order.
//   audit_   the interface audit (`voipguard audit`, interface_audit.h): up
//            to a minute of TCP probes to the handsets, on a thread of its
//            own so that it holds up neither a reload nor `status`. Started
//            at the first audit: a daemon nobody asks has no such thread.
// Their results are applied on the loop between drains: a reload's new
// rules reach the engine in one step, after the kernel took them.
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
    // The events and effects the engine handed out since the last call.
    void carry_out();
    // alerts: the runner follows the policy; alert() offers one line.
    void configure_alerts(const config::Policy& p);
    void alert(std::string_view id, Severity severity, const std::string& line);
    void report_alerts();
    void carry_out(const engine::Effect& f);

    // Reloads and DNS refreshes, one at a time (policy_busy_): the kernel
    // must end with the rules of the policy the engine runs.
    void request_reload(std::optional<ReloadWaiter> waiter);
    void begin_reload(std::vector<ReloadWaiter> waiters);
    void policy_loaded(const std::shared_ptr<LoadedPolicy>& next);
    void policy_installed(const std::shared_ptr<LoadedPolicy>& next, const RulesResult& r);
    void finish_reload(bool ok, const std::string& summary);
    void begin_refresh();
    void policy_refreshed(const std::shared_ptr<RefreshOutcome>& out);
    void policy_op_done();
    void retire(LoadedPolicy old);

    // Calls `f` with the kernel counters, read on the kernel worker (one read
    // serves every request that arrives while it runs). False when the read
    // cannot be queued: the caller uses counters_, the last ones read.
    bool with_counters(std::function<void(const kernel::Counters&)> f);

    std::optional<std::string> handle(const control::Request& r, control::Server::Ticket ticket);
    // `audit`: starts the interface audit on audit_ (or joins the one running);
    // audit_done() stores its finding in the inventory, logs each open port
    // and answers every client waiting.
    std::optional<std::string> start_audit(control::Server::Ticket ticket, bool json);
    struct AuditResult {
        audit::Report report;
        std::string text, json;   // the answer in both forms
    };
    void audit_done(const AuditResult& result);
    std::string status_text(bool json, const kernel::Counters& counters) const;
    std::string report_text(const control::Request& r, const kernel::Counters& counters) const;
    StatusView status_view(const kernel::Counters& counters) const;
    // metrics.file: rendered on the loop, written on the kernel worker.
    void write_metrics();
    void metrics_written(const std::string& file, bool ok, const std::string& error);
    void stats_line(const kernel::Counters& counters);
    // What stays in the kernel when no daemon serves the queue (policy_lifecycle.h).
    bool leave_kernel(const config::Policy& p, bool install_barrier, std::string& what);
    // A start that failed: on_failure applied (with the barrier when asked),
    // VG_START_FAILED logged (`why`: the cause, where no line said it yet).
    int fail_start(const config::Policy& p, bool install_barrier, const std::string& why = std::string());
    void busy(const char* what);
    // log_events.h's failed_line for this site.
    std::string failed_line(std::string_view id, std::string_view error, std::string_view backend = {}) const {
        return daemon::failed_line(id, log_->site(), error, backend);
    }
    // --realtime: the loop's scheduler at start (before privileges are
    // dropped; returns the VG_PRIVILEGES fields) and once a second after.
    std::string start_realtime();
    void check_loop_priority();
    // Notes a step of the loop that began at `start` (mono_ns()) and begins
    // the next. (Only the monotonic clock, from the vDSO: the thread's CPU
    // clock is a system call, and at 20k packets/s reading it around every
    // step cost 6 % of the daemon's CPU.)
    void end_step(const char* what, std::int64_t& start) {
        const std::int64_t end = mono_ns();
        const auto us = static_cast<std::uint64_t>(end - start) / 1000;
        std::int64_t wall_ms = 0;
        if (us > loop_.longest_us) {
            timespec wall{};
            clock_gettime(CLOCK_REALTIME, &wall);
            wall_ms = static_cast<std::int64_t>(wall.tv_sec) * 1000 + wall.tv_nsec / 1000000;
        }
        loop_.note(what, us, wall_ms);
        start = end;
    }

    RunOptions opt_;
    LoadedPolicy current_;
    std::unique_ptr<Log> log_;
    std::unique_ptr<engine::Engine> engine_;
    std::unique_ptr<KernelRules> rules_;
    std::string backend_name_;
    std::string backend_why_;
    netlink::NfQueue queue_;
    netlink::NflogListener nflog_;
    netlink::Conntrack conntrack_;      // the loop's: deletes by tuple
    netlink::Conntrack conntrack_dumps_;   // the kernel worker's: table dumps
    std::unique_ptr<DaemonSink> sink_;
    std::unique_ptr<control::Server> control_;
    Worker dns_{"vg-dns"};
    Worker kernel_{"vg-kernel"};
    Worker audit_{"vg-audit", 2};
    // Set at shutdown: a running audit ends within 0.1 s.
    std::shared_ptr<std::atomic<bool>> audit_cancel_ = std::make_shared<std::atomic<bool>>(false);
    bool audit_busy_ = false;
    std::int64_t audit_started_ = 0;   // mono_seconds() of the running audit's start
    std::vector<std::pair<control::Server::Ticket, bool>> audit_waiters_;   // ticket, json
    std::unique_ptr<AlertGate> alert_gate_;
    std::unique_ptr<AlertRunner> alerts_;
    // Real-time while the loop uses less than half a CPU; 10 s below it
    // before going back (daemon/loop_priority.h).
    LoopPriorityGuard loop_priority_{opt_.realtime_budget, 10'000'000'000};
    bool realtime_failed_ = false;   // the switch failed at start: fair scheduler only
    config::Policy::Alerts alerts_policy_;
    std::uint64_t alerts_overflow_reported_ = 0;
    std::uint64_t alerts_limited_ = 0;   // rate-limited since the last report
    std::uint64_t alerts_started_reported_ = 0;   // the runner's started() already in alert_totals_
    AlertTotals alert_totals_;
    std::string hostname_;
    int epoll_ = -1;
    int signal_fd_ = -1;
    int timer_fd_ = -1;
    bool running_ = true;
    std::int64_t started_ = 0;
    std::int64_t last_stats_ = 0;
    std::int64_t last_dns_ = 0;
    std::uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
    std::uint64_t undecodable_ = 0;
    std::uint64_t conntrack_deleted_ = 0;
    std::vector<std::uint32_t> deferred_;   // plain accepts of the current chunk of a drain
    // Verdicts the kernel could not take (sendmsg failed): their packets are
    // still queued; on_queue() tries again, and sends no batch verdict meanwhile.
    struct StuckVerdict {
        std::uint32_t id;
        netlink::Verdict verdict;
        std::optional<std::uint32_t> mark;
    };
    std::vector<StuckVerdict> stuck_;
    std::uint64_t kernel_samples_ = 0;
    LoopStats loop_;   // how long each step of the loop took (status)
    std::vector<std::string> voice_interfaces_;   // of the installed rules
    bool policy_busy_ = false;
    bool reload_again_ = false;
    std::vector<ReloadWaiter> reload_waiters_, next_reload_waiters_;
    std::int64_t last_metrics_ = 0;
    bool metrics_busy_ = false;         // a write is on its way
    std::int64_t last_state_ = 0;       // --state: the last write (monotonic s)
    bool state_busy_ = false;           // a write is on its way
    void restore_state();
    void write_state(bool now_on_loop);
    std::string metrics_file_;          // the file last written (it exists)
    enum class MetricsState : std::uint8_t { unknown, ok, failing } metrics_state_ = MetricsState::unknown;
    std::string metrics_error_;         // the failure last logged
    // What `voipguard report` tells: events, reloads and kernel drops by
    // hour for 7 days (saved with --state).
    std::unique_ptr<engine::SiteHistory> history_ = std::make_unique<engine::SiteHistory>();
    kernel::Counters counters_;   // the last read
    bool counters_busy_ = false;
    std::vector<std::function<void(const kernel::Counters&)>> counter_waiters_;
};

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
        std::string line = "VG_BACKEND_UNAVAILABLE";
        append_field(line, "site", log_->site());
        append_field(line, "requested", opt_.backend);
        append_field(line, "why", backend_why_);
        log_->write(Severity::error, line);
        std::fprintf(stderr, "voipguard run: no usable rule backend: %s\n", backend_why_.c_str());
        return 1;
    }
    kernel::BackendOptions bo;
    bo.ipv6 = probe.ip6tables || kind == kernel::BackendKind::nftables;
    rules_ = std::make_unique<KernelRules>(opt_, kernel::make_backend(kind, opt_.name, bo));
    backend_name_ = rules_->name();
    log_->backend(backend_name_, backend_why_);
    if (unresolved) {
        std::fprintf(stderr, "voipguard run: %s: host names do not resolve yet\n", opt_.policy_path.c_str());
        return fail_start(pol, true, "host names do not resolve yet: " +
                                         (current_.errors.empty() ? std::string() : current_.errors.front()));
    }

    // 3. Rules (replacing those of a crashed instance), then the queue.
    std::string error;
    {
        std::vector<LogLine> marks;
        const bool ok = rules_->check_marks(log_->site(), marks, error);
        write_lines(*log_, marks);
        if (!ok) {
            std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
            return fail_start(pol, true, error);
        }
    }
    kernel::RuleSpec spec;
    if (!rules_->spec_for(pol, spec, error)) {
        log_->write(Severity::error, failed_line("VG_RULES_FAILED", error, rules_->name()));
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
    if (!rules_->install_spec(spec, error)) {
        log_->write(Severity::error, failed_line("VG_RULES_FAILED", error, rules_->name()));
        std::fprintf(stderr, "voipguard run: installing kernel rules: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    netlink::NfQueueOptions qo;
    qo.queue = opt_.queue;
    qo.fail_open = pol.on_failure == config::OnFailure::open;
    qo.fallback_verdict = qo.fail_open ? netlink::Verdict::accept : netlink::Verdict::drop;
    netlink::NflogOptions lo;
    lo.group = opt_.nflog_group;
    if (!queue_.open(qo) || !nflog_.open(lo) || !conntrack_.open() || !conntrack_dumps_.open()) {
        error = !queue_.is_open() ? "queue: " + queue_.error()
                : !nflog_.is_open() ? "nflog: " + nflog_.error()
                : !conntrack_.is_open() ? "conntrack: " + conntrack_.error()
                                        : "conntrack: " + conntrack_dumps_.error();
        log_->write(Severity::error, failed_line("VG_NETLINK_FAILED", error));
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    sink_ = std::make_unique<DaemonSink>(*log_);
    sink_->history = history_.get();
    engine::EngineLimits limits;
    if (opt_.max_dialogs != 0) limits.max_dialogs = opt_.max_dialogs;
    limits.dialog_key = dialog_secret();
    engine_ = std::make_unique<engine::Engine>(current_.rules, limits);
    restore_state();
    // Packets can arrive before the bind is acknowledged; they wait in the
    // queue object until the first drain.
    on_queue(clock_now());
    carry_out();

    if (!setup_loop(error)) {
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    control::ServerOptions so;
    so.path = opt_.control_path.empty() ? control::kDefaultSocketPath : opt_.control_path;
    control_ = std::make_unique<control::Server>(
        so, [this](const control::Request& r, control::Server::Ticket t) { return handle(r, t); },
        [this](control::Rejection why, std::string_view detail, std::int64_t uid, std::int64_t pid) {
            log_->control_rejected(control::rejection_name(why), detail, uid, pid, mono_now());
        },
        [this](int fd, unsigned interest) { watch(fd, interest); });
    if (!control_->open(&error)) {
        log_->write(Severity::error, failed_line("VG_CONTROL_FAILED", error));
        std::fprintf(stderr, "voipguard run: control socket: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    watch(control_->listen_fd(), control::kRead);

    // 4. The loop's priority, then only what the loop needs; the workers,
    // started after, keep no more (a thread starts with its creator's
    // credentials and nice value, and the workers add 19 to it).
    const std::string priority = set_loop_priority(opt_.nice) + " " + start_realtime();
    if (!drop_privileges(opt_.user, error)) {
        log_->write(Severity::error, failed_line("VG_PRIVILEGES_FAILED", error));
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        return fail_start(pol, false);
    }
    if (!dns_.start(error) || !kernel_.start(error)) {
        log_->write(Severity::error, failed_line("VG_LOOP_FAILED", error));
        std::fprintf(stderr, "voipguard run: %s\n", error.c_str());
        (void)dns_.stop();
        (void)kernel_.stop();
        return fail_start(pol, false);
    }
    watch(dns_.fd(), control::kRead);
    configure_alerts(pol);   // its thread, like the workers', with the reduced privileges
    watch(kernel_.fd(), control::kRead);
    StartInfo si;
    si.version = VOIPGUARD_VERSION;
    si.mode = config::to_string(pol.mode);
    si.backend = backend_name_;
    si.on_failure = config::to_string(pol.on_failure);
    si.policy = opt_.policy_path;
    log_->start(si);
    log_->write(Severity::info, "VG_PRIVILEGES " + capability_summary() + " " + priority);

    // 5. The loop. What the engine handed out is carried out once per turn,
    // after the queue's verdicts.
    epoll_event events[32];
    while (running_) {
        const int n = epoll_wait(epoll_, events, 32, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            log_->write(Severity::error, failed_line("VG_LOOP_FAILED", std::string("epoll_wait: ") + std::strerror(errno)));
            break;
        }
        const engine::Now now = clock_now();
        std::int64_t step_start = mono_ns();
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            const char* step = "control";
            if (fd == queue_.fd()) {
                step = "queue";
                on_queue(now);
            } else if (fd == nflog_.fd()) {
                step = "nflog";
                on_nflog(now);
            } else if (fd == kernel_.fd()) {
                step = "kernel_results";
                kernel_.run_completions();
            } else if (fd == dns_.fd()) {
                step = "dns_results";
                dns_.run_completions();
            } else if (fd == audit_.fd()) {
                step = "audit_results";
                audit_.run_completions();
            } else if (fd == timer_fd_) {
                step = "timer";
                std::uint64_t expirations = 0;
                while (read(timer_fd_, &expirations, sizeof expirations) > 0) {
                }
                on_timer(now);
            } else if (fd == signal_fd_) {
                step = "signal";
                signalfd_siginfo si_buf{};
                while (read(signal_fd_, &si_buf, sizeof si_buf) == static_cast<ssize_t>(sizeof si_buf)) {
                    if (si_buf.ssi_signo == SIGHUP) request_reload(std::nullopt);
                    else running_ = false;
                }
            } else if (control_ && fd == control_->listen_fd()) {
                control_->on_readable(fd, now.mono);
            } else if (control_) {
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) control_->on_readable(fd, now.mono);
                if (events[i].events & EPOLLOUT) control_->on_writable(fd, now.mono);
            }
            end_step(step, step_start);
        }
        carry_out();
        end_step("effects", step_start);
    }

    // 6. Shutdown: on_failure says what stays in the kernel. A DNS lookup in
    // progress is abandoned; a rule install in progress is waited for (the
    // backend gives up on its tools after its timeout).
    const Timestamp now = mono_now();
    audit_cancel_->store(true);
    (void)audit_.stop();
    (void)dns_.stop();
    const bool kernel_idle = kernel_.stop(std::chrono::seconds(90));
    report_alerts();
    alerts_.reset();   // kills what still runs
    // Not while a write of the worker may still run (it was abandoned).
    if (kernel_idle || !state_busy_) write_state(true);
    control_.reset();
    queue_.close();
    nflog_.close();
    // A stopped daemon's figures are absent, not frozen (alert on
    // absent(voipguard_build_info)); after a crash the file's age tells.
    if (kernel_idle && !metrics_file_.empty()) (void)::unlink(metrics_file_.c_str());
    std::string what = "the kernel worker did not finish, rules left as they are";
    const bool left = kernel_idle && leave_kernel(*current_.policy, true, what);
    log_->shutdown("signal, " + what);
    log_->flush_all(now);
    return left ? 0 : 1;
}

bool Daemon::leave_kernel(const config::Policy& p, bool install_barrier, std::string& what) {
    std::vector<LogLine> lines;
    const bool ok = rules_->leave(p, install_barrier, log_->site(), lines, what);
    write_lines(*log_, lines);
    return ok;
}

int Daemon::fail_start(const config::Policy& p, bool install_barrier, const std::string& why) {
    std::string what;
    leave_kernel(p, install_barrier, what);
    std::fprintf(stderr, "voipguard run: not started; %s\n", what.c_str());
    // The line a collector alerts on: the supervisor starts the daemon
    // again, and until one start succeeds the site runs on what `what` says.
    std::string line = "VG_START_FAILED";
    append_field(line, "site", log_->site());
    append_field(line, "why", why);
    append_field(line, "kernel", what);
    log_->write(Severity::error, line);
    return 1;
}

void Daemon::busy(const char* what) {
    std::string line = "VG_WORKER_BUSY";
    append_field(line, "site", log_->site());
    append_field(line, "work", what);
    log_->write(Severity::warning, line);
}

void Daemon::on_queue(const engine::Now& now) {
    // Plain accepts (most SIP) are answered together with one batch verdict
    // per kVerdictEvery packets (and at the end of the drain), which accepts
    // every packet up to the highest id still queued; drops and accepts that
    // set the verified mark are answered one by one at once. Ids rise in
    // queue order, and every packet of the chunk handed over without its own
    // verdict is a plain accept, so the batch covers exactly those. One
    // verdict message instead of one per packet is what lets the daemon keep
    // up with bursts (as the trivial NFQUEUE program in tests/bench does);
    // one per chunk rather than per drain frees the kernel's queue (1024
    // packets) while a long drain goes on, instead of letting it fill up.
    //
    // A verdict that could not be sent leaves its packet queued (stuck_): no
    // batch verdict is sent while one is, since it would accept that packet
    // too; the plain accepts get their own verdicts until it is answered.
    //
    // At most kMaxChunks chunks (the kernel queue's length) per loop turn,
    // so that a sustained load does not keep the rest of the loop waiting;
    // the queue's socket is still readable then, and the next turn goes on.
    constexpr std::size_t kVerdictEvery = 64;
    constexpr std::size_t kMaxChunks = 16;
    // Our bits of the packet mark are replaced, the router's are kept.
    const auto with_mark = [&](std::uint32_t old, std::uint32_t value) { return (old & ~opt_.mark_mask) | value; };
    const auto answer = [&](std::uint32_t id, netlink::Verdict v, std::optional<std::uint32_t> mark) {
        if (!queue_.verdict(id, v, mark) && !queue_.verdict(id, v, mark)) stuck_.push_back(StuckVerdict{id, v, mark});
    };
    if (!stuck_.empty()) {
        std::vector<StuckVerdict> again;
        again.swap(stuck_);
        for (const StuckVerdict& sv : again) answer(sv.id, sv.verdict, sv.mark);
    }
    const auto judge = [&](const netlink::QueuedPacket& qp) {
        const net::DecodedPacket p = net::decode_ip(qp.payload, qp.payload_len);
        if (!p.ok() && !p.src.valid()) ++undecodable_;
        const engine::Decision d = engine_->process(p, now, *sink_);
        switch (d.verdict) {
        case engine::Verdict::accept:
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
            answer(qp.id, v, mark);
            return;
        }
        }
    };
    for (std::size_t chunk = 1;; ++chunk) {
        deferred_.clear();
        const std::size_t handed = queue_.drain(judge, kVerdictEvery);
        if (!deferred_.empty()) {
            if (!stuck_.empty() || !queue_.verdict_batch(deferred_.back(), netlink::Verdict::accept)) {
                // Without the batch, each deferred accept gets its own verdict.
                for (std::uint32_t id : deferred_) answer(id, netlink::Verdict::accept, std::nullopt);
            }
        }
        // Fewer than asked for: the queue had nothing more when it was read.
        // Packets already read (has_pending) are never left for the next
        // turn: the socket may not say readable for them.
        if (!queue_.has_pending() && (handed < kVerdictEvery || chunk >= kMaxChunks)) break;
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
            history_->note(e, now.wall);   // the report's count of these events
            log_->on_event(e);
            return;
        }
        if (prefix == kernel::nflog_prefix(opt_.name, "drop-in")) k.reason = engine::reason_name(engine_->kernel_inbound_drop_reason(p));
        else if (prefix == kernel::nflog_prefix(opt_.name, "drop-out")) k.reason = engine::reason_name(engine::Reason::egress_denied);
        else k.reason = prefix;
        k.method = sip.method;
        k.user_agent = sip.user_agent;
        log_->kernel_drop(k, now.mono);
    });
}

std::string Daemon::start_realtime() {
    if (opt_.realtime <= 0) {
        loop_priority_.set_realtime(false);
        return "realtime=off";
    }
    const std::string error = make_realtime(opt_.realtime);
    if (!error.empty()) {
        realtime_failed_ = true;
        loop_priority_.set_realtime(false);
        return "realtime=off realtime_wanted=" + std::to_string(opt_.realtime) + " realtime_error=\"" + error + "\"";
    }
    std::string fields = "realtime=" + std::to_string(opt_.realtime);
    // Going back to real-time after a flood needs this once CAP_SYS_NICE
    // is gone; without it the loop stays on the fair scheduler after one.
    const std::string later = allow_realtime_later(opt_.realtime);
    if (!later.empty()) fields += " realtime_error=\"RLIMIT_RTPRIO: " + later + "\"";
    return fields;
}

void Daemon::check_loop_priority() {
    if (opt_.realtime <= 0 || realtime_failed_) return;
    const LoopPriorityGuard::Action a = loop_priority_.observe(mono_ns(), thread_cpu_ns());
    if (a == LoopPriorityGuard::Action::none) return;
    const bool demote = a == LoopPriorityGuard::Action::demote;
    const std::string error = demote ? make_fair() : make_realtime(opt_.realtime);
    if (!error.empty() && !demote) {
        // Without CAP_SYS_NICE and RLIMIT_RTPRIO (VG_PRIVILEGES said why)
        // the way back is closed: the loop stays fair, logged once.
        loop_priority_.set_realtime(false);
        realtime_failed_ = true;
    }
    std::string line = "VG_LOOP_PRIORITY";
    append_field(line, "site", log_->site());
    append_field(line, "scheduler", demote || !error.empty() ? std::string("fair") : "realtime:" + std::to_string(opt_.realtime));
    append_field(line, "cpu", std::to_string(loop_priority_.last_percent()) + "%");
    append_field(line, "budget", std::to_string(opt_.realtime_budget) + "%");
    if (!error.empty()) append_field(line, "error", error);
    log_->write(demote ? Severity::warning : Severity::notice, line);
}

void Daemon::on_timer(const engine::Now& now) {
    check_loop_priority();
    engine_->tick(now, *sink_);
    log_->flush(now.mono);
    if (control_) control_->tick(now.mono);
    report_alerts();
    const std::int64_t mono = mono_seconds();
    if (opt_.stats_interval > 0 && mono - last_stats_ >= static_cast<std::int64_t>(opt_.stats_interval)) {
        last_stats_ = mono;
        if (!with_counters([this](const kernel::Counters& c) { stats_line(c); })) stats_line(counters_);
    }
    // Host names in the policy: refreshed every dns.refresh (not while a
    // reload runs: it resolves them anyway).
    const auto refresh = current_.policy->dns.refresh.count();
    if (refresh > 0 && mono - last_dns_ >= refresh && !policy_busy_) {
        last_dns_ = mono;
        begin_refresh();
    }
    // --state: every state_interval (a write still on its way is not doubled).
    if (!opt_.state_path.empty() && opt_.state_interval > 0 && !state_busy_ &&
        mono - last_state_ >= static_cast<std::int64_t>(opt_.state_interval)) {
        last_state_ = mono;
        write_state(false);
    }
    // metrics.file: the first write a second after start, then every
    // metrics.interval; a write still on its way is not doubled.
    const config::Policy::Metrics& m = current_.policy->metrics;
    if (!m.file.empty() && !metrics_busy_ && (last_metrics_ == 0 || mono - last_metrics_ >= m.interval.count())) {
        last_metrics_ = mono;
        write_metrics();
    }
    // A reload took metrics.file away: its file goes, not left frozen.
    if (m.file.empty() && !metrics_busy_ && !metrics_file_.empty()) {
        const std::string gone = std::exchange(metrics_file_, std::string());
        (void)kernel_.post([gone]() -> Worker::Completion {
            (void)::unlink(gone.c_str());
            return nullptr;
        });
    }
}

// --state: read once at start, before the first packet (at most
// kStateMaxBytes); a file that is not ours, damaged or from the future is
// logged and ignored (the next write replaces it).
void Daemon::restore_state() {
    if (opt_.state_path.empty()) return;
    last_state_ = mono_seconds();
    const std::string& path = opt_.state_path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT)
            log_->write(Severity::warning, "VG_STATE_REJECTED file=\"" + path + "\" error=unreadable detail=\"" +
                                               std::strerror(errno) + "\"");
        return;
    }
    std::string bytes;
    char buf[65536];
    bool too_big = false;
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        bytes.append(buf, static_cast<std::size_t>(n));
        if (bytes.size() > engine::kStateMaxBytes) {
            too_big = true;
            break;
        }
    }
    ::close(fd);
    const engine::Now now = clock_now();
    const engine::StateLoad l =
        too_big ? engine::StateLoad{engine::StateError::oversized, {}, 0, 0, 0, 0, 0, 0}
                : engine::load_state(*engine_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(),
                                     current_.policy->site, now, history_.get());
    if (!l.ok()) {
        log_->write(Severity::warning, "VG_STATE_REJECTED file=\"" + path + "\" error=" +
                                           std::string(engine::to_string(l.error)) + " detail=\"" + l.detail + "\"");
        return;
    }
    log_->write(Severity::info, "VG_STATE_RESTORED file=\"" + path + "\" handsets=" + std::to_string(l.handsets) +
                                    " limit_keys=" + std::to_string(l.limit_keys) +
                                    " day_counters=" + std::to_string(l.day_counters) +
                                    " day_dropped=" + std::to_string(l.day_dropped) +
                                    " history_hours=" + std::to_string(l.history_hours) +
                                    " age=" + std::to_string(now.wall - l.saved_at));
}

// The directory of the --state file, made (one level, mode 0700) if missing:
// on OpenWrt it is on the tmpfs, empty after a reboot.
bool make_state_dir(const std::string& path, std::string& error) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return true;
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return true;
    error = dir + ": " + std::strerror(errno);
    return false;
}

// --state: the bytes are made on the loop (microseconds: the tables are
// small), written on the kernel worker (tmp file + rename, mode 0600: AORs).
// `stopping`: the loop has ended and the workers are stopped; written here.
void Daemon::write_state(bool stopping) {
    if (opt_.state_path.empty() || !engine_) return;
    auto text = std::make_shared<std::string>();
    {
        const std::vector<std::uint8_t> b =
            engine::save_state(*engine_, current_.policy->site, clock_now(), history_.get());
        text->assign(b.begin(), b.end());
    }
    const std::string path = opt_.state_path;
    if (stopping) {
        std::string error;
        if (!make_state_dir(path, error) || !write_file_atomically(path, *text, error, 0600))
            log_->write(Severity::error, "VG_STATE_WRITE_FAILED file=\"" + path + "\" error=\"" + error + "\"");
        return;
    }
    state_busy_ = true;
    const bool queued = kernel_.post([this, text, path]() -> Worker::Completion {
        std::string error;
        const bool ok = make_state_dir(path, error) && write_file_atomically(path, *text, error, 0600);
        return [this, path, ok, error] {
            state_busy_ = false;
            if (!ok)
                log_->write(Severity::error, "VG_STATE_WRITE_FAILED file=\"" + path + "\" error=\"" + error + "\"");
        };
    });
    if (!queued) {
        state_busy_ = false;
        busy("state");
    }
}

void Daemon::write_metrics() {
    metrics_busy_ = true;
    const bool posted = with_counters([this](const kernel::Counters& c) {
        // Rendering reads the engine: here, on the loop (microseconds); the
        // file system may be slow (a full or remounted disk): the worker.
        const std::string file = current_.policy->metrics.file;
        if (file.empty()) {   // a reload took it away meanwhile
            metrics_busy_ = false;
            return;
        }
        auto text = std::make_shared<std::string>(render_metrics(status_view(c)));
        // A reload moved the file: the old one goes once the new one is there.
        const std::string previous = metrics_file_ != file ? metrics_file_ : std::string();
        const bool queued = kernel_.post([this, text, file, previous]() -> Worker::Completion {
            std::string error;
            const bool ok = write_file_atomically(file, *text, error);
            if (ok && !previous.empty()) (void)::unlink(previous.c_str());
            return [this, file, ok, error] { metrics_written(file, ok, error); };
        });
        if (!queued) {
            busy("metrics");
            metrics_busy_ = false;
        }
    });
    if (!posted) {
        busy("metrics");
        metrics_busy_ = false;
    }
}

// A failure is logged when it starts (or its error changes), and the first
// write after it is logged too; a file that keeps being written is not.
void Daemon::metrics_written(const std::string& file, bool ok, const std::string& error) {
    metrics_busy_ = false;
    if (ok) {
        metrics_file_ = file;
        if (metrics_state_ != MetricsState::ok) {
            std::string line = "VG_METRICS_OK";
            append_field(line, "site", log_->site());
            append_field(line, "file", file);
            log_->write(Severity::info, line);
        }
        metrics_state_ = MetricsState::ok;
        return;
    }
    if (metrics_state_ != MetricsState::failing || error != metrics_error_) {
        std::string line = "VG_METRICS_FAILED";
        append_field(line, "site", log_->site());
        append_field(line, "file", file);
        append_field(line, "error", error);
        log_->write(Severity::warning, line);
    }
    metrics_state_ = MetricsState::failing;
    metrics_error_ = error;
}

void Daemon::carry_out() {
    for (const engine::Event& e : sink_->events) {
        log_->on_event(e);
        if (alerts_) alert(engine::event_id(e.type), event_severity(e.type), format_event(e, log_->site(), log_->numbers()));
    }
    sink_->events.clear();
    for (const engine::Effect& f : sink_->effects) carry_out(f);
    sink_->effects.clear();
}

// A closed pinhole's flows lose their fast path (the verified mark that lets
// the kernel pass them without asking): their conntrack entries go, so the
// next packet is judged again and dropped. A flow named by its tuple is one
// request, done here; the rest need a table dump, done on the kernel worker.
void Daemon::carry_out(const engine::Effect& f) {
    if (!conntrack_.is_open()) return;
    if (f.kind == engine::EffectKind::close_flow) {
        netlink::FlowSpec flow;
        flow.src = f.handset;
        flow.dst = f.remote;
        flow.protocol = f.protocol;
        flow.src_port = f.handset_port;
        flow.dst_port = f.remote_port;
        if (conntrack_.delete_flow(flow, true) == netlink::CtResult::deleted) ++conntrack_deleted_;
        return;
    }
    const std::uint32_t mark = opt_.verified_mark, mask = opt_.mark_mask;
    const bool posted = kernel_.post([this, f, mark, mask]() -> Worker::Completion {
        const std::optional<std::size_t> n =
            f.kind == engine::EffectKind::close_endpoint
                ? conntrack_dumps_.delete_by_endpoint(f.handset, f.handset_port, f.protocol)
                : conntrack_dumps_.delete_marked_by_address(f.handset, mark, mask, f.protocol);
        const std::size_t deleted = n ? *n : 0;
        return [this, deleted] { conntrack_deleted_ += deleted; };
    });
    if (!posted) busy("conntrack_dump");
}

// ---- reloads and DNS refreshes ----------------------------------------------
//
// reload:   load (dns_: the file, its host names, compile)
//        -> rules (kernel_: mark check, install; on failure the old rules stay)
//        -> apply (loop: the engine, the log, current_) -> answer the clients.
// refresh:  look up (dns_) -> update the sets (kernel_) -> apply (loop).
// One at a time: a reload asked for meanwhile runs next (every request that
// came in while one ran shares that next one).

void Daemon::request_reload(std::optional<ReloadWaiter> waiter) {
    if (policy_busy_) {
        if (waiter) next_reload_waiters_.push_back(*waiter);
        reload_again_ = true;
        return;
    }
    std::vector<ReloadWaiter> waiters;
    if (waiter) waiters.push_back(*waiter);
    begin_reload(std::move(waiters));
}

void Daemon::begin_reload(std::vector<ReloadWaiter> waiters) {
    policy_busy_ = true;
    reload_waiters_ = std::move(waiters);
    const std::string path = opt_.policy_path;
    // The job owns what it uses: it may be abandoned at a stop.
    const bool posted = dns_.post([this, path]() -> Worker::Completion {
        auto next = std::make_shared<LoadedPolicy>(load_policy(path));
        return [this, next] { policy_loaded(next); };
    });
    if (!posted) {
        busy("reload");
        ++reloads_failed_;
        finish_reload(false, "reload failed, the running policy stays: the daemon is busy, try again\n");
    }
}

void Daemon::policy_loaded(const std::shared_ptr<LoadedPolicy>& next) {
    if (!next->rules) {
        ++reloads_failed_;
        log_->reload_failed(opt_.policy_path, next->errors);
        alert("VG_RELOAD_FAILED", kReloadFailedLine.severity,
              reload_failed_line(log_->site(), opt_.policy_path, next->errors));
        std::string summary = "reload failed, the running policy stays:\n";
        for (const std::string& e : next->errors) summary += e + "\n";
        finish_reload(false, summary);
        return;
    }
    const std::string site = log_->site();
    const bool posted = kernel_.post([this, next, site]() -> Worker::Completion {
        auto r = std::make_shared<RulesResult>(rules_->install(*next->policy, site));
        return [this, next, r] { policy_installed(next, *r); };
    });
    if (!posted) {
        busy("reload");
        ++reloads_failed_;
        finish_reload(false, "reload failed, the running policy stays: the daemon is busy, try again\n");
    }
}

void Daemon::policy_installed(const std::shared_ptr<LoadedPolicy>& next, const RulesResult& r) {
    write_lines(*log_, r.log);
    if (!r.ok) {
        // (a failed install keeps the previous rules working)
        ++reloads_failed_;
        log_->reload_failed(opt_.policy_path, {r.error});
        alert("VG_RELOAD_FAILED", kReloadFailedLine.severity, reload_failed_line(log_->site(), opt_.policy_path, {r.error}));
        finish_reload(false, "reload failed, the running policy stays: " + r.error + "\n");
        return;
    }
    voice_interfaces_ = r.voice_interfaces;
    if (next->policy->on_failure != current_.policy->on_failure) {
        const bool open = next->policy->on_failure == config::OnFailure::open;
        std::string line = "VG_FAIL_MODE";
        append_field(line, "site", log_->site());
        append_field(line, "on_failure", open ? "open" : "closed");
        log_->write(Severity::notice, line + " (the rules follow now, at a stop too; the queue's fail-open flag"
                                             " at the next start)");
    }
    engine_->reload(next->rules, clock_now(), *sink_);
    log_->reconfigure(log_options(opt_, *next->policy));
    configure_alerts(*next->policy);
    retire(std::move(current_));
    current_ = std::move(*next);
    ++reloads_ok_;
    log_->reload_ok(opt_.policy_path, current_.warnings);
    finish_reload(true, "ok: policy reloaded (" + config::summary_line(*current_.policy) + ")\n");
}

void Daemon::finish_reload(bool ok, const std::string& summary) {
    const Timestamp now = mono_now();
    history_->note_reload(ok, clock_now().wall);
    for (const ReloadWaiter& w : reload_waiters_)
        if (w.ticket != 0 && control_) control_->respond(w.ticket, reload_reply(ok, summary, w.json), now);
    reload_waiters_.clear();
    policy_op_done();
}

void Daemon::configure_alerts(const config::Policy& p) {
    const auto& a = p.alerts;
    const bool same_runner = alerts_ && a.command == alerts_policy_.command && a.timeout == alerts_policy_.timeout &&
                             a.max_running == alerts_policy_.max_running && a.max_queued == alerts_policy_.max_queued;
    const bool same_gate = alert_gate_ && a.events == alerts_policy_.events && a.rate.count == alerts_policy_.rate.count &&
                           a.rate.per == alerts_policy_.rate.per && a.rate.burst == alerts_policy_.rate.burst;
    if (!same_runner) {
        // A changed command ends the programs of the old one (killed now).
        report_alerts();
        alerts_.reset();
        alerts_overflow_reported_ = 0;
        alerts_started_reported_ = 0;
        if (!a.command.empty()) {
            auto runner = std::make_unique<AlertRunner>(a.command, std::chrono::seconds(a.timeout.count()),
                                                        a.max_running, a.max_queued);
            std::string error;
            if (runner->start(error)) {
                alerts_ = std::move(runner);
            } else {
                std::string line = "VG_ALERT_FAILED";
                append_field(line, "site", log_->site());
                append_field(line, "error", error);
                log_->write(Severity::error, line);
            }
        }
    }
    // New buckets when the rate, the events or the program change (a new
    // program has been sent nothing yet).
    if (!same_gate || !same_runner) {
        std::chrono::seconds per(a.rate.per.count());
        alert_gate_ = std::make_unique<AlertGate>(a.events, AlertRate{a.rate.count, per, a.rate.burst});
    }
    alerts_policy_ = a;
    if (hostname_.empty()) {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) == 0) hostname_ = host;
    }
}

void Daemon::alert(std::string_view id, Severity severity, const std::string& line) {
    if (!alerts_ || !alert_gate_) return;
    switch (alert_gate_->admit(id, std::chrono::steady_clock::now())) {
    case AlertGate::Verdict::not_selected: return;
    case AlertGate::Verdict::rate_limited:
        ++alerts_limited_;
        ++alert_totals_.rate_limited;
        return;
    case AlertGate::Verdict::admitted: break;
    }
    LineContext c;
    c.severity = severity;
    c.time = std::chrono::system_clock::now();
    c.hostname = hostname_;
    c.pid = static_cast<long>(::getpid());
    (void)alerts_->submit(std::string(id), render_json(c, line, 4096));   // a full queue is counted there
}

// Failures one line each; alerts not sent (rate, full queue) one line per
// timer tick that saw some.
void Daemon::report_alerts() {
    if (!alerts_) return;
    const std::uint64_t started = alerts_->started();
    alert_totals_.started += started - alerts_started_reported_;
    alerts_started_reported_ = started;
    for (const AlertOutcome& f : alerts_->take_failures()) {
        ++alert_totals_.failed;
        std::string line = "VG_ALERT_FAILED";
        append_field(line, "site", log_->site());
        append_field(line, "event", f.event);
        append_field(line, "command", alerts_policy_.command.empty() ? std::string() : alerts_policy_.command[0]);
        append_field(line, "result", describe(f));
        log_->write(Severity::warning, line);
    }
    const std::uint64_t overflow = alerts_->overflow();
    if (overflow != alerts_overflow_reported_ || alerts_limited_ != 0) {
        std::string line = "VG_ALERT_DROPPED";
        append_field(line, "site", log_->site());
        append_field(line, "rate_limited", alerts_limited_);
        append_field(line, "queue_full", overflow - alerts_overflow_reported_);
        log_->write(Severity::warning, line);
        alert_totals_.queue_full += overflow - alerts_overflow_reported_;
        alerts_overflow_reported_ = overflow;
        alerts_limited_ = 0;
    }
}

void Daemon::begin_refresh() {
    policy_busy_ = true;
    std::shared_ptr<const config::Policy> current = current_.policy;   // never changed, only replaced
    const bool posted = dns_.post([this, current]() -> Worker::Completion {
        auto out = std::make_shared<RefreshOutcome>(refresh_policy(*current));
        return [this, out] { policy_refreshed(out); };
    });
    if (!posted) {
        busy("dns_refresh");
        policy_op_done();
    }
}

void Daemon::policy_refreshed(const std::shared_ptr<RefreshOutcome>& out) {
    write_lines(*log_, out->log);
    if (!out->changed) {
        policy_op_done();
        return;
    }
    if (!out->rules) {
        log_->write(Severity::error, failed_line("VG_DNS_REFRESH_FAILED", out->error));
        policy_op_done();
        return;
    }
    const bool posted = kernel_.post([this, out]() -> Worker::Completion {
        auto r = std::make_shared<RulesResult>(rules_->update(*out->policy));
        return [this, out, r] {
            if (r->ok) {
                voice_interfaces_ = r->voice_interfaces;
                engine_->reload(out->rules, clock_now(), *sink_);
                LoadedPolicy old;
                old.policy = std::exchange(current_.policy, out->policy);
                old.rules = std::exchange(current_.rules, out->rules);
                retire(std::move(old));
                std::string line = "VG_DNS_REFRESHED";
                append_field(line, "site", log_->site());
                log_->write(Severity::notice, line + " addresses changed, kernel sets updated");
            } else {
                log_->write(Severity::error, failed_line("VG_DNS_REFRESH_FAILED", r->error));
            }
            policy_op_done();
        };
    });
    if (!posted) {
        busy("dns_refresh");
        policy_op_done();
    }
}

// A replaced policy is freed on the kernel worker: the compiled prefix
// tries and sets of a large policy take milliseconds to free. (Done here if
// the worker cannot take it.)
void Daemon::retire(LoadedPolicy old) {
    auto policy = std::make_shared<LoadedPolicy>(std::move(old));
    (void)kernel_.post([policy]() mutable -> Worker::Completion {
        policy.reset();
        return nullptr;
    });
}

void Daemon::policy_op_done() {
    policy_busy_ = false;
    if (!reload_again_) return;
    reload_again_ = false;
    std::vector<ReloadWaiter> waiters;
    waiters.swap(next_reload_waiters_);
    begin_reload(std::move(waiters));
}

// ---- counters, status --------------------------------------------------------

bool Daemon::with_counters(std::function<void(const kernel::Counters&)> f) {
    if (counters_busy_) {
        counter_waiters_.push_back(std::move(f));
        return true;
    }
    const bool posted = kernel_.post([this]() -> Worker::Completion {
        const kernel::Counters c = rules_->counters();
        return [this, c] {
            counters_ = c;
            counters_busy_ = false;
            if (c.ok) {
                // What the kernel dropped since the last read goes to this hour.
                engine::KernelDropTotals t;
                t.inbound = c.inbound_drop_packets;
                t.egress = c.egress_drop_packets;
                t.forged = c.forged_drop_packets;
                t.foreign = c.foreign_drop_packets;
                if (auto k = netlink::read_queue_stats(opt_.queue)) t.queue = k->queue_dropped + k->user_dropped;
                t.queue += queue_.stats().enobufs;
                history_->note_kernel(t, clock_now().wall);
            }
            std::vector<std::function<void(const kernel::Counters&)>> waiters;
            waiters.swap(counter_waiters_);
            for (auto& w : waiters) w(c);
        };
    });
    if (!posted) return false;
    counters_busy_ = true;
    counter_waiters_.push_back(std::move(f));
    return true;
}

void Daemon::stats_line(const kernel::Counters& kc) {
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
    st.kernel_drops = kc.inbound_drop_packets + kc.egress_drop_packets + kc.forged_drop_packets + kc.foreign_drop_packets;
    log_->stats(st);
}

std::optional<std::string> Daemon::handle(const control::Request& r, control::Server::Ticket ticket) {
    switch (r.command) {
    case control::Command::status: {
        const bool js = r.json;
        // The kernel's counters are read by a forked tool: on the kernel
        // worker, and the answer follows.
        if (with_counters([this, ticket, js](const kernel::Counters& c) {
                if (control_) control_->respond(ticket, status_text(js, c), mono_now());
            }))
            return std::nullopt;
        return status_text(js, counters_);
    }
    case control::Command::calls:
        engine_->tick(clock_now(), *sink_);
        return render_calls(*engine_, r.json, log_->numbers());
    case control::Command::handsets: return render_handsets(*engine_, clock_now(), r.json, log_->numbers());
    case control::Command::reload: request_reload(ReloadWaiter{ticket, r.json}); return std::nullopt;
    case control::Command::report: {
        // The kernel's drops since the last read are counted in first.
        if (with_counters([this, ticket, r](const kernel::Counters& c) {
                if (control_) control_->respond(ticket, report_text(r, c), mono_now());
            }))
            return std::nullopt;
        return report_text(r, counters_);
    }
    case control::Command::audit: return start_audit(ticket, r.json);
    case control::Command::metrics:
        if (r.json) return control::error_response("metrics: there is no JSON form (Prometheus text only)", true);
        if (with_counters([this, ticket](const kernel::Counters& c) {
                if (control_) control_->respond(ticket, render_metrics(status_view(c)), mono_now());
            }))
            return std::nullopt;
        return render_metrics(status_view(counters_));
    }
    return control::error_response("unknown command", r.json);
}

// ---- the interface audit -------------------------------------------------------

std::optional<std::string> Daemon::start_audit(control::Server::Ticket ticket, bool js) {
    if (audit_busy_) {
        audit_waiters_.emplace_back(ticket, js);   // the answer of the audit running
        return std::nullopt;
    }
    if (!audit_.running()) {
        // With the loop's reduced privileges and 19 nice levels below it,
        // as the other workers.
        std::string error;
        if (!audit_.start(error)) return control::error_response("audit: cannot start its worker: " + error, js);
        watch(audit_.fd(), control::kRead);
    }
    // Copies of what the job needs: it runs on the audit thread.
    std::vector<audit::Target> targets;
    engine_->for_each_handset([&](const engine::Handset& h) {
        targets.push_back(audit::Target{h.address, std::string(h.aor.view()), std::string(h.user_agent.view())});
    });
    std::sort(targets.begin(), targets.end(),
              [](const audit::Target& a, const audit::Target& b) { return a.address < b.address; });
    std::vector<std::uint16_t> ports = audit::ports_to_probe(current_.policy->handsets.audit_ports);
    std::shared_ptr<std::atomic<bool>> cancel = audit_cancel_;
    const bool posted = audit_.post([this, targets = std::move(targets), ports = std::move(ports), cancel]() mutable
                                    -> Worker::Completion {
        auto done = std::make_shared<AuditResult>();
        done->report = audit::run_audit(std::move(targets), ports, audit::Limits{}, cancel.get(), audit::monotonic_now);
        // Rendered here, not on the loop: a large site's table is thousands of rows.
        done->text = audit::render_report(done->report, false);
        done->json = audit::render_report(done->report, true);
        return [this, done] { audit_done(*done); };
    });
    if (!posted) {
        busy("audit");
        return control::error_response("audit: the audit worker cannot take it now", js);
    }
    audit_busy_ = true;
    audit_started_ = mono_seconds();
    audit_waiters_.emplace_back(ticket, js);
    return std::nullopt;
}

void Daemon::audit_done(const AuditResult& result) {
    const audit::Report& report = result.report;
    audit_busy_ = false;
    const Timestamp now = mono_now();
    const std::size_t np = report.ports.size();
    for (std::size_t t = 0; t < report.targets.size(); ++t) {
        engine::OpenInterfaces found;
        bool probed = false;
        for (std::size_t p = 0; p < np; ++p) {
            const audit::Finding& f = report.findings[t * np + p];
            if (f.state != audit::PortState::not_probed) probed = true;
            if (f.state != audit::PortState::open) continue;
            if (found.count < engine::OpenInterfaces::kMax) found.ports[found.count++] = f.port;
            else if (found.more < 255) ++found.more;
            const audit::Target& target = report.targets[t];
            const std::string address = target.address.to_string();
            OpenInterfaceInfo info;
            info.handset = address;
            info.port = f.port;
            info.service = audit::service_name(audit::service_of(f.port));
            info.user_agent = target.user_agent;
            info.banner = f.banner;
            const std::string line = open_interface_line(log_->site(), info);
            log_->write(kOpenInterfaceLine.severity, line);
            if (alerts_) alert("VG_HANDSET_OPEN_INTERFACE", kOpenInterfaceLine.severity, line);
        }
        if (!probed) continue;   // the time bound ended first: what is known stays
        found.audited = now;
        engine_->set_open_interfaces(report.targets[t].address, found);
    }
    std::vector<std::pair<control::Server::Ticket, bool>> waiters;
    waiters.swap(audit_waiters_);
    for (const auto& [ticket, js] : waiters) {
        if (control_) control_->respond(ticket, js ? result.json : result.text, now);
    }
}

std::string Daemon::status_text(bool js, const kernel::Counters& counters) const {
    return render_status(status_view(counters), js);
}

std::string Daemon::report_text(const control::Request& r, const kernel::Counters& counters) const {
    const engine::Now now = clock_now();
    const engine::Engine& eng = *engine_;
    const engine::EngineStats& s = eng.stats();
    ReportView v;
    v.version = VOIPGUARD_VERSION;
    v.site = current_.policy->site;
    v.now = now.wall;
    v.uptime_s = mono_seconds() - started_;
    v.history = history_->summarize(now.wall, r.since_s);
    eng.for_each_handset([&](const engine::Handset& h) {
        ++v.handsets_total;
        const bool registered = h.registered_until > now.mono;
        v.handsets_registered += registered ? 1 : 0;
        if (!h.firmware_outdated && !h.stale && h.audit.weak == engine::WeakRule::none) return;
        ReportHandset rh;
        rh.address = h.address.to_string();
        rh.aor = std::string(h.aor.view());
        rh.user_agent = std::string(h.user_agent.view());
        rh.firmware_outdated = h.firmware_outdated;
        rh.stale = h.stale;
        if (h.audit.weak != engine::WeakRule::none) rh.weak_password = std::string(engine::weak_rule_text(h.audit.weak));
        rh.registered = registered;
        v.handsets.push_back(std::move(rh));
    });
    v.calls_active = eng.active_calls();
    v.tls_flows_since_start = s.reasons[static_cast<std::size_t>(engine::Reason::tls_uninspected)];
    v.static_allowance = current_.policy->media.static_allowance;
    v.static_allowance_flows_since_start = s.reasons[static_cast<std::size_t>(engine::Reason::media_static_allowance)];
    v.kernel_counters_read = counters.ok;
    return render_report(v, r.json);
}

StatusView Daemon::status_view(const kernel::Counters& counters) const {
    StatusView v;
    v.version = VOIPGUARD_VERSION;
    v.policy_path = opt_.policy_path;
    v.policy = current_.policy.get();
    v.engine = engine_.get();
    v.backend = backend_name_;
    v.backend_reason = backend_why_;
    v.voice_interfaces = voice_interfaces_;
    v.uptime_s = mono_seconds() - started_;
    v.queue = opt_.queue;
    v.queue_stats = queue_.stats();
    v.kernel_queue = netlink::read_queue_stats(opt_.queue);
    v.counters = counters;
    v.kernel_samples = kernel_samples_;
    v.conntrack_deleted = conntrack_deleted_;
    v.reloads_ok = reloads_ok_;
    v.reloads_failed = reloads_failed_;
    v.log_lines_lost = log_->lines_lost();
    v.alerts = alert_totals_;
    v.loop = loop_;
    v.loop.realtime_priority = opt_.realtime > 0 && !realtime_failed_ && loop_priority_.realtime() ? opt_.realtime : 0;
    v.loop.cpu_percent = loop_priority_.last_percent();
    v.loop.realtime_demotions = loop_priority_.demotions();
    v.audit_running = audit_busy_;
    v.audit_running_s = audit_busy_ ? mono_seconds() - audit_started_ : 0;
    v.events = sink_->counts;
    v.now = clock_now();
    return v;
}

}  // namespace

int run_daemon(const RunOptions& options) {
    Daemon d(options);
    return d.run();
}

}  // namespace vg::daemon
