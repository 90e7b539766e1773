// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket: `voipguard status|calls|handsets|reload|audit [--json]`,
// `voipguard report [--since DURATION] [--json]` and
// `voipguard metrics` (Prometheus text; its json form is refused) talk
// to the running daemon over a Unix stream socket.
//
// Protocol: the client sends one line, "COMMAND" or "COMMAND json" (at most
// 512 bytes, LF or CRLF; end of input ends the line too), and for report an
// optional window before "json": "report since=SECONDS [json]" (1 to
// 604800, 7 days; default 86400); the daemon answers
// once, text or JSON, and closes. An error answer is one line starting with
// "error: " (JSON requests: {"error":"..."}).
//
// The server is driven by the daemon's epoll loop and never blocks it: every
// socket is non-blocking, answers wait in a bounded per-client buffer, a
// client that sends nothing for 2 s or does not read its answer within 5 s is
// dropped, and at most 16 clients are served at a time (more are told so and
// closed). It knows nothing of the engine: a handler supplied by the daemon
// turns a Request into the answer text.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/engine/timestamp.h"

namespace vg::daemon::control {

constexpr const char* kDefaultSocketPath = "/run/voipguard/control.sock";

enum class Command : std::uint8_t { status, calls, handsets, reload, metrics, report, audit };

constexpr std::int64_t kReportDefaultSince = 24 * 3600;
constexpr std::int64_t kReportMaxSince = 7 * 24 * 3600;

struct Request {
    Command command = Command::status;
    bool json = false;
    std::int64_t since_s = kReportDefaultSince;   // report: the window, seconds
};

std::string_view command_name(Command c) noexcept;
std::optional<Command> parse_command(std::string_view name) noexcept;

// Why a request was refused or a client dropped (stable names, for the log).
enum class Rejection : std::uint8_t {
    malformed,          // not "COMMAND [json]" in printable ASCII
    bad_argument,       // report: since= is not 1..604800 seconds
    oversized,          // longer than max_line before its end
    unknown_command,
    too_many_clients,
    request_timeout,    // nothing (or no full line) within request_timeout
    response_timeout,   // did not read the answer within response_timeout
    response_too_large, // the handler's answer exceeded max_response
    handler_failed,     // the handler threw
    handler_timeout,    // a deferred answer did not come within handler_timeout
};
std::string_view rejection_name(Rejection r) noexcept;   // "unknown_command"

// Parses one request line (without its line end). On failure returns
// nullopt and sets `why` and `detail` (the offending text as received, cut
// after 48 bytes: escape it before printing). `json` is set whenever the line ends in " json",
// so even an error can be answered in the requested format.
std::optional<Request> parse_request(std::string_view line, Rejection& why, std::string& detail, bool& json);

// The answer for a refused request, in the client's format, newline-terminated.
std::string error_response(std::string_view message, bool json);

struct ServerOptions {
    std::string path = kDefaultSocketPath;
    std::size_t max_clients = 16;
    std::size_t max_line = 512;
    std::size_t max_response = 1024 * 1024;   // larger answers become an error
    engine::Duration request_timeout = std::chrono::seconds(2);
    engine::Duration response_timeout = std::chrono::seconds(5);
    // How long a deferred answer (see Server::AsyncHandler) may take; the
    // client is then told "timed out" (the work itself goes on).
    engine::Duration handler_timeout = std::chrono::seconds(90);
    int backlog = 32;
    // Owner of the socket (and of its directory, when the server creates it);
    // -1 keeps the process's ids. The daemon passes the user it drops to.
    uid_t owner = static_cast<uid_t>(-1);
    gid_t group = static_cast<gid_t>(-1);
    mode_t directory_mode = 0750;
    mode_t socket_mode = 0600;
};

// epoll interest of a file descriptor: read, write, or 0 = forget it (it is
// about to be closed).
enum Interest : unsigned { kNone = 0, kRead = 1, kWrite = 2 };

struct Watch {
    int fd = -1;
    unsigned interest = kNone;
};

class Server {
public:
    using Handler = std::function<std::string(const Request&)>;
    // Names a request whose answer comes later, through respond().
    using Ticket = std::uint64_t;
    // Returns the answer, or nullopt to give it later with respond(ticket).
    using AsyncHandler = std::function<std::optional<std::string>(const Request&, Ticket)>;
    // Called for every refused request or dropped client, with the client's
    // credentials (SO_PEERCRED; -1 when unknown) and a detail: client bytes
    // as received, at most 48 (Log::control_rejected escapes them).
    using RejectCallback =
        std::function<void(Rejection why, std::string_view detail, std::int64_t uid, std::int64_t pid)>;
    // Called when a client fd must be added to, changed in, or (interest 0)
    // removed from the caller's epoll set. The listening fd is not reported:
    // the caller registers listen_fd() for reading itself.
    using WatchCallback = std::function<void(int fd, unsigned interest)>;

    Server(ServerOptions options, Handler handler, RejectCallback on_reject = {}, WatchCallback on_watch = {});
    Server(ServerOptions options, AsyncHandler handler, RejectCallback on_reject = {}, WatchCallback on_watch = {});
    ~Server();   // closes every client and the socket, removes the socket file if it is still ours
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Creates the directory (if missing, with directory_mode) and the socket
    // (socket_mode, owner/group). A socket file nobody listens on (left by a
    // crashed instance) is replaced; a live one, or a file that is not a
    // socket, is an error. False with a message on failure.
    bool open(std::string* error);

    int listen_fd() const noexcept { return listen_fd_; }
    const std::string& path() const noexcept { return options_.path; }

    // epoll reported `fd` (the listening fd or a client's) readable /
    // writable; report EPOLLHUP / EPOLLERR as readable. Unknown fds are
    // ignored. The handler runs inside on_readable(), on the caller's thread.
    void on_readable(int fd, engine::Timestamp now);
    void on_writable(int fd, engine::Timestamp now);
    // Drops clients whose request or answer is overdue. Call about once a second.
    void tick(engine::Timestamp now);
    // The deferred answer to request `ticket` (the handler returned
    // nullopt). False when that client is gone (it hung up or timed out):
    // the answer is dropped. `text` is checked against max_response.
    bool respond(Ticket ticket, std::string text, engine::Timestamp now);
    // Requests waiting for respond().
    std::size_t waiting_count() const noexcept;

    // Every fd with its interest, the listening fd first (for poll loops).
    std::vector<Watch> fds() const;
    std::size_t client_count() const noexcept { return clients_.size(); }

private:
    struct Client;
    void accept_clients(engine::Timestamp now);
    void read_client(Client& c, engine::Timestamp now);
    void answer(Client& c, std::string text, engine::Timestamp now);
    void deliver(Client& c, std::string text, bool json, engine::Timestamp now);
    void write_client(Client& c);
    void reject(Client& c, Rejection why, std::string_view detail, bool json, engine::Timestamp now);
    void close_client(int fd);
    Client* find(int fd) noexcept;
    void report(Rejection why, std::string_view detail, std::int64_t uid, std::int64_t pid);

    ServerOptions options_;
    AsyncHandler handler_;
    RejectCallback on_reject_;
    WatchCallback on_watch_;
    int listen_fd_ = -1;
    dev_t socket_dev_ = 0;
    ino_t socket_ino_ = 0;
    std::vector<std::unique_ptr<Client>> clients_;
    Ticket next_ticket_ = 1;
};

// --- client --------------------------------------------------------------------

struct ClientResult {
    enum class Status { ok, error_reply, not_running, failed } status = Status::failed;
    std::string response;   // the daemon's answer (ok, error_reply)
    std::string error;      // what went wrong (not_running, failed)
};

// Connects to `path`, sends `line` and reads the whole answer; gives up
// after `timeout`. The answer is an error reply when it starts with "error:"
// or {"error":.
ClientResult request(const std::string& path, std::string_view line, std::chrono::milliseconds timeout);

}  // namespace vg::daemon::control
