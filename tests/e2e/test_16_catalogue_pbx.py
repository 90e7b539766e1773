#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 16: the catalogue of evasions against a real PBX. Every entry of
tests/data/evasion/ that a handset can send through a socket (exported by
vg_evasion_export, one JSON object per line) is sent from the handset
namespace through the router running voipguard with the catalogue's policy
to Kamailio (tests/e2e/vgnet.py:Kamailio). UDP: one datagram per segment;
TCP: a new connection per entry, one send() per segment (TCP_NODELAY, a short
pause between them), held open so the handset's TCP stack retransmits what
voipguard dropped; resets are expected (voipguard cuts the streams it
refuses). Then: every number Kamailio logged belongs to an entry expected to
pass, and no number of an entry expected to be dropped ever reached it.

VG_EVASION_EXPORT is the exporter (set by CMake when the target exists);
without it the test skips."""
import base64
import ipaddress
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

SEGMENT_PAUSE = 0.1   # seconds between the send() calls of one entry
ENTRY_GAP = 0.22      # seconds between entries (under the policy's INVITE rate of 5/s per source)
TCP_HOLD = 1.5        # a TCP connection stays open this long after its last send()
SETTLE = 2.0          # after the last entry, before Kamailio's log is read
HANDSET_NETS = [ipaddress.ip_network("192.168.20.0/24"), ipaddress.ip_network("fd00:20::/64")]
CALL_ID = re.compile(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$")
KEYS = ("entry", "class", "transport", "family", "src", "dst", "dst_port", "segments", "expect", "numbers",
        "policy")


def load_entries():
    tool = os.environ.get("VG_EVASION_EXPORT")
    if not tool:
        v.skip("VG_EVASION_EXPORT is not set (the vg_evasion_export target is not part of this build)")
    if not os.access(tool, os.X_OK):
        v.skip("VG_EVASION_EXPORT=%s is not an executable (build the vg_evasion_export target)" % tool)
    r = subprocess.run([tool], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s exited with %d:\n%s" % (tool, r.returncode, r.stderr))
    entries, errors = [], []
    for n, line in enumerate(r.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            missing = [k for k in KEYS if k not in e]
            if missing:
                raise ValueError("missing %s" % ", ".join(missing))
            if e["transport"] not in ("udp", "tcp") or e["family"] not in (4, 6):
                raise ValueError("transport %r family %r" % (e["transport"], e["family"]))
            if e["expect"] not in ("accept", "drop"):
                raise ValueError("expect %r" % e["expect"])
            e["data"] = [base64.b64decode(x, validate=True) for x in e["segments"]]
            if not e["data"]:
                raise ValueError("no segments")
            entries.append(e)
        except (ValueError, TypeError) as ex:
            errors.append("line %d: %s" % (n, ex))
    return tool, entries, errors


def ensure_source(site, addr):
    """The entry's source address on the handset interface (added when it is
    in a handset network and not there yet); False when it cannot be."""
    ip = ipaddress.ip_address(addr)
    if not any(ip in net for net in HANDSET_NETS):
        return False
    have = site.run(site.handset, "ip", "-o", "addr", "show", "dev", "vgh0").stdout
    if (" %s/" % addr) in have:
        return True
    if ip.version == 6:
        site.run(site.handset, "ip", "-6", "addr", "add", addr + "/64", "dev", "vgh0", "nodad")
    else:
        site.run(site.handset, "ip", "addr", "add", addr + "/24", "dev", "vgh0")
    return True


def numbers_of(entries):
    """(numbers that may reach the PBX, {number that must not: entry},
    {Call-ID: entry}). An entry's "numbers" are those its verdict is about;
    the exporter may add "allowed_numbers" and "denied_numbers" for entries
    that mix both (an allowed call, then the evasion in the same dialog)."""
    legit, denied, call_ids = set(), {}, {}
    for e in entries:
        if e["expect"] == "drop":
            denied.update((n, e["entry"]) for n in e["numbers"] if n)
        else:
            legit.update(n for n in e["numbers"] if n)
        denied.update((n, e["entry"]) for n in e.get("denied_numbers") or [] if n)
        legit.update(n for n in e.get("allowed_numbers") or [] if n)
        for data in e["data"]:
            for m in CALL_ID.finditer(data):
                call_ids.setdefault(m.group(1).decode(errors="replace"), e["entry"])
    return legit - set(denied), denied, call_ids


def send_all(site, entries):
    """Sends every entry; returns {entry name: result}."""
    results = {}
    open_tcp = []  # (TcpSend, entry name, time of its last send)

    def close_due(now, all_of_them=False):
        for item in list(open_tcp):
            t, name, since = item
            if all_of_them or now - since >= TCP_HOLD:
                results[name].update(t.close())
                open_tcp.remove(item)

    for e in entries:
        name = e["entry"]
        if not ensure_source(site, e["src"]):
            results[name] = {"error": "source %s is not a handset address" % e["src"], "sent": 0,
                             "unsendable": True}
            continue
        # A socket that cannot be made or bound is the test's failure; a
        # connection voipguard refuses (SYN dropped, reset) is a result.
        try:
            if e["transport"] == "udp":
                results[name] = v.send_udp(site, site.handset, e["src"], e["dst"], e["dst_port"], e["data"],
                                           pause=SEGMENT_PAUSE, listen=0.05)
            else:
                t = v.TcpSend(site, site.handset, e["src"], e["dst"], e["dst_port"], connect_timeout=2.0)
                results[name] = {}
                open_tcp.append((t.send(e["data"], SEGMENT_PAUSE), name, v.time.monotonic()))
        except OSError as ex:
            results[name] = {"error": "socket: %s" % ex, "sent": 0, "unsendable": True}
        v.time.sleep(ENTRY_GAP)
        for t, _, _ in open_tcp:
            t.read()
        close_due(v.time.monotonic())
    while open_tcp:
        v.time.sleep(0.1)
        close_due(v.time.monotonic())
    return results


def run_policy(c, policy_rel, entries, figures):
    policy = os.path.join(v.SRC, policy_rel)
    c.that(os.path.isfile(policy), "the catalogue's policy %s exists" % policy_rel)
    if not os.path.isfile(policy):
        return
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, policy, label="daemon")
        d.start()
        figures["backend"] = d.status()["backend"]
        extra = sorted({(e["transport"], e["dst"], e["dst_port"]) for e in entries})
        k = v.Kamailio(s, extra_listen=extra).start()

        results = send_all(s, entries)
        v.time.sleep(SETTLE)

        events = k.events()
        targets = k.targets()  # (kind, user, URI text, Call-ID) of INVITEs, Refer-Tos, 3xx Contacts
        # Every message Kamailio logged with a URI, whatever its method: a
        # denied number must not appear in any of them.
        everything = [(e["kind"], e["user"], e["uri"] or "", e["call_id"] or "") for e in events
                      if e["uri"] is not None]
        legit, denied, call_ids = numbers_of(entries)
        unsent = {n: r["error"] for n, r in results.items() if r.get("unsendable")}
        leaked = sorted({(denied[n], n) for n in denied for t in everything if v.number_reached(n, t[1], t[2])})
        # Entries to be dropped whole whose messages carry no number (an empty
        # Request-URI user): matched back by their Call-ID instead.
        whole_drop = {e["entry"] for e in entries if e["expect"] == "drop"
                      and not any(e["numbers"]) and not any(e.get("allowed_numbers") or [])}
        leaked += sorted({(call_ids[t[3]], "Call-ID " + t[3]) for t in targets
                          if call_ids.get(t[3]) in whole_drop})
        stray = sorted({"%s %s (%s)" % (t[0], t[1], t[2]) for t in targets
                        if not any(v.number_reached(n, t[1], t[2]) for n in legit)})
        reached = sorted({e["entry"] for e in entries if e["expect"] == "accept"
                          for n in e["numbers"] for t in targets if v.number_reached(n, t[1], t[2])})
        accept_entries = [e for e in entries if e["expect"] == "accept" and any(e["numbers"])]
        not_reached = sorted(e["entry"] for e in accept_entries if e["entry"] not in reached)
        by_entry = {}
        for t in targets:
            by_entry.setdefault(call_ids.get(t[3], "?"), []).append("%s %s" % (t[0], t[1]))

        key = "policy " + policy_rel
        figures[key] = {
            "entries_sent": len(entries) - len(unsent),
            "entries_udp": sum(1 for e in entries if e["transport"] == "udp"),
            "entries_tcp": sum(1 for e in entries if e["transport"] == "tcp"),
            "entries_ipv6": sum(1 for e in entries if e["family"] == 6),
            "expect_accept": sum(1 for e in entries if e["expect"] == "accept"),
            "expect_drop": sum(1 for e in entries if e["expect"] == "drop"),
            "accept_entries_reaching_kamailio": len(reached),
            "accept_entries_not_seen_by_kamailio": not_reached,
            "kamailio_requests": sum(1 for e in events if e["kind"] == "REQUEST"),
            "kamailio_targets_by_entry": by_entry,
            "drop_entries_that_reached_kamailio": ["%s (%s)" % x for x in leaked],
            "connection_errors": {n: r["error"] for n, r in results.items()
                                  if r.get("error") and not r.get("unsendable")},
            "voipguard_reasons": d.status()["reasons"],
        }
        c.that(not unsent, "every entry was sent (%d could not be: %s)" % (len(unsent), unsent))
        c.that(not leaked, "no number of a drop entry reached Kamailio (%d did: %s)"
               % (len(leaked), ", ".join("%s in %s" % (u, n) for n, u in leaked)))
        c.that(not stray, "every number Kamailio logged belongs to an accept entry or an allowed number (%d do "
               "not: %s)" % (len(stray), stray))
        if accept_entries:
            c.that(bool(reached), "accept entries reach Kamailio through the router (%d of %d)"
                   % (len(reached), len(accept_entries)))
        c.that(k.running(), "Kamailio ran through the scenario")
        k.stop()
        c.that(d.stop() == 0, "voipguard stopped cleanly")


def main():
    v.require_environment()
    v.Kamailio.require()
    tool, entries, errors = load_entries()
    c = v.Check("e2e_16_catalogue_pbx")
    figures = {"exporter_lines_rejected": errors, "entries": len(entries)}
    c.that(not errors, "every line of %s is a well-formed entry (%d are not)" % (os.path.basename(tool),
                                                                               len(errors)))
    c.that(bool(entries), "the exporter printed entries (%d)" % len(entries))
    numbers = [n for e in entries for n in e["numbers"] if n]
    dup = sorted({n for n in numbers if numbers.count(n) > 1})
    c.that(not dup, "every number belongs to one entry only (shared: %s)" % dup)
    by_policy = {}
    for e in entries:
        by_policy.setdefault(e["policy"], []).append(e)
    for policy_rel, group in sorted(by_policy.items()):
        run_policy(c, policy_rel, group, figures)
    for k_, val in figures.items():
        c.figure(k_, val)
    c.finish()


if __name__ == "__main__":
    main()
