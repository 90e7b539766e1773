// SPDX-License-Identifier: GPL-2.0-or-later
// Differential fuzz target: voipguard's toll-fraud guard against libosip2's
// reading of the same SIP message (issue 12).
//
// A PBX dials a number for a handset when it receives
//   - an INVITE: the Request-URI's user part (or tel: number),
//   - a REFER: the Refer-To URI's user part (blind transfer),
//   - a 3xx response to an INVITE the PBX sent to the handset: each Contact
//     URI's user part (call forwarding by redirect).
// libosip2 stands in for the PBX's SIP stack. For every such target whose
// number, %-unescaped the way osip does it and normalised with voipguard's
// own normalise_number() and dial plan, is denied by the policy (an E.164
// number under "+88"), the engine must have dropped the packet. For an
// INVITE it let through, the engine must have judged the number osip sees
// (unless no policy could block it: see nothing_to_judge): a dialog it
// created for the datagram carries that number, or (a dialog keeps only the
// engine's primary reading of a dial string) the engine drops the datagram
// when the policy also denies osip's number (see judged_as_denied). A
// violation aborts with what osip saw and what voipguard decided.
//
// Input: up to 8 UDP datagrams separated by the line "@@" ("\n@@\n"); one
// starting with '<' goes from the PBX (203.0.113.10:5060) to the handset
// (192.168.20.10:5060), the '<' removed; every other one from the handset to
// the PBX. The clock advances 1 s per datagram; the engine is new for every
// input, so a run depends on the input alone. A handset's datagram the
// engine drops is not shown to libosip2: the PBX never receives it.
//
// What counts as "osip says the PBX dials it" (each rule keeps out something
// no PBX would act on; none looks at what voipguard did):
//   - osip_message_parse succeeds, the version is SIP/2.0 (any case) and
//     Via, From, To, Call-ID and CSeq are present (a PBX answers 400
//     otherwise) and the CSeq method is the request's (any case).
//   - Methods compare without case. RFC 3261 §7.1 makes them case-sensitive
//     and osip's MSG_IS_INVITE uses strcmp, but pjsip (Asterisk's stack)
//     matches method names with pj_stricmp, so "invite" sets up a call there.
//   - INVITE: no To tag (osip's osip_to_get_tag; a tagged INVITE is a
//     re-INVITE or gets 481, RFC 3261 §12.2.2), and not a retransmission of an
//     earlier INVITE of the input (same Call-ID, CSeq number and top Via
//     branch: the PBX's transaction layer absorbs it, RFC 3261 §17.2.3).
//   - REFER: every Refer-To header ("Refer-To" or compact "r", any case),
//     parsed by osip_from_parse. Out of a dialog (no To tag) it counts:
//     RFC 3515 allows it, and a PBX that takes it (click-to-dial) calls the
//     target. With a To tag it counts only in
//     a call established earlier in the input (a 2xx to an INVITE with the
//     same Call-ID and tags), as a PBX answers 481 otherwise.
//   - 3xx with CSeq method INVITE: only when it answers an INVITE the PBX sent
//     earlier in the input (same Call-ID, CSeq number and top Via branch)
//     that has no final response yet; a PBX ignores any other response.
//   - URIs: a sip:/sips: user part as osip_uri_parse leaves it (it
//     %-unescapes it once, with __osip_uri_unescape, into a C string), or a
//     tel: URI's number; other schemes dial nothing.
//   - "Looks like a phone number": normalise_number() says it is valid.
//
// Exploration (not the default): with VOIPGUARD_DIFF_FINDINGS=DIR a
// violation does not abort; the first input of each kind of violation (a
// signature of what differed) is written to DIR and reported on stderr, and
// fuzzing goes on, so one run collects every kind it reaches.
// VOIPGUARD_DIFF_ORACLE_SELFTEST=1 pretends the engine accepted every packet:
// a unit test uses it to prove the oracle fires on an input the engine drops.
#include <strings.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "config/loader.h"
#include "filters/engine/dialled_number.h"
#include "filters/engine/engine.h"
#include "filters/net/packet.h"
#include "filters/sip/sip_parser.h"

namespace {

using namespace vg;

// Deny-list mode, UK dial plan, "+88" denied; the built-in list is off and the
// call limits are out of reach so that a drop always means a judged number.
const char* kPolicy = R"(
version: 1
site: differential
handsets:
  networks: [192.168.20.0/24]
peers:
  pbx:
    - name: pbx
      addresses: [203.0.113.10]
toll_fraud:
  mode: deny_list
  country_code: "44"
  national_prefix: "0"
  international_prefix: "00"
  deny_builtin: false
  deny_prefixes: ["+88"@EXTRA@]
  limits:
    per_handset:
      concurrent_calls: 100
      calls_per_hour: 10000
)";
constexpr std::string_view kDenied = "+88";

std::shared_ptr<const engine::CompiledPolicy> compile_policy(const std::string& extra_deny) {
    std::string text = kPolicy;
    text.replace(text.find("@EXTRA@"), 7, extra_deny.empty() ? std::string() : ", \"" + extra_deny + "\"");
    config::LoadOptions o;
    o.allow_includes = false;
    o.check_file_permissions = false;
    o.resolve_host_names = false;
    config::LoadResult r = config::load_policy_text(text, "differential.yaml", o);
    if (!r.ok()) {
        std::fprintf(stderr, "fuzz_differential_osip: the built-in policy does not load (extra deny prefix \"%s\")\n",
                     extra_deny.c_str());
        std::abort();
    }
    std::string error;
    auto c = engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
    if (!c || !c->dial_plan) {
        std::fprintf(stderr, "fuzz_differential_osip: the built-in policy does not compile: %s\n", error.c_str());
        std::abort();
    }
    return c;
}

std::shared_ptr<const engine::CompiledPolicy> rules() {
    static const std::shared_ptr<const engine::CompiledPolicy> compiled = compile_policy("");
    return compiled;
}

// The same policy with `prefix` denied too (digits, an optional leading '+').
std::shared_ptr<const engine::CompiledPolicy> rules_denying(const std::string& prefix) {
    static std::map<std::string, std::shared_ptr<const engine::CompiledPolicy>> cache;
    if (auto it = cache.find(prefix); it != cache.end()) return it->second;
    if (cache.size() >= 256) cache.clear();
    return cache[prefix] = compile_policy(prefix);
}

void osip_quiet(const char*, int, osip_trace_level_t, const char*, va_list) {}

void init_osip() {
    static const bool done = [] {
        // osip logs every parse error to stderr: silence it.
        osip_trace_initialize_func(OSIP_FATAL, &osip_quiet);
        for (int l = TRACE_LEVEL0; l < END_TRACE_LEVEL; ++l) osip_trace_disable_level(static_cast<osip_trace_level_t>(l));
        if (parser_init() != 0) {
            std::fprintf(stderr, "fuzz_differential_osip: libosip2 parser_init failed\n");
            std::abort();
        }
        return true;
    }();
    (void)done;
}

bool oracle_selftest() {
    static const bool on = [] {
        const char* v = std::getenv("VOIPGUARD_DIFF_ORACLE_SELFTEST");
        return v != nullptr && std::strcmp(v, "1") == 0;
    }();
    return on;
}

const char* findings_dir() {
    static const char* dir = std::getenv("VOIPGUARD_DIFF_FINDINGS");
    return dir != nullptr && *dir != '\0' ? dir : nullptr;
}

// ---------------------------------------------------------------------------
// libosip2's view

bool ieq(const char* a, const char* b) { return a != nullptr && b != nullptr && strcasecmp(a, b) == 0; }
std::string str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

enum class Kind { invite, refer, redirect };
const char* kind_name(Kind k) {
    switch (k) {
    case Kind::invite: return "INVITE Request-URI";
    case Kind::refer: return "REFER Refer-To";
    case Kind::redirect: return "3xx Contact";
    }
    return "?";
}

struct Target {
    Kind kind;
    std::string uri_scheme;
    std::string raw;        // user part as osip holds it (already unescaped), or the tel: number
    engine::NormalisedNumber number;
    // A '#' at the end is the handset's "dial now" key: a PBX strips it, or
    // passes it on and the carrier routes on what precedes it, while
    // normalise_number() keeps it and calls the whole a feature code ("201#").
    // The number before it (parameters cut, then every trailing '#') is a
    // reading of its own when it differs; when it is invalid, the URI dials
    // nothing (see uri_number).
    bool has_before_hash = false;
    engine::NormalisedNumber before_hash;
};

// The number a URI dials, as osip reads it; false when it dials none.
bool uri_number(const osip_uri_t* u, Kind kind, Target& t) {
    if (u == nullptr || u->scheme == nullptr) return false;
    t.kind = kind;
    t.uri_scheme = u->scheme;
    if (ieq(u->scheme, "sip") || ieq(u->scheme, "sips")) {
        if (u->username == nullptr || *u->username == '\0') return false;
        // osip_uri_parse has already %-unescaped the user part (with
        // __osip_uri_unescape, into a C string): unescaping it again would
        // turn "%252B" into '+', which no PBX does.
        t.raw = u->username;
    } else if (ieq(u->scheme, "tel")) {
        if (u->string == nullptr || *u->string == '\0') return false;
        t.raw = u->string;
    } else {
        return false;
    }
    t.number = engine::normalise_number(t.raw, *rules()->dial_plan);
    std::string_view cut(t.raw);
    cut = cut.substr(0, cut.find(';'));
    if (!cut.empty() && cut.back() == '#') {
        while (!cut.empty() && cut.back() == '#') cut.remove_suffix(1);
        t.before_hash = engine::normalise_number(cut, *rules()->dial_plan);
        // What precedes the '#' is no number ("+0888...#": no country code
        // starts with 0): the '#' does not make it one. normalise_number()
        // calls the whole a feature code only because it looks for '#'
        // before it checks the country code; without the '#' this target
        // dials nothing, and so it does with it.
        if (!t.before_hash.valid()) return false;
        t.has_before_hash = t.before_hash.view() != t.number.view();
    }
    return t.number.valid();
}

bool denied(const engine::NormalisedNumber& n) {
    return n.cls == engine::NumberClass::e164 && n.view().substr(0, kDenied.size()) == kDenied;
}

std::string call_id_of(osip_message_t* m) {
    std::string call_id = str(m->call_id->number);
    if (m->call_id->host != nullptr) call_id += "@" + str(m->call_id->host);
    return call_id;
}

// An INVITE transaction: Call-ID, CSeq number, top Via branch.
using TransactionKey = std::tuple<std::string, std::string, std::string>;

struct OsipState {
    std::set<TransactionKey> outbound_invites;   // sent by the handset
    std::set<std::string> outbound_call_ids;     // of those INVITEs (for reports)
    std::set<TransactionKey> pending_inbound;    // sent by the PBX, no final response yet
    // Established calls: Call-ID, the handset's tag, the PBX's tag.
    std::set<std::tuple<std::string, std::string, std::string>> dialogs;
};

struct OsipView {
    bool parsed = false;
    std::string start;             // method or status code, as written
    std::vector<Target> targets;   // what the PBX would dial
    std::string skipped;           // why a dial-looking message dials nothing (for reports)
    bool call_id_reused = false;   // an INVITE with the Call-ID of an earlier one (for reports)
};

TransactionKey transaction_key(osip_message_t* m) {
    std::string branch;
    osip_via_t* via = nullptr;
    if (osip_message_get_via(m, 0, &via) >= 0 && via != nullptr) {
        static char kBranch[] = "branch";
        osip_generic_param_t* b = nullptr;
        if (osip_via_param_get_byname(via, kBranch, &b) >= 0 && b != nullptr)
            branch = str(b->gvalue);
    }
    return {call_id_of(m), str(m->cseq->number), branch};
}

// The tag parameter of a From or To header (nullptr: none).
const char* tag_of(osip_from_t* h) {
    osip_generic_param_t* tag = nullptr;
    static char kTag[] = "tag";
    if (h == nullptr || osip_from_param_get_byname(h, kTag, &tag) < 0 || tag == nullptr) return nullptr;
    return tag->gvalue != nullptr ? tag->gvalue : "";
}
bool has_to_tag(osip_message_t* m) { return tag_of(m->to) != nullptr; }

void osip_read(osip_message_t* m, bool outbound, OsipState& st, OsipView& v) {
    if (!ieq(m->sip_version, "SIP/2.0") || m->call_id == nullptr || m->call_id->number == nullptr ||
        m->cseq == nullptr || m->cseq->method == nullptr || m->cseq->number == nullptr || m->from == nullptr ||
        m->to == nullptr || osip_list_size(&m->vias) < 1) {
        v.skipped = "no SIP/2.0 or a mandatory header missing";
        return;
    }
    if (MSG_IS_REQUEST(m)) {
        v.start = str(m->sip_method);
        if (!ieq(m->sip_method, m->cseq->method)) {
            v.skipped = "CSeq method is not the request's";
            return;
        }
        if (ieq(m->sip_method, "INVITE")) {
            if (!outbound) {
                if (!has_to_tag(m)) st.pending_inbound.insert(transaction_key(m));
                return;
            }
            if (has_to_tag(m)) {
                v.skipped = "INVITE with a To tag";
                return;
            }
            const TransactionKey key = transaction_key(m);
            if (!st.outbound_invites.insert(key).second) {
                v.skipped = "retransmission of an earlier INVITE";
                return;
            }
            v.call_id_reused = !st.outbound_call_ids.insert(std::get<0>(key)).second;
            Target t{};
            if (uri_number(m->req_uri, Kind::invite, t)) v.targets.push_back(std::move(t));
        } else if (ieq(m->sip_method, "REFER") && outbound) {
            // In a dialog (To tag), the PBX acts on it only in a call it
            // has (481 otherwise, RFC 3261 §12.2.2).
            if (const char* to_tag = tag_of(m->to)) {
                const char* from_tag = tag_of(m->from);
                if (st.dialogs.count({call_id_of(m), str(from_tag), to_tag}) == 0) {
                    v.skipped = "REFER in a call the PBX does not have";
                    return;
                }
            }
            for (int i = 0; i < osip_list_size(&m->headers); ++i) {
                auto* h = static_cast<osip_header_t*>(osip_list_get(&m->headers, i));
                if (h == nullptr || h->hvalue == nullptr || !(ieq(h->hname, "refer-to") || ieq(h->hname, "r")))
                    continue;
                osip_from_t* to = nullptr;
                if (osip_from_init(&to) != 0) continue;
                Target t{};
                if (osip_from_parse(to, h->hvalue) == 0 && uri_number(to->url, Kind::refer, t))
                    v.targets.push_back(std::move(t));
                osip_from_free(to);
            }
        }
        return;
    }
    // A response.
    v.start = std::to_string(m->status_code);
    if (!ieq(m->cseq->method, "INVITE") || m->status_code < 200) return;
    if (m->status_code < 300 && tag_of(m->from) != nullptr && tag_of(m->to) != nullptr) {
        // A call established: the handset's tag is the From tag of its own
        // INVITE (answered by the PBX), the To tag of its answer otherwise.
        if (outbound) st.dialogs.insert({call_id_of(m), str(tag_of(m->to)), str(tag_of(m->from))});
        else st.dialogs.insert({call_id_of(m), str(tag_of(m->from)), str(tag_of(m->to))});
    }
    if (!outbound) return;
    // The first final response ends the PBX's transaction; only a 3xx dials.
    if (st.pending_inbound.erase(transaction_key(m)) == 0) {
        if (m->status_code >= 300 && m->status_code < 400) v.skipped = "3xx that answers no pending INVITE of the PBX";
        return;
    }
    if (m->status_code >= 400) return;
    if (m->status_code < 300) return;
    for (int i = 0; i < osip_list_size(&m->contacts); ++i) {
        auto* c = static_cast<osip_contact_t*>(osip_list_get(&m->contacts, i));
        Target t{};
        if (c != nullptr && uri_number(c->url, Kind::redirect, t)) v.targets.push_back(std::move(t));
    }
}

OsipView osip_view(std::string_view datagram, bool outbound, OsipState& st) {
    OsipView v;
    osip_message_t* m = nullptr;
    if (osip_message_init(&m) != 0) return v;
    const std::string copy(datagram);   // NUL-terminated for osip
    if (osip_message_parse(m, copy.c_str(), copy.size()) == 0) {
        v.parsed = true;
        osip_read(m, outbound, st, v);
    }
    osip_message_free(m);
    return v;
}

// ---------------------------------------------------------------------------
// voipguard's side

void put16(std::vector<std::uint8_t>& b, unsigned v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

std::vector<std::uint8_t> udp_packet(bool outbound, std::string_view payload) {
    static const std::uint8_t handset[4] = {192, 168, 20, 10}, pbx[4] = {203, 0, 113, 10};
    const std::size_t len = payload.size();
    std::vector<std::uint8_t> b;
    b.reserve(28 + len);
    b.push_back(0x45);
    b.push_back(0);
    put16(b, static_cast<unsigned>(28 + len));
    put16(b, 1);
    put16(b, 0x4000);
    b.push_back(64);
    b.push_back(17);
    put16(b, 0);
    b.insert(b.end(), outbound ? handset : pbx, (outbound ? handset : pbx) + 4);
    b.insert(b.end(), outbound ? pbx : handset, (outbound ? pbx : handset) + 4);
    put16(b, 5060);
    put16(b, 5060);
    put16(b, static_cast<unsigned>(8 + len));
    put16(b, 0);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

struct NullSink : engine::EventSink {
    void on_event(const engine::Event&) override {}
};

// What voipguard's own parser makes of the datagram, for the report.
struct VoipguardView {
    std::string summary;
    std::string user;      // Request-URI user, raw
    std::string call_id;   // first 64 bytes, as the dialog table keeps it
};

VoipguardView voipguard_parse(std::string_view datagram) {
    static sip::SipMessage msg;
    VoipguardView v;
    const sip::ParseResult r = sip::parse_message(datagram, sip::Transport::datagram, sip::Limits{}, msg);
    if (r.status != sip::Status::ok) {
        v.summary = std::string("parse failed (") + (r.reason ? r.reason : "incomplete") + ")";
        return v;
    }
    v.call_id = std::string(msg.call_id.substr(0, 64));
    if (!msg.is_request()) {
        v.summary = "a response";
        return v;
    }
    v.user = std::string(msg.request_uri.user);
    v.summary = "method \"" + std::string(msg.method_text) + "\"";
    v.summary += msg.method == sip::Method::invite ? " (INVITE)" : msg.method == sip::Method::refer ? " (REFER)" : "";
    v.summary += ", Request-URI user \"" + v.user + "\"";
    if (msg.to.has_tag) v.summary += ", To tag";
    return v;
}

std::string printable(std::string_view s, std::size_t max = 80) {
    std::string o;
    for (char c : s.substr(0, max)) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\') {
            o += c;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            o += hex;
        }
    }
    if (s.size() > max) o += "...";
    return o;
}

// Which characters the raw number is made of: digits collapse to '9', so
// that one kind of decoration is one signature.
std::string shape(std::string_view raw) {
    std::string o;
    for (char c : raw.substr(0, 40)) {
        const char k = (c >= '0' && c <= '9') ? '9' : (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? 'a' : c;
        if (o.empty() || o.back() != k || (k != '9' && k != 'a')) o += k;
    }
    return printable(o, 60);
}

struct Violation {
    std::string message;
    std::string signature;
};

void report(const Violation& v, const std::uint8_t* data, std::size_t size) {
    const char* dir = findings_dir();
    if (dir == nullptr) {
        std::fprintf(stderr, "\n== differential violation (voipguard vs libosip2) ==\n%s\n", v.message.c_str());
        std::abort();
    }
    static std::set<std::string> seen;
    if (seen.size() >= 1000 || !seen.insert(v.signature).second) return;
    const std::string path = std::string(dir) + "/finding-" + std::to_string(seen.size());
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    std::fprintf(stderr, "\n== new finding %s [%s]\n%s\n", path.c_str(), v.signature.c_str(), v.message.c_str());
}

}  // namespace

// libosip2 5.3.0 leaks a Content-Type it parses twice in a multipart body
// part (osip_message_parse then osip_message_free, nothing else, leaks
// 184 bytes on such a message): not this target's leak, so LeakSanitizer
// leaves allocations under those two functions alone. Everything else osip
// allocates for this target is still checked.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:osip_content_type_init\nleak:osip_content_type_parse\n";
}

namespace {

// The datagrams of an input (see the header), each with its place in it.
struct Datagram {
    int index;
    bool outbound;
    std::string_view bytes;
};

std::vector<Datagram> split_input(std::string_view input) {
    std::vector<Datagram> out;
    constexpr std::string_view kMarker = "\n@@\n";
    std::size_t pos = 0;
    for (int index = 1; pos <= input.size() && index <= 8; ++index) {
        std::size_t end = input.find(kMarker, pos);
        if (end == std::string_view::npos) end = input.size();
        std::string_view datagram = input.substr(pos, end - pos);
        pos = end + kMarker.size();
        const bool outbound = datagram.empty() || datagram[0] != '<';
        if (!outbound) datagram.remove_prefix(1);
        if (datagram.empty() || datagram.size() > 60000) continue;
        out.push_back({index, outbound, datagram});
    }
    return out;
}

constexpr engine::Timestamp kStart = engine::Timestamp{} + std::chrono::seconds(1700000000);

// The engine's verdict on datagram `index` when it runs with `policy` over
// the input from the start (the clock as in the main run).
bool engine_drops(const std::vector<Datagram>& datagrams, int index,
                  const std::shared_ptr<const engine::CompiledPolicy>& policy) {
    if (oracle_selftest()) return false;   // it accepts every packet
    engine::Engine eng(policy);
    NullSink sink;
    engine::Timestamp now = kStart;
    for (const Datagram& g : datagrams) {
        now += std::chrono::seconds(1);
        const std::vector<std::uint8_t> packet = udp_packet(g.outbound, g.bytes);
        const net::DecodedPacket p = net::decode_ip(packet.data(), packet.size());
        eng.tick(engine::Now::at(now), sink);
        const engine::Decision d = eng.process(p, engine::Now::at(now), sink);
        if (g.index == index) return d.dropped();
    }
    return false;
}

// An extension or a service number: no policy blocks one (the engine never
// denies either, and never limits a service call), so whatever the engine
// made of the dial string, a PBX that dials one makes no call it missed.
// Nor does a "feature code" without a digit ("+#", "*#", from "+%23;user"):
// it is no telephone number, and no deny prefix matches it.
bool nothing_to_judge(const engine::NormalisedNumber& n) {
    return n.cls == engine::NumberClass::short_number || n.cls == engine::NumberClass::service ||
           n.view().find_first_of("0123456789") == std::string_view::npos;
}

// The dialog keeps one reading of a dial string, the engine's primary one
// (escapes decoded, parameters and trailing '#' "dial now" terminators cut),
// but the engine judges every reading a PBX may dial: the digits alone, what
// precedes an escaped NUL, what follows a feature code. So a dialog number
// other than osip's is not yet a miss: the engine is asked again, with a
// policy that also denies osip's number, and must then drop the datagram.
// A deny prefix is up to 15 digits with an optional '+' ("+" alone: every
// international number), so osip's number is cut before its first '*' or
// '#' and after its 15th digit: every deny prefix that matches osip's number
// is a prefix of that cut, so a drop under the cut means a drop under each
// of them. A number that starts with '*' or '#' ("#201") matches no deny
// prefix and cannot be checked this way, nor can a local number that starts
// with the national or international prefix ("0", "07": the dial plan reads
// a deny prefix "07" as "+447"): their mismatch stays a violation.
bool judged_as_denied(const std::vector<Datagram>& datagrams, int index, const engine::NormalisedNumber& osip) {
    std::string_view prefix = osip.view();
    prefix = prefix.substr(0, prefix.find_first_of("*#"));
    prefix = prefix.substr(0, (!prefix.empty() && prefix[0] == '+' ? 1 : 0) + 15);
    if (prefix.empty()) return false;
    const engine::DialPlan& plan = *rules()->dial_plan;
    for (std::string_view access : {plan.national_prefix(), plan.international_prefix()})
        if (prefix[0] != '+' && !access.empty() && prefix.substr(0, access.size()) == access) return false;
    return engine_drops(datagrams, index, rules_denying(std::string(prefix)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    init_osip();
    engine::Engine eng(rules());
    NullSink sink;
    OsipState osip_state;
    engine::Timestamp now = kStart;
    static const std::uint8_t kHandset[4] = {192, 168, 20, 10};
    const net::IpAddress handset = net::IpAddress::v4(kHandset);

    const std::vector<Datagram> datagrams =
        split_input(std::string_view(reinterpret_cast<const char*>(data), size));
    for (const Datagram& g : datagrams) {
        const int index = g.index;
        const bool outbound = g.outbound;
        const std::string_view datagram = g.bytes;
        now += std::chrono::seconds(1);

        const std::vector<std::uint8_t> packet = udp_packet(outbound, datagram);
        const net::DecodedPacket p = net::decode_ip(packet.data(), packet.size());
        eng.tick(engine::Now::at(now), sink);
        engine::Decision d = eng.process(p, engine::Now::at(now), sink);
        if (oracle_selftest()) d = engine::Decision{engine::Verdict::accept, engine::Reason::sip_inspected};
        // A handset's datagram the engine dropped never reaches the PBX: it
        // dials nothing and starts no transaction there.
        if (outbound && d.dropped()) continue;
        const OsipView ov = osip_view(datagram, outbound, osip_state);
        if (!outbound || ov.targets.empty()) continue;

        // Accepted: every number osip sees must be allowed, and an INVITE's
        // must be the number of the dialog the engine created for it.
        // One datagram can create two dialogs: the engine also judges what
        // follows the first message's Content-Length (a stack may read it as
        // a second message), and that message has a dialog of its own when
        // its Call-ID or From tag differs. osip reads the first message only,
        // so the dialog that carries osip's number is the one to compare.
        // That may also be an older dialog this datagram touched: an INVITE
        // with the Call-ID and From tag of a live call is a new transaction
        // in it, and the engine puts the number it judged there.
        std::vector<const engine::Dialog*> created, touched;
        eng.for_each_dialog([&](const engine::Dialog& dl) {
            if (!dl.handset_is_caller || !(dl.handset == handset)) return;
            if (dl.created == now) created.push_back(&dl);
            if (dl.created == now || dl.last_sip == now) touched.push_back(&dl);
        });
        for (const Target& t : ov.targets) {
            const engine::Dialog* dialog = created.empty() ? nullptr : created.back();
            bool carried = false;
            for (const engine::Dialog* dl : touched)
                if (dl->number.view() == t.number.view() ||
                    (t.has_before_hash && dl->number.view() == t.before_hash.view())) {
                    dialog = dl;
                    carried = true;
                }
            const bool deny = denied(t.number) || (t.has_before_hash && denied(t.before_hash));
            const bool mismatch = t.kind == Kind::invite && dialog != nullptr && !carried &&
                                  !nothing_to_judge(t.number) && !(t.has_before_hash && nothing_to_judge(t.before_hash)) &&
                                  !judged_as_denied(datagrams, index, t.number) &&
                                  !(t.has_before_hash && judged_as_denied(datagrams, index, t.before_hash));
            if (!deny && !mismatch) continue;
            Violation v;
            v.message = "datagram " + std::to_string(index) + ": libosip2 reads the " + kind_name(t.kind) + " of a \"" +
                        printable(ov.start, 32) + "\" " + (t.kind == Kind::redirect ? "response" : "request") +
                        (ov.call_id_reused ? " (Call-ID of an earlier INVITE, new transaction)" : "") + ": " +
                        t.uri_scheme + " number \"" + printable(t.raw) + "\" -> " +
                        std::string(engine::to_string(t.number.cls)) + " \"" + std::string(t.number.view()) + "\"" +
                        (t.has_before_hash ? " (before its trailing '#': " + std::string(engine::to_string(t.before_hash.cls)) +
                                                 " \"" + std::string(t.before_hash.view()) + "\")"
                                           : std::string()) +
                        (deny ? " (denied: +88)" : "") + "\n  voipguard: " + std::string(engine::verdict_name(d.verdict)) +
                        " (" + std::string(engine::reason_name(d.reason)) + ")";
            if (dialog != nullptr) v.message += ", judged number \"" + printable(dialog->number.view()) + "\"";
            else v.message += t.kind == Kind::invite ? ", no call judged" : ", nothing judged";
            const VoipguardView vg = voipguard_parse(datagram);
            v.message += "\n  voipguard's parser: " + vg.summary;
            // A call the engine already knows under this Call-ID (it took
            // the INVITE for a retransmission of it)?
            const engine::Dialog* known = nullptr;
            if (dialog == nullptr && !vg.call_id.empty())
                eng.for_each_dialog([&](const engine::Dialog& dl) {
                    if (dl.handset_is_caller && dl.call_id.view() == vg.call_id) known = &dl;
                });
            if (known != nullptr)
                v.message += "\n  voipguard already had a call with this Call-ID, to \"" + printable(known->number.view()) + "\"";
            // One signature per way of getting a number past the engine.
            const bool exact_method = ov.start == "INVITE" || ov.start == "REFER";
            if (t.kind != Kind::invite)
                v.signature = std::string(kind_name(t.kind)) + " not judged" + (t.kind == Kind::refer && !exact_method ? "|method case" : "");
            else if (!exact_method)
                v.signature = "INVITE|method case";
            else if (known != nullptr)
                v.signature = "INVITE|Call-ID of a call voipguard knows";
            else if (vg.user.find("%00") != std::string::npos)
                v.signature = "INVITE|%00 in the user part";
            else
                v.signature = std::string("INVITE|") + (deny ? "not dropped" : "other number") + "|" +
                              (dialog != nullptr ? "judged " + shape(dialog->number.view()) : "no call") + "|" +
                              t.uri_scheme + " " + shape(t.raw);
            report(v, data, size);
        }
    }
    return 0;
}

#ifdef VG_DIFF_CUSTOM_MUTATOR
// Structure-aware mutations (libFuzzer build only): half of the time one edit
// aimed at how a number is read — a denied number in some dialling form put in
// place of a URI's user part, a decoration or %-escape inside it, a method
// token in another case — and libFuzzer's own mutations otherwise.
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

std::uint64_t next(std::uint64_t& s) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

const char* const kNumbers[] = {
    "+881234567", "00881234567", "+88 123 4567", "+88-1234-567", "(+88)1234567", "+(88)1234567", "%2B881234567",
    "%2b88%31234567", "%30%30881234567", "+88%201234567", "+881234567%23", "+881234567#", "*31#00881234567",
    "+881234567;phone-context=+44", "+88.12.34", "+8%38123", "0 0 8 8 1 2 3", "+88\t1234", "+881234567;isub=1",
    "%2B%38%38%31", ("\xef\xbc\x8b" "881234567"), "+88%001234", "+44(0)881234", "0881234567", "+0881234567",
};
const char* const kDecorations[] = {"%23", "#", " ", "-", ".", "(", ")", "%20", "%2D", "%2B", "+", ";x=1", "%3B",
                                    "%00", "\t", "%09", ",", "@", ":", "?", "&", "*", "%25", "\"", "<", ">"};

// [begin, end) of the user part of a random "sip:"/"sips:"/"tel:" in s.
bool pick_user(const std::string& s, std::uint64_t& rng, std::size_t& begin, std::size_t& end) {
    std::vector<std::size_t> starts;
    for (const char* scheme : {"sip:", "sips:", "tel:", "SIP:", "Sip:"}) {
        for (std::size_t at = s.find(scheme); at != std::string::npos; at = s.find(scheme, at + 1))
            starts.push_back(at + std::strlen(scheme));
    }
    if (starts.empty()) return false;
    begin = starts[next(rng) % starts.size()];
    end = s.find_first_of("@>; \r\n", begin);
    if (end == std::string::npos) end = s.size();
    if (end < s.size() && s[end] == ';') {
        // Keep tel: parameters and user parameters up to the '@' with the user.
        const std::size_t at = s.find_first_of("@>\r\n", end);
        if (at != std::string::npos && s[at] == '@') end = at;
    }
    return true;
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    std::uint64_t rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    if (next(rng) % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
    std::string s(reinterpret_cast<const char*>(data), size);
    std::size_t b = 0, e = 0;
    switch (next(rng) % 5) {
    case 0:   // a denied number in another form
        if (!pick_user(s, rng, b, e)) return LLVMFuzzerMutate(data, size, max_size);
        s.replace(b, e - b, kNumbers[next(rng) % (sizeof kNumbers / sizeof *kNumbers)]);
        break;
    case 1:   // a decoration inside the number
        if (!pick_user(s, rng, b, e)) return LLVMFuzzerMutate(data, size, max_size);
        s.insert(b + next(rng) % (e - b + 1), kDecorations[next(rng) % (sizeof kDecorations / sizeof *kDecorations)]);
        break;
    case 2: {   // one character of the number %-escaped
        if (!pick_user(s, rng, b, e) || e == b) return LLVMFuzzerMutate(data, size, max_size);
        const std::size_t at = b + next(rng) % (e - b);
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(s[at]));
        s.replace(at, 1, hex);
        break;
    }
    case 3: {   // case of a letter of a line's first token (the method) flipped
        std::vector<std::size_t> lines{0};
        for (std::size_t at = s.find('\n'); at != std::string::npos; at = s.find('\n', at + 1)) lines.push_back(at + 1);
        const std::size_t line = lines[next(rng) % lines.size()];
        const std::size_t stop = s.find_first_of(" :\r\n", line);
        const std::size_t len = (stop == std::string::npos ? s.size() : stop) - line;
        if (len == 0) return LLVMFuzzerMutate(data, size, max_size);
        char& c = s[line + next(rng) % len];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) c = static_cast<char>(c ^ 0x20);
        break;
    }
    default:   // a whole datagram of the input repeated (Call-ID reuse, retransmissions)
        if (s.size() * 2 + 4 > max_size) return LLVMFuzzerMutate(data, size, max_size);
        s = s + "\n@@\n" + s;
        break;
    }
    if (s.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
    std::memcpy(data, s.data(), s.size());
    return s.size();
}
#endif
