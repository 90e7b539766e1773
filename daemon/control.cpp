// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket server and client (see control.h).
#include "daemon/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "daemon/json.h"

namespace vg::daemon::control {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::size_t kMaxDetail = 48;
// accept() calls per readable event, so a connection storm cannot keep the
// daemon's loop in here.
constexpr int kMaxAcceptsPerCall = 64;

// Printable ASCII as it is, anything else as \xNN, cut after kMaxDetail bytes.
std::string printable(std::string_view s) {
    std::string out;
    const std::size_t n = std::min(s.size(), kMaxDetail);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    if (s.size() > n) out += "...";
    return out;
}

// The offending text as it came, cut short (the log escapes it).
std::string raw_detail(std::string_view s) { return std::string(s.substr(0, kMaxDetail)); }

std::string errno_text(int err) { return std::strerror(err); }

bool fill_address(const std::string& path, sockaddr_un& addr, std::string* error) {
    addr = sockaddr_un{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        if (error) *error = "control socket path \"" + path + "\" is empty or too long (max " +
                            std::to_string(sizeof addr.sun_path - 1) + " bytes)";
        return false;
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    return true;
}

std::string parent_directory(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool is_error_reply(std::string_view r) {
    return r.rfind("error:", 0) == 0 || r.rfind("{\"error\"", 0) == 0;
}

}  // namespace

std::string_view command_name(Command c) noexcept {
    switch (c) {
    case Command::status: return "status";
    case Command::calls: return "calls";
    case Command::handsets: return "handsets";
    case Command::reload: return "reload";
    case Command::metrics: return "metrics";
    case Command::report: return "report";
    case Command::audit: return "audit";
    }
    return "status";
}

std::optional<Command> parse_command(std::string_view name) noexcept {
    for (Command c : {Command::status, Command::calls, Command::handsets, Command::reload, Command::metrics,
                      Command::report, Command::audit}) {
        if (command_name(c) == name) return c;
    }
    return std::nullopt;
}

std::string_view rejection_name(Rejection r) noexcept {
    switch (r) {
    case Rejection::malformed: return "malformed";
    case Rejection::bad_argument: return "bad_argument";
    case Rejection::oversized: return "oversized";
    case Rejection::unknown_command: return "unknown_command";
    case Rejection::too_many_clients: return "too_many_clients";
    case Rejection::request_timeout: return "request_timeout";
    case Rejection::response_timeout: return "response_timeout";
    case Rejection::response_too_large: return "response_too_large";
    case Rejection::handler_failed: return "handler_failed";
    case Rejection::handler_timeout: return "handler_timeout";
    }
    return "unknown";
}

std::optional<Request> parse_request(std::string_view line, Rejection& why, std::string& detail, bool& json) {
    json = false;
    for (char ch : line) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            why = Rejection::malformed;
            detail = raw_detail(line);
            return std::nullopt;
        }
    }
    std::vector<std::string_view> words;
    for (std::size_t i = 0; i < line.size();) {
        if (line[i] == ' ' || line[i] == '\t') {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (words.size() == 3) {   // enough to know it is wrong
            why = Rejection::malformed;
            detail = raw_detail(line);
            return std::nullopt;
        }
        words.push_back(line.substr(i, j - i));
        i = j;
    }
    if (words.size() >= 2 && words.back() == "json") {
        json = true;
        words.pop_back();
    }
    if (words.empty() || words.size() > 2) {
        why = Rejection::malformed;
        detail = raw_detail(line);
        return std::nullopt;
    }
    const std::optional<Command> c = parse_command(words[0]);
    if (!c) {
        why = Rejection::unknown_command;
        detail = raw_detail(words[0]);
        return std::nullopt;
    }
    Request req{*c, json, kReportDefaultSince};
    if (words.size() == 2) {
        // Only report takes an argument: since=SECONDS.
        constexpr std::string_view kSince = "since=";
        if (*c != Command::report || words[1].substr(0, kSince.size()) != kSince) {
            why = Rejection::malformed;
            detail = raw_detail(line);
            return std::nullopt;
        }
        const std::string_view digits = words[1].substr(kSince.size());
        std::int64_t v = 0;
        bool ok = !digits.empty() && digits.size() <= 7;
        for (char d : digits) {
            if (d < '0' || d > '9') ok = false;
            else v = v * 10 + (d - '0');
        }
        if (!ok || v < 1 || v > kReportMaxSince) {
            why = Rejection::bad_argument;
            detail = raw_detail(words[1]);
            return std::nullopt;
        }
        req.since_s = v;
    }
    return req;
}

std::string error_response(std::string_view message, bool json) {
    std::string out;
    if (json) {
        out = "{";
        json::field(out, "error", message);
        out += "}\n";
    } else {
        out = "error: ";
        out += message;
        out += '\n';
    }
    return out;
}

// ---------------------------------------------------------------------------
// Server

struct Server::Client {
    int fd = -1;
    std::int64_t uid = -1;
    std::int64_t pid = -1;
    engine::Timestamp deadline{};
    std::string in;          // the request line so far (bounded by max_line + 2)
    std::string out;         // the answer (bounded by max_response + an error line)
    std::size_t sent = 0;
    bool answering = false;  // request read; writing `out`
    Server::Ticket ticket = 0;   // non-zero: the answer comes through respond()
    bool json = false;           // the waiting request's format (for a timeout's error)
    bool write_watched = false;
};

Server::Server(ServerOptions options, AsyncHandler handler, RejectCallback on_reject, WatchCallback on_watch)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      on_reject_(std::move(on_reject)),
      on_watch_(std::move(on_watch)) {}

Server::Server(ServerOptions options, Handler handler, RejectCallback on_reject, WatchCallback on_watch)
    : Server(std::move(options),
             AsyncHandler([h = std::move(handler)](const Request& r, Ticket) -> std::optional<std::string> {
                 return h(r);
             }),
             std::move(on_reject), std::move(on_watch)) {}

Server::~Server() {
    while (!clients_.empty()) close_client(clients_.back()->fd);
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        // Remove the socket file only if it is still the one this server
        // made (a new instance may have replaced it).
        struct stat st {};
        if (::lstat(options_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == socket_dev_ &&
            st.st_ino == socket_ino_) {
            ::unlink(options_.path.c_str());
        }
    }
}

bool Server::open(std::string* error) {
    if (listen_fd_ >= 0) return true;
    sockaddr_un addr{};
    if (!fill_address(options_.path, addr, error)) return false;
    const std::string& path = options_.path;

    // The directory: created with directory_mode when missing.
    const std::string dir = parent_directory(path);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT || ::mkdir(dir.c_str(), options_.directory_mode) != 0) {
            if (error) *error = "cannot create directory " + dir + ": " + errno_text(errno);
            return false;
        }
        // mkdir() applied the umask; set the mode asked for.
        if (::chmod(dir.c_str(), options_.directory_mode) != 0 ||
            ((options_.owner != static_cast<uid_t>(-1) || options_.group != static_cast<gid_t>(-1)) &&
             ::chown(dir.c_str(), options_.owner, options_.group) != 0)) {
            if (error) *error = "cannot set mode/owner of " + dir + ": " + errno_text(errno);
            return false;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        if (error) *error = dir + " is not a directory";
        return false;
    }

    // An existing socket file: live (another voipguard answers) or stale.
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            if (error) *error = path + " exists and is not a socket; not replacing it";
            return false;
        }
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (probe < 0) {
            if (error) *error = "socket: " + errno_text(errno);
            return false;
        }
        const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        const int err = errno;
        ::close(probe);
        if (rc == 0 || err == EAGAIN) {
            if (error) *error = path + " is in use: another voipguard is running";
            return false;
        }
        if (err != ECONNREFUSED) {
            if (error) *error = "cannot check " + path + ": " + errno_text(err);
            return false;
        }
        // Nobody listens: left behind by an instance that did not exit cleanly.
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            if (error) *error = "cannot remove stale socket " + path + ": " + errno_text(errno);
            return false;
        }
    }

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        if (error) *error = "socket: " + errno_text(errno);
        return false;
    }
    // Linux creates the socket file with the socket inode's mode (less the
    // umask), so the file never exists with a wider mode than asked for; the
    // chmod after bind() covers kernels that do not.
    (void)::fchmod(fd, options_.socket_mode);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        if (error) *error = "cannot bind " + path + ": " + errno_text(errno);
        ::close(fd);
        return false;
    }
    auto fail = [&](const std::string& what) {
        if (error) *error = what + ": " + errno_text(errno);
        ::close(fd);
        ::unlink(path.c_str());
        return false;
    };
    if (::chmod(path.c_str(), options_.socket_mode) != 0) return fail("cannot set the mode of " + path);
    if ((options_.owner != static_cast<uid_t>(-1) || options_.group != static_cast<gid_t>(-1)) &&
        ::chown(path.c_str(), options_.owner, options_.group) != 0) {
        return fail("cannot set the owner of " + path);
    }
    if (::listen(fd, options_.backlog) != 0) return fail("cannot listen on " + path);
    if (::lstat(path.c_str(), &st) != 0) return fail("cannot stat " + path);
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
    listen_fd_ = fd;
    return true;
}

Server::Client* Server::find(int fd) noexcept {
    for (auto& c : clients_) {
        if (c->fd == fd) return c.get();
    }
    return nullptr;
}

std::vector<Watch> Server::fds() const {
    std::vector<Watch> out;
    if (listen_fd_ >= 0) out.push_back({listen_fd_, kRead});
    for (const auto& c : clients_) {
        if (c->ticket != 0) continue;   // waiting for respond(): nothing to watch
        out.push_back({c->fd, c->answering ? unsigned{kWrite} : unsigned{kRead}});
    }
    return out;
}

void Server::report(Rejection why, std::string_view detail, std::int64_t uid, std::int64_t pid) {
    if (on_reject_) on_reject_(why, detail, uid, pid);
}

void Server::close_client(int fd) {
    auto it = std::find_if(clients_.begin(), clients_.end(), [fd](const auto& c) { return c->fd == fd; });
    if (it == clients_.end()) return;
    if (on_watch_) on_watch_(fd, kNone);
    ::close(fd);
    clients_.erase(it);
}

void Server::on_readable(int fd, engine::Timestamp now) {
    if (fd < 0) return;
    if (fd == listen_fd_) {
        accept_clients(now);
        return;
    }
    Client* c = find(fd);
    if (c == nullptr) return;
    if (c->ticket != 0) {
        return;   // waiting for respond(); its hang-up shows when the answer is written
    } else if (c->answering) {
        write_client(*c);   // hang-up or error while answering: the write finds out
    } else {
        read_client(*c, now);
    }
}

void Server::on_writable(int fd, engine::Timestamp now) {
    (void)now;
    Client* c = find(fd);
    if (c != nullptr && c->answering) write_client(*c);
}

void Server::accept_clients(engine::Timestamp now) {
    for (int i = 0; i < kMaxAcceptsPerCall; ++i) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;   // EAGAIN, or out of fds (the next event retries)
        }
        std::int64_t uid = -1, pid = -1;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred) {
            uid = cred.uid;
            pid = cred.pid;
        }
        if (clients_.size() >= options_.max_clients) {
            const std::string msg = error_response("too many clients, try again", false);
            (void)::send(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            ::close(fd);
            report(Rejection::too_many_clients, {}, uid, pid);
            continue;
        }
        auto c = std::make_unique<Client>();
        c->fd = fd;
        c->uid = uid;
        c->pid = pid;
        c->deadline = now + options_.request_timeout;
        clients_.push_back(std::move(c));
        if (on_watch_) on_watch_(fd, kRead);
    }
}

void Server::read_client(Client& c, engine::Timestamp now) {
    const std::size_t limit = options_.max_line + 2;   // the line and CRLF
    bool eof = false;
    std::size_t newline = std::string::npos;
    for (;;) {
        newline = c.in.find('\n');
        if (newline != std::string::npos || c.in.size() >= limit) break;
        char buf[512];
        const std::size_t want = std::min(sizeof buf, limit - c.in.size());
        const ssize_t n = ::recv(c.fd, buf, want, 0);
        if (n > 0) {
            c.in.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;   // wait for the rest
        close_client(c.fd);
        return;
    }
    if (newline == std::string::npos && !eof) {
        reject(c, Rejection::oversized, raw_detail(c.in), false, now);   // no end seen: answer in text
        return;
    }
    if (newline == std::string::npos && c.in.empty()) {
        close_client(c.fd);   // connected and hung up (another instance's liveness probe)
        return;
    }
    std::string_view line(c.in);
    if (newline != std::string::npos) line = line.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool json = false;
    if (line.size() > options_.max_line) {
        json = line.size() >= 5 && line.substr(line.size() - 5) == " json";
        reject(c, Rejection::oversized, raw_detail(line), json, now);
        return;
    }
    Rejection why = Rejection::malformed;
    std::string detail;
    const std::optional<Request> req = parse_request(line, why, detail, json);
    if (!req) {
        reject(c, why, detail, json, now);
        return;
    }
    std::optional<std::string> text;
    const Ticket ticket = next_ticket_++;
    try {
        text = handler_(*req, ticket);
    } catch (const std::exception& e) {
        reject(c, Rejection::handler_failed, raw_detail(e.what()), json, now);
        return;
    } catch (...) {
        reject(c, Rejection::handler_failed, {}, json, now);
        return;
    }
    if (!text) {
        // Deferred: nothing to read or write until respond(). The fd leaves
        // the epoll set (a client that shut its writing side down would be
        // readable forever); the answer's write finds out if it hung up.
        c.ticket = ticket;
        c.json = json;
        c.in.clear();
        c.deadline = now + options_.handler_timeout;
        if (on_watch_) on_watch_(c.fd, kNone);
        return;
    }
    deliver(c, std::move(*text), json, now);
}

void Server::deliver(Client& c, std::string text, bool json, engine::Timestamp now) {
    if (text.size() > options_.max_response) {
        reject(c, Rejection::response_too_large, std::to_string(text.size()) + " bytes", json, now);
        return;
    }
    answer(c, std::move(text), now);
}

bool Server::respond(Ticket ticket, std::string text, engine::Timestamp now) {
    if (ticket == 0) return false;
    for (auto& c : clients_) {
        if (c->ticket != ticket) continue;
        c->ticket = 0;
        if (on_watch_) on_watch_(c->fd, kRead);   // back in the set, for the write's errors
        deliver(*c, std::move(text), c->json, now);
        return true;
    }
    return false;
}

std::size_t Server::waiting_count() const noexcept {
    std::size_t n = 0;
    for (const auto& c : clients_) n += c->ticket != 0 ? 1 : 0;
    return n;
}

void Server::reject(Client& c, Rejection why, std::string_view detail, bool json, engine::Timestamp now) {
    std::string message;
    switch (why) {
    case Rejection::malformed: message = "malformed request (expected: COMMAND [json], report [since=SECONDS] [json])"; break;
    case Rejection::bad_argument:
        message = "report: '" + printable(detail) + "' is not since=SECONDS with 1 to " +
                  std::to_string(kReportMaxSince) + " seconds (7 days)";
        break;
    case Rejection::oversized:
        message = "request too long (max " + std::to_string(options_.max_line) + " bytes)";
        break;
    case Rejection::unknown_command:
        message = "unknown command '" + printable(detail) + "' (expected status, calls, handsets, reload, metrics, report or audit)";
        break;
    case Rejection::response_too_large: message = "answer too large"; break;
    case Rejection::handler_failed: message = "internal error"; break;
    case Rejection::handler_timeout: message = "timed out (the daemon goes on with the request)"; break;
    case Rejection::too_many_clients: message = "too many clients"; break;
    case Rejection::request_timeout: message = "timed out waiting for the request"; break;
    case Rejection::response_timeout: message = "timed out"; break;
    }
    report(why, detail, c.uid, c.pid);
    answer(c, error_response(message, json), now);
}

void Server::answer(Client& c, std::string text, engine::Timestamp now) {
    if (text.empty() || text.back() != '\n') text.push_back('\n');
    c.in.clear();
    c.in.shrink_to_fit();
    c.out = std::move(text);
    c.sent = 0;
    c.answering = true;
    c.deadline = now + options_.response_timeout;
    write_client(c);
}

void Server::write_client(Client& c) {
    while (c.sent < c.out.size()) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c.sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c.write_watched && on_watch_) on_watch_(c.fd, kWrite);
            c.write_watched = true;
            return;
        }
        break;   // the client went away
    }
    close_client(c.fd);
}

void Server::tick(engine::Timestamp now) {
    std::vector<int> overdue;
    for (const auto& c : clients_) {
        if (now >= c->deadline) overdue.push_back(c->fd);
    }
    for (int fd : overdue) {
        Client* c = find(fd);
        if (c == nullptr) continue;
        if (c->ticket != 0) {
            c->ticket = 0;
            if (on_watch_) on_watch_(c->fd, kRead);
            reject(*c, Rejection::handler_timeout, {}, c->json, now);
            continue;
        }
        if (c->answering) {
            report(Rejection::response_timeout, std::to_string(c->out.size() - c->sent) + " bytes unread", c->uid,
                   c->pid);
        } else {
            report(Rejection::request_timeout, raw_detail(c->in), c->uid, c->pid);
            const std::string msg = error_response("timed out waiting for the request", false);
            (void)::send(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        close_client(fd);
    }
}

// ---------------------------------------------------------------------------
// Client

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, at least 0.
int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60 * 60 * 1000));
}

}  // namespace

ClientResult request(const std::string& path, std::string_view line, std::chrono::milliseconds timeout) {
    ClientResult r;
    sockaddr_un addr{};
    if (!fill_address(path, addr, &r.error)) return r;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        r.error = "socket: " + errno_text(errno);
        return r;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};

    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ECONNREFUSED) {
            r.status = ClientResult::Status::not_running;
            r.error = "cannot connect to " + path + ": " + errno_text(err) + " (is voipguard running?)";
        } else if (err == EAGAIN) {
            r.error = "cannot connect to " + path + ": the daemon is busy, try again";
        } else {
            r.error = "cannot connect to " + path + ": " + errno_text(err);
        }
        return r;
    }

    const Clock::time_point deadline = Clock::now() + timeout;
    std::string out(line);
    out.push_back('\n');
    std::size_t sent = 0;
    while (sent < out.size()) {
        const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd, POLLOUT, 0};
            const int rc = ::poll(&p, 1, remaining_ms(deadline));
            if (rc == 0) {
                r.error = "timed out sending the request to " + path;
                return r;
            }
            if (rc < 0 && errno != EINTR) {
                r.error = "poll: " + errno_text(errno);
                return r;
            }
            continue;
        }
        r.error = "cannot send to " + path + ": " + errno_text(errno);
        return r;
    }

    constexpr std::size_t kMaxAnswer = 64u * 1024 * 1024;
    for (;;) {
        char buf[16384];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            if (r.response.size() + static_cast<std::size_t>(n) > kMaxAnswer) {
                r.error = "the answer is larger than " + std::to_string(kMaxAnswer) + " bytes";
                return r;
            }
            r.response.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            pollfd p{fd, POLLIN, 0};
            const int rc = ::poll(&p, 1, remaining_ms(deadline));
            if (rc == 0) {
                r.error = "timed out waiting for the answer from " + path;
                return r;
            }
            if (rc < 0 && errno != EINTR) {
                r.error = "poll: " + errno_text(errno);
                return r;
            }
            continue;
        }
        // A reset after a complete answer is not an error.
        if (errno == ECONNRESET && !r.response.empty()) break;
        r.error = "cannot read from " + path + ": " + errno_text(errno);
        return r;
    }
    if (r.response.empty()) {
        r.error = "the daemon closed the connection without an answer";
        return r;
    }
    r.status = is_error_reply(r.response) ? ClientResult::Status::error_reply : ClientResult::Status::ok;
    return r;
}

}  // namespace vg::daemon::control
