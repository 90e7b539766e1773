// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/support/evasion_catalogue.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "filters/net/ip_address.h"
#include "tests/filters/net/packet_builder.h"

namespace vg::test::evasion {

namespace {

struct Host {
    const char* name;
    const char* address;
};

// The end-to-end site's addresses (tests/e2e/vgnet.py), so that exported
// entries can be sent there unchanged.
const Host kHosts[] = {
    {"handset", "192.168.20.10"},   {"handset2", "192.168.20.11"},   {"pbx", "203.0.113.10"},
    {"pbx-media", "203.0.113.70"},  {"attacker", "192.0.2.66"},      {"rogue", "192.0.2.200"},
    {"support", "198.51.100.7"},    {"outsider", "10.9.9.9"},        {"handset6", "fd00:20::10"},
    {"handset6b", "fd00:20::11"},   {"pbx6", "2001:db8:100::10"},    {"pbx-media6", "2001:db8:100::70"},
    {"attacker6", "2001:db8:666::66"}, {"rogue6", "2001:db8:666::200"},
    {"web", "198.51.100.80"},       {"dns", "198.51.100.53"},
};

bool is_handset(const std::string& h) { return h.rfind("handset", 0) == 0; }

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    std::size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
    return s.substr(a, b - a);
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string w;
    while (in >> w) out.push_back(w);
    return out;
}

// Long names of the compact header forms (RFC 3261 §7.3.3 and extensions).
std::string long_name(const std::string& n) {
    static const std::map<std::string, std::string> compact = {
        {"v", "via"},  {"f", "from"},         {"t", "to"},       {"i", "call-id"}, {"m", "contact"},
        {"l", "content-length"}, {"c", "content-type"}, {"r", "refer-to"}, {"k", "supported"},
        {"e", "content-encoding"}, {"s", "subject"}, {"o", "event"}, {"b", "referred-by"}, {"x", "session-expires"},
    };
    const std::string l = lower(n);
    auto it = compact.find(l);
    return it == compact.end() ? l : it->second;
}

// Messages are written as text; the completion fills in what a test does not
// care about.
struct MessageSpec {
    std::vector<std::string> lines;
    bool raw = false;    // exactly as written
    bool lf = false;     // bare LF line ends
    bool esc = false;    // \r \n \t \0 \\ \xNN escapes
    bool noeol = false;  // raw: no line end after the last line
};

struct Endpoint {
    std::string host;
    std::string address;
    std::uint16_t port = 0;
};

struct TcpState {
    std::uint32_t isn = 0;
    std::uint32_t next = 0;
    bool started = false;
};

struct SentRequest {
    std::string from_host;   // who sent it
    std::string method;
    std::string ruri;
    std::map<std::string, std::string> headers;   // long lower-case name -> value as written
};

bool decode_escapes(const std::string& in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '\\' || i + 1 >= in.size()) {
            out.push_back(in[i]);
            continue;
        }
        const char c = in[++i];
        switch (c) {
        case 'r': out.push_back('\r'); break;
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case '0': out.push_back('\0'); break;
        case '\\': out.push_back('\\'); break;
        case 'x': {
            if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
                !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
                return false;
            out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
            i += 2;
            break;
        }
        default: return false;
        }
    }
    return true;
}

std::string bracket(const std::string& a) { return a.find(':') != std::string::npos ? "[" + a + "]" : a; }

// The user part of a URI written in a header or request line: "sip:USER@host",
// "tel:NUMBER;params", "<sip:USER@host>;tag=x".
std::string uri_user(std::string v) {
    const auto lt = v.find('<');
    if (lt != std::string::npos) {
        const auto gt = v.find('>', lt);
        v = v.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1);
    }
    v = trim(v);
    const auto colon = v.find(':');
    if (colon == std::string::npos) return {};
    const std::string scheme = lower(v.substr(0, colon));
    std::string rest = v.substr(colon + 1);
    if (scheme == "tel") {
        const auto semi = rest.find(';');
        return semi == std::string::npos ? rest : rest.substr(0, semi);
    }
    if (scheme != "sip" && scheme != "sips") return {};
    const auto at = rest.find('@');
    if (at == std::string::npos) return {};
    return rest.substr(0, at);
}

class Parser {
public:
    Parser(const std::string& file, std::string& error) : file_(file), error_(error) {}

    std::vector<Entry> parse(const std::string& text) {
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) lines_.push_back(line);
        for (pos_ = 0; pos_ < lines_.size(); ++pos_) {
            const std::string raw = lines_[pos_];
            const std::string t = trim(raw);
            if (t.empty() || t[0] == '#') continue;
            if (!statement(t)) return {};
        }
        if (!finish_entry()) return {};
        return std::move(entries_);
    }

private:
    bool fail(const std::string& msg) {
        error_ = file_ + ":" + std::to_string(pos_ + 1) + ": " + msg;
        return false;
    }

    bool statement(const std::string& t) {
        if (t.front() == '[') {
            if (t.back() != ']' || t.size() < 3) return fail("entry header must be [name]");
            if (!finish_entry()) return false;
            Entry e;
            e.file = file_;
            e.line = static_cast<int>(pos_ + 1);
            e.name = t.substr(1, t.size() - 2);
            e.policy = default_policy_;
            if (!names_.insert(e.name).second) return fail("entry [" + e.name + "] defined twice");
            current_ = std::move(e);
            messages_.clear();
            rendered_.clear();
            tcp_.clear();
            requests_.clear();
            pending_advance_ = {};
            message_index_ = 0;
            cseq_ = 0;
            return true;
        }
        const auto colon = t.find(':');
        const std::string key = colon == std::string::npos ? std::string() : t.substr(0, colon);
        if (key == "policy" || key == "class" || key == "why" || key == "e2e") {
            const std::string value = trim(t.substr(colon + 1));
            if (!current_) {
                if (key != "policy") return fail(key + ": only `policy:` may come before the first entry");
                default_policy_ = value;
                return true;
            }
            if (key == "policy") current_->policy = value;
            else if (key == "class") current_->cls = value;
            else if (key == "why") current_->why = value;
            else if (value == "no" || value == "yes") current_->e2e = value == "yes";
            else return fail("e2e: yes or no");
            return true;
        }
        if (!current_) return fail("statement outside an entry");
        const auto w = words(t);
        if (w[0] == "msg") return message_definition(t);
        if (w[0] == "send") return send(t);
        if (w[0] == "wait") {
            if (w.size() != 2) return fail("wait DURATION");
            auto d = duration(w[1]);
            if (!d) return fail("bad duration '" + w[1] + "' (NUMBER with ms, s, m, h or d)");
            pending_advance_ += *d;
            return true;
        }
        return fail("unknown statement '" + w[0] + "'");
    }

    static std::optional<std::chrono::nanoseconds> duration(const std::string& s) {
        std::size_t i = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        if (i == 0) return std::nullopt;
        const long long n = std::stoll(s.substr(0, i));
        const std::string unit = s.substr(i);
        using namespace std::chrono;
        if (unit == "ms") return milliseconds(n);
        if (unit == "s") return seconds(n);
        if (unit == "m") return minutes(n);
        if (unit == "h") return hours(n);
        if (unit == "d") return hours(24 * n);
        return std::nullopt;
    }

    // Lines up to a line that is exactly "." (the block's own text).
    bool read_block(MessageSpec& m) {
        for (++pos_; pos_ < lines_.size(); ++pos_) {
            std::string l = lines_[pos_];
            if (!l.empty() && l.back() == '\r') l.pop_back();
            if (l == ".") return true;
            // A line starting with ".." stands for one starting with ".".
            if (l.size() >= 2 && l[0] == '.' && l[1] == '.') l.erase(0, 1);
            m.lines.push_back(l);
        }
        return fail("message block not closed with a line '.'");
    }

    bool message_options(const std::vector<std::string>& tokens, std::size_t from, MessageSpec& m,
                         std::vector<std::string>* rest) {
        for (std::size_t i = from; i < tokens.size(); ++i) {
            const std::string& o = tokens[i];
            if (o == "raw") m.raw = true;
            else if (o == "lf") m.lf = true;
            else if (o == "esc") m.esc = true;
            else if (o == "noeol") m.noeol = true;
            else if (rest != nullptr) rest->push_back(o);
            else return fail("unknown message option '" + o + "'");
        }
        return true;
    }

    bool message_definition(const std::string& t) {
        if (t.back() != ':') return fail("msg NAME [raw|lf|esc|noeol]: followed by the message and a line '.'");
        auto w = words(t.substr(0, t.size() - 1));
        if (w.size() < 2) return fail("msg needs a name");
        MessageSpec m;
        if (!message_options(w, 2, m, nullptr)) return false;
        const std::string name = w[1];
        if (!read_block(m)) return false;
        messages_[name] = std::move(m);
        return true;
    }

    static bool parse_endpoint(const std::string& s, Endpoint& e) {
        const auto colon = s.rfind(':');
        std::string host = s;
        if (colon != std::string::npos && s.find(':') == colon) {
            host = s.substr(0, colon);
            const std::string port = s.substr(colon + 1);
            if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return false;
            e.port = static_cast<std::uint16_t>(std::stoul(port));
        }
        const auto a = host_address(host);
        if (!a) return false;
        e.host = host;
        e.address = *a;
        return true;
    }

    bool send(const std::string& line) {
        std::string t = line;
        const bool inline_msg = t.back() == ':';
        if (inline_msg) t.pop_back();
        const auto w = words(t);
        if (w.size() < 3) return fail("send DIRECTION udp|tcp [options]");
        Endpoint src, dst;
        const std::string& dir = w[1];
        const bool v6 = std::find(w.begin(), w.end(), "v6") != w.end();
        if (dir == "out" || dir == "in") {
            Endpoint h{v6 ? "handset6" : "handset", *host_address(v6 ? "handset6" : "handset"), 0};
            Endpoint p{v6 ? "pbx6" : "pbx", *host_address(v6 ? "pbx6" : "pbx"), 0};
            src = dir == "out" ? h : p;
            dst = dir == "out" ? p : h;
        } else {
            const auto gt = dir.find('>');
            if (gt == std::string::npos || !parse_endpoint(dir.substr(0, gt), src) ||
                !parse_endpoint(dir.substr(gt + 1), dst))
                return fail("direction is out, in or HOST[:PORT]>HOST[:PORT] with a known host name");
        }
        const std::string proto = w[2];
        if (proto != "udp" && proto != "tcp") return fail("protocol must be udp or tcp");
        Packet p;
        p.line = static_cast<int>(pos_ + 1);
        p.tcp = proto == "tcp";
        p.src_host = src.host;
        p.dst_host = dst.host;
        p.src = src.address;
        p.dst = dst.address;
        p.v6 = src.address.find(':') != std::string::npos;
        if (p.v6 != (dst.address.find(':') != std::string::npos)) return fail("source and destination families differ");
        // Default ports: SIP on 5060; a handset's TCP connection from 40000.
        const std::uint16_t handset_tcp_port = 40000;
        auto default_port = [&](const Endpoint& e) -> std::uint16_t {
            if (e.port != 0) return e.port;
            if (p.tcp && is_handset(e.host)) return handset_tcp_port;
            return 5060;
        };
        p.src_port = default_port(src);
        p.dst_port = default_port(dst);
        MessageSpec inline_spec;
        std::vector<std::string> rest;
        if (!message_options(w, 3, inline_spec, &rest)) return false;
        std::string msg_name, bytes_range, hex;
        std::optional<std::uint32_t> seq;
        bool expect_given = false;
        for (const std::string& o : rest) {
            const auto eq = o.find('=');
            const std::string k = eq == std::string::npos ? o : o.substr(0, eq);
            const std::string v = eq == std::string::npos ? std::string() : o.substr(eq + 1);
            if (k == "v6") continue;
            if (k == "syn") p.syn = true;
            else if (k == "fin") p.fin = true;
            else if (k == "rst") p.rst = true;
            else if (k == "urg") {
                if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return fail("urg=N (urgent pointer)");
                p.urgent = static_cast<std::uint16_t>(std::stoul(v));
            }
            else if (k == "seq") {
                if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return fail("seq=N (relative)");
                seq = static_cast<std::uint32_t>(std::stoul(v));
                p.seq_override = true;
            } else if (k == "sport") p.src_port = static_cast<std::uint16_t>(std::stoul(v));
            else if (k == "dport") p.dst_port = static_cast<std::uint16_t>(std::stoul(v));
            else if (k == "msg") msg_name = v;
            else if (k == "bytes") bytes_range = v;
            else if (k == "hex") hex = v;
            else if (k == "expect") {
                if (!parse_expect(v, p.expect)) return fail("expect=accept|verified|drop|reset[/REASON]");
                expect_given = true;
            } else if (k == "event") {
                std::istringstream in(v);
                std::string ev;
                while (std::getline(in, ev, ',')) p.expect.events.push_back(ev);
            } else if (k == "number") p.expect.number = v;
            else return fail("unknown send option '" + o + "'");
        }
        (void)expect_given;
        if ((!p.tcp) && (p.syn || p.fin || p.rst || seq || p.urgent)) return fail("syn/fin/rst/seq/urg are for tcp");

        std::string payload;
        if (inline_msg) {
            if (!msg_name.empty() || !hex.empty()) return fail("an inline message excludes msg= and hex=");
            if (!read_block(inline_spec)) return false;
            if (!render(inline_spec, p, payload)) return false;
        } else if (!msg_name.empty()) {
            auto it = messages_.find(msg_name);
            if (it == messages_.end()) return fail("no message named '" + msg_name + "' in this entry");
            // A named message is rendered once: sending it again sends the
            // same bytes (a retransmission).
            auto done = rendered_.find(msg_name);
            if (done != rendered_.end()) {
                payload = done->second.first;
                p.numbers = done->second.second;
            } else {
                if (!render(it->second, p, payload)) return false;
                rendered_[msg_name] = {payload, p.numbers};
            }
        } else if (!hex.empty()) {
            if (hex.size() % 2 != 0) return fail("hex= needs an even number of digits");
            for (std::size_t i = 0; i < hex.size(); i += 2) {
                if (!std::isxdigit(static_cast<unsigned char>(hex[i])) ||
                    !std::isxdigit(static_cast<unsigned char>(hex[i + 1])))
                    return fail("hex= digits only");
                payload.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
            }
        }
        if (!bytes_range.empty()) {
            const auto c = bytes_range.find('-');
            if (c == std::string::npos) return fail("bytes=FROM-TO (TO may be empty: to the end)");
            const std::size_t from = bytes_range.substr(0, c).empty() ? 0 : std::stoul(bytes_range.substr(0, c));
            const std::size_t to = bytes_range.substr(c + 1).empty() ? payload.size() : std::stoul(bytes_range.substr(c + 1));
            if (from > to || to > payload.size())
                return fail("bytes=" + bytes_range + " outside the message (" + std::to_string(payload.size()) + " bytes)");
            payload = payload.substr(from, to - from);
        }
        p.payload.assign(payload.begin(), payload.end());
        p.advance = pending_advance_;
        pending_advance_ = {};
        p.bytes = build(p, seq);
        current_->packets.push_back(std::move(p));
        return true;
    }

    static bool parse_expect(const std::string& v, Expect& e) {
        const auto slash = v.find('/');
        const std::string kind = v.substr(0, slash);
        if (kind == "accept") e.kind = Expect::Kind::accept;
        else if (kind == "verified") e.kind = Expect::Kind::verified;
        else if (kind == "drop") e.kind = Expect::Kind::drop;
        else if (kind == "reset") e.kind = Expect::Kind::reset;
        else return false;
        if (slash != std::string::npos) e.reason = v.substr(slash + 1);
        return true;
    }

    std::string substitute(std::string s, const Packet& p) const {
        const std::map<std::string, std::string> vars = {
            {"{src}", bracket(p.src)}, {"{dst}", bracket(p.dst)},       {"{sport}", std::to_string(p.src_port)},
            {"{dport}", std::to_string(p.dst_port)}, {"{entry}", entry_token()}, {"{n}", std::to_string(message_index_)},
        };
        for (const auto& [k, v] : vars)
            for (std::size_t at = s.find(k); at != std::string::npos; at = s.find(k, at + v.size())) s.replace(at, k.size(), v);
        for (const Host& h : kHosts) {
            const std::string k = std::string("{") + h.name + "}";
            for (std::size_t at = s.find(k); at != std::string::npos; at = s.find(k, at)) s.replace(at, k.size(), bracket(h.address));
        }
        return s;
    }

    // A short token unique to the entry (Call-IDs, tags, branches).
    std::string entry_token() const {
        std::uint32_t h = 2166136261u;
        for (char c : current_->name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08x", h);
        return buf;
    }

    bool render(const MessageSpec& m, Packet& p, std::string& out) {
        ++message_index_;
        const std::string eol = m.lf ? "\n" : "\r\n";
        std::vector<std::string> lines;
        for (const std::string& l : m.lines) {
            std::string s = substitute(l, p);
            if (m.esc) {
                std::string d;
                if (!decode_escapes(s, d)) return fail("bad escape in message line");
                s = d;
            }
            lines.push_back(s);
        }
        if (m.raw) {
            for (std::size_t i = 0; i < lines.size(); ++i) {
                out += lines[i];
                if (i + 1 < lines.size() || !m.noeol) out += eol;
            }
            note_numbers(out, p);
            return true;
        }
        if (lines.empty()) return fail("empty message");
        std::size_t blank = lines.size();
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (lines[i].empty()) {
                blank = i;
                break;
            }
        const std::vector<std::string> head(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(blank));
        std::string body;
        for (std::size_t i = blank + 1; i < lines.size(); ++i) body += lines[i] + eol;
        std::map<std::string, std::string> given;
        for (std::size_t i = 1; i < head.size(); ++i) {
            const auto c = head[i].find(':');
            if (c == std::string::npos || head[i][0] == ' ' || head[i][0] == '\t') continue;
            given[long_name(trim(head[i].substr(0, c)))] = trim(head[i].substr(c + 1));
        }
        const std::string& start = head[0];
        const bool response = lower(start.substr(0, 4)) == "sip/";
        std::vector<std::string> add;
        auto need = [&](const std::string& name) { return given.find(name) == given.end(); };
        const std::string via_proto = p.tcp ? "TCP" : "UDP";
        std::map<std::string, std::string> headers = given;
        if (!response) {
            const auto sw = words(start);
            const std::string method = sw.empty() ? "" : sw[0];
            const std::string ruri = sw.size() > 1 ? sw[1] : "";
            const bool from_handset = is_handset(p.src_host);
            const std::string upper = [&] {
                std::string u = method;
                for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                return u;
            }();
            if (upper != "ACK" && upper != "CANCEL") ++cseq_;
            auto set = [&](const std::string& name, const std::string& header_line, const std::string& value) {
                if (!need(name)) return;
                add.push_back(header_line);
                headers[name] = value;
            };
            const std::string via = "SIP/2.0/" + via_proto + " " + bracket(p.src) + ":" + std::to_string(p.src_port) +
                                    ";branch=z9hG4bK" + entry_token() + "x" + std::to_string(message_index_) + ";rport";
            set("via", "Via: " + via, via);
            set("max-forwards", "Max-Forwards: 70", "70");
            const std::string from = from_handset ? "<sip:201@pbx.example>;tag=f" + entry_token()
                                                  : "<sip:+442079460000@pbx.example>;tag=p" + entry_token();
            set("from", "From: " + from, from);
            const std::string to = "<" + ruri + ">";
            set("to", "To: " + to, to);
            const std::string cid = entry_token() + "@evasion";
            set("call-id", "Call-ID: " + cid, cid);
            const std::string cseq = std::to_string(cseq_ == 0 ? 1 : cseq_) + " " + method;
            set("cseq", "CSeq: " + cseq, cseq);
            const std::string contact = "<sip:201@" + bracket(p.src) + ":" + std::to_string(p.src_port) + ">";
            set("contact", "Contact: " + contact, contact);
            SentRequest r;
            r.from_host = p.src_host;
            r.method = upper;
            r.ruri = ruri;
            r.headers = headers;
            requests_.push_back(r);
            if (upper == "INVITE") p.numbers.push_back(uri_user(ruri));
            if (upper == "REFER" && headers.count("refer-to")) p.numbers.push_back(uri_user(headers["refer-to"]));
        } else {
            // A response to the last request that came the other way.
            const SentRequest* req = nullptr;
            for (auto it = requests_.rbegin(); it != requests_.rend(); ++it)
                if (it->from_host != p.src_host) {
                    req = &*it;
                    break;
                }
            bool complete = true;
            for (const char* name : {"via", "from", "to", "call-id", "cseq"}) complete = complete && !need(name);
            if (req == nullptr && !complete)
                return fail("a response needs a request sent the other way before it in the entry (or all of Via, "
                            "From, To, Call-ID and CSeq)");
            for (const char* name : {"via", "from", "call-id", "cseq"}) {
                if (!need(name) || req == nullptr) continue;
                const auto it = req->headers.find(name);
                if (it == req->headers.end()) continue;
                std::string display = name == std::string("call-id") ? "Call-ID"
                                      : name == std::string("cseq") ? "CSeq"
                                      : std::string(1, static_cast<char>(std::toupper(name[0]))) + std::string(name + 1);
                add.push_back(display + ": " + it->second);
            }
            if (need("to") && req != nullptr) {
                auto it = req->headers.find("to");
                std::string to = it != req->headers.end() ? it->second : "<" + req->ruri + ">";
                if (to.find(";tag=") == std::string::npos) to += ";tag=t" + entry_token();
                add.push_back("To: " + to);
            }
            const auto sw = words(start);
            const int code = sw.size() > 1 ? std::atoi(sw[1].c_str()) : 0;
            if (code >= 300 && code < 400)
                for (const auto& [name, value] : given)
                    if (name == "contact") p.numbers.push_back(uri_user(value));
        }
        if (!body.empty() && need("content-type")) add.push_back("Content-Type: application/sdp");
        if (need("content-length")) add.push_back("Content-Length: " + std::to_string(body.size()));
        out = start + eol;
        // Given headers first, in the order written, then the completed ones.
        for (std::size_t i = 1; i < head.size(); ++i) out += head[i] + eol;
        for (const std::string& a : add) out += a + eol;
        out += eol;
        out += body;
        return true;
    }

    void note_numbers(const std::string& text, Packet& p) {
        // Raw messages: the Request-URI user of an INVITE / REFER's Refer-To.
        const auto eol = text.find_first_of("\r\n");
        const auto sw = words(text.substr(0, eol));
        if (sw.size() >= 2 && lower(sw[0]) == "invite") p.numbers.push_back(uri_user(sw[1]));
    }

    Bytes build(Packet& p, std::optional<std::uint32_t> seq_rel) {
        Bytes l4;
        if (!p.tcp) {
            l4 = test::udp(p.src_port, p.dst_port, p.payload);
        } else {
            const std::string key = p.src + "|" + std::to_string(p.src_port) + "|" + p.dst + "|" + std::to_string(p.dst_port);
            const std::string rkey = p.dst + "|" + std::to_string(p.dst_port) + "|" + p.src + "|" + std::to_string(p.src_port);
            TcpState& s = tcp_[key];
            TcpState& r = tcp_[rkey];
            if (!s.started) {
                s.started = true;
                // The side that is seen first is the client.
                s.isn = r.started ? 9000 : 1000;
                s.next = s.isn + 1;
            }
            std::uint32_t seq = seq_rel ? s.isn + *seq_rel : s.next;
            if (p.syn && !seq_rel) seq = s.isn;
            // Data sent elsewhere (seq=) moves the next sequence number only
            // when it starts there: a gap or an overlap stays one.
            std::uint32_t end = seq + static_cast<std::uint32_t>(p.payload.size()) + (p.syn ? 1u : 0u) + (p.fin ? 1u : 0u);
            if ((!seq_rel || seq == s.next || p.syn) && static_cast<std::int32_t>(end - s.next) > 0) s.next = end;
            unsigned flags = 0x10;   // ACK
            if (p.syn) flags = r.started ? 0x12 : 0x02;   // SYN+ACK answers a SYN
            if (p.fin) flags |= 0x01;
            if (p.rst) flags |= 0x04;
            if (!p.payload.empty()) flags |= 0x08;   // PSH
            if (p.urgent != 0) flags |= 0x20;        // URG
            l4 = test::tcp(p.src_port, p.dst_port, flags, {}, p.payload);
            l4[18] = static_cast<std::uint8_t>(p.urgent >> 8);
            l4[19] = static_cast<std::uint8_t>(p.urgent);
            auto put32at = [&](std::size_t at, std::uint32_t v) {
                l4[at] = static_cast<std::uint8_t>(v >> 24);
                l4[at + 1] = static_cast<std::uint8_t>(v >> 16);
                l4[at + 2] = static_cast<std::uint8_t>(v >> 8);
                l4[at + 3] = static_cast<std::uint8_t>(v);
            };
            put32at(4, seq);
            put32at(8, r.started ? r.next : 0);
            if (!r.started && !p.syn) l4[13] = static_cast<std::uint8_t>(l4[13] & ~0x10);
        }
        const auto s = net::IpAddress::parse(p.src);
        const auto d = net::IpAddress::parse(p.dst);
        if (!p.v6) {
            test::V4 h;
            h.protocol = p.tcp ? 6 : 17;
            std::memcpy(h.src, s->bytes(), 4);
            std::memcpy(h.dst, d->bytes(), 4);
            return test::ipv4(h, l4);
        }
        test::V6 h;
        h.next = p.tcp ? 6 : 17;
        std::memcpy(h.src, s->bytes(), 16);
        std::memcpy(h.dst, d->bytes(), 16);
        return test::ipv6(h, l4);
    }

    bool finish_entry() {
        if (!current_) return true;
        if (current_->cls.empty()) return fail("entry [" + current_->name + "] has no class:");
        if (current_->why.empty()) return fail("entry [" + current_->name + "] has no why:");
        if (current_->packets.empty()) return fail("entry [" + current_->name + "] sends nothing");
        entries_.push_back(std::move(*current_));
        current_.reset();
        return true;
    }

    std::string file_;
    std::string& error_;
    std::vector<std::string> lines_;
    std::size_t pos_ = 0;
    std::string default_policy_ = "policy.yaml";
    std::optional<Entry> current_;
    std::vector<Entry> entries_;
    std::set<std::string> names_;
    std::map<std::string, MessageSpec> messages_;
    std::map<std::string, std::pair<std::string, std::vector<std::string>>> rendered_;
    std::map<std::string, TcpState> tcp_;
    std::vector<SentRequest> requests_;
    std::chrono::nanoseconds pending_advance_{0};
    unsigned message_index_ = 0;
    unsigned cseq_ = 0;
};

}  // namespace

std::string Expect::text() const {
    std::string s;
    switch (kind) {
    case Kind::accept: s = "accept"; break;
    case Kind::verified: s = "verified"; break;
    case Kind::drop: s = "drop"; break;
    case Kind::reset: s = "reset"; break;
    }
    if (!reason.empty()) s += "/" + reason;
    return s;
}

std::optional<std::string> host_address(const std::string& name) {
    for (const Host& h : kHosts)
        if (name == h.name) return std::string(h.address);
    return std::nullopt;
}

std::vector<Entry> parse_catalogue(const std::string& text, const std::string& file, std::string& error) {
    Parser p(file, error);
    return p.parse(text);
}

std::vector<Entry> load_catalogue(const std::string& dir, std::string& error) {
    std::vector<std::string> files;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            const std::string n = e->d_name;
            if (n.size() > 8 && n.compare(n.size() - 8, 8, ".evasion") == 0) files.push_back(n);
        }
        closedir(d);
    } else {
        error = dir + ": cannot open: " + std::strerror(errno);
        return {};
    }
    std::sort(files.begin(), files.end());
    std::vector<Entry> all;
    std::set<std::string> names;
    for (const std::string& f : files) {
        std::ifstream in(dir + "/" + f, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        auto entries = parse_catalogue(ss.str(), f, error);
        if (!error.empty()) return {};
        for (auto& e : entries) {
            if (!names.insert(e.name).second) {
                error = e.where() + ": entry [" + e.name + "] is also defined in another file";
                return {};
            }
            all.push_back(std::move(e));
        }
    }
    return all;
}

}  // namespace vg::test::evasion
