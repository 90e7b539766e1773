# SPDX-License-Identifier: GPL-2.0-or-later
"""A customer site whose peers are real SIP software from Debian (the
scenarios test_40..): Kamailio as the Cloud PBX (registrar and proxy with
digest authentication, credentials in a hash table, no database) anchoring
the media on rtpengine (userspace only: --table=-1) over its ng control
socket on loopback, baresip phones as the handsets and as a far-end phone
on the internet side, driven through baresip's ctrl_tcp module.

    handset ns   baresip 201 @ 192.168.20.10 (UDP), 202 @ 192.168.20.11 (TCP)
    router ns    voipguard; optionally MASQUERADE toward the internet
    internet ns  Kamailio @ 203.0.113.10:5060 (udp, tcp), :5061 (tls)
                 rtpengine @ 203.0.113.70, ports 10000-20000 (the policy's PBX media)
                 baresip 300 @ 198.51.100.20 (the far-end phone)

Every configuration is written by the test into its temp dir; every process
is stopped with the Site. RTP is counted by iptables counters in the
handset and internet namespaces (the test's own namespaces), live.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import vgnet as v

FAREND = "198.51.100.20"
RTPENGINE_NG = ("127.0.0.1", 2223)
USERS = {"201": "vg-pass-201", "202": "vg-pass-202", "203": "vg-pass-203", "300": "vg-pass-300"}
REALM = "vgpbx"

class RealSite(v.Site):
    """vgnet.Site with the second handset (HANDSET2) moved to a namespace of
    its own, so that a phone there sends everything (its TCP connections
    too, which baresip does not bind) from its own address. The handset
    namespace routes it and answers ARP for it (proxy ARP) on the voice
    network: to the router it is one more phone on the LAN."""

    def build(self):
        super().build()
        self.handset2 = "vgk" + self.handset[3:]
        h, k = self.handset, self.handset2
        v.sh("ip", "netns", "add", k)
        self.run(k, "ip", "link", "set", "lo", "up")
        v.sh("ip", "link", "add", "vgk0", "netns", h, "type", "veth", "peer", "name", "eth0", "netns", k)
        self.run(h, "ip", "addr", "del", v.HANDSET2 + "/24", "dev", "vgh0")
        self.run(h, "ip", "link", "set", "vgk0", "up")
        self.run(h, "ip", "route", "add", v.HANDSET2 + "/32", "dev", "vgk0")
        self.run(h, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for dev in ("vgh0", "vgk0"):
            self.run(h, "sysctl", "-qw", "net.ipv4.conf.%s.proxy_arp=1" % dev)
        self.run(k, "ip", "addr", "add", v.HANDSET2 + "/24", "dev", "eth0")
        self.run(k, "ip", "link", "set", "eth0", "up")
        self.run(k, "ip", "route", "add", "default", "via", "192.168.20.1")
        self.run(k, "ping", "-c", "1", "-W", "3", v.PBX, check=False, timeout=10)
        self.run(k, "sysctl", "-qw", "net.ipv4.neigh.default.base_reachable_time_ms=600000", check=False)

    def close(self):
        k = getattr(self, "handset2", None)
        if k:
            for pid in v.sh("ip", "netns", "pids", k, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        super().close()
        if k:
            v.sh("ip", "netns", "del", k, check=False)


_PBX_CFG = r'''#!KAMAILIO
# The Cloud PBX of a voipguard end-to-end test (written by tests/e2e/realpeers.py):
# registrar + stateful proxy, digest authentication of REGISTER and of the
# first INVITE/REFER of a user (credentials in a hash table), NAT handling
# (nathelper: received address, Contact alias, OPTIONS pings to NATed
# contacts), media anchored on rtpengine. One log line per request:
#   VGPBX <KIND> ... ruser=[..] src=[..] proto=[..] cid=[..] uri=[..]
debug=2
log_stderror=yes
fork=yes
children=@CHILDREN@
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=off
dns_try_ipv6=no
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605
server_header="Server: vgpbx"
user_agent_header="User-Agent: vgpbx"
@LISTEN@
alias="@PBX@"
@TLSGLOBAL@

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "sanity.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "htable.so"
loadmodule "ctl.so"
loadmodule "nathelper.so"
loadmodule "rtpengine.so"
@TLSLOAD@

modparam("usrloc", "db_mode", 0)
modparam("usrloc", "nat_bflag", 6)
modparam("registrar", "min_expires", 5)
modparam("registrar", "default_expires", @EXPIRES@)
modparam("registrar", "max_expires", @EXPIRES@)
modparam("registrar", "received_avp", "$avp(RECEIVED)")
modparam("nathelper", "received_avp", "$avp(RECEIVED)")
modparam("nathelper", "natping_interval", @NATPING@)
modparam("nathelper", "ping_nated_only", 1)
modparam("nathelper", "sipping_bflag", 7)
modparam("nathelper", "sipping_from", "sip:pinger@@REALM@")
modparam("rtpengine", "rtpengine_sock", "udp:@NG@")
modparam("rr", "append_fromtag", 1)
modparam("htable", "htable", "users=>size=4;")
modparam("htable", "htable", "fwd=>size=4;")
modparam("ctl", "binrpc", "unix:@CTL@")

event_route[htable:mod-init] {
@USERS@
@FORWARDS@
}

request_route {
    xlog("L_NOTICE", "VGPBX REQUEST method=[$rm] ruser=[$rU] @AT@ uri=[$ru]\n");
    if (is_present_hf("Refer-To")) {
        xlog("L_NOTICE", "VGPBX REFER ruser=[$(rt{uri.user})] @AT@ uri=[$(hdr(Refer-To)[*])]\n");
    }
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    route(NATDETECT);
    if (is_method("CANCEL")) {
        if (t_check_trans()) {
            route(RELAY);
        }
        exit;
    }
    if (has_totag()) {
        route(WITHINDLG);
        exit;
    }
    if (!is_method("ACK")) {
        t_check_trans();
    }
    if (is_method("REGISTER")) {
        route(REGISTRAR);
        exit;
    }
    if (is_method("OPTIONS") && ($rU == $null || $sht(users=>$rU) == $null)) {
        sl_send_reply("200", "OK");
        exit;
    }
    if (is_method("INVITE|REFER|MESSAGE")) {
        route(AUTH);
    }
    if (is_method("INVITE|SUBSCRIBE|REFER")) {
        record_route();
    }
    if ($rU == $null) {
        sl_send_reply("484", "Address Incomplete");
        exit;
    }
    if (is_method("INVITE")) {
        xlog("L_NOTICE", "VGPBX INVITE ruser=[$rU] @AT@ uri=[$ru]\n");
        if ($sht(fwd=>$rU) != $null) {
            xlog("L_NOTICE", "VGPBX FORWARD ruser=[$sht(fwd=>$rU)] @AT@ uri=[$ru]\n");
            $rU = $sht(fwd=>$rU);
        }
    }
    if (!lookup("location")) {
        xlog("L_NOTICE", "VGPBX NOT-FOUND ruser=[$rU] @AT@ uri=[$ru]\n");
        sl_send_reply("404", "Not Found");
        exit;
    }
    route(RELAY);
}

route[AUTH] {
    if ($si == "127.0.0.1") {
        return;
    }
    if (!is_present_hf("Proxy-Authorization")) {
        proxy_challenge("@REALM@", "0");
        exit;
    }
    if ($sht(users=>$au) == $null) {
        sl_send_reply("403", "Forbidden");
        exit;
    }
    pv_proxy_authenticate("@REALM@", "$sht(users=>$au)", "0");
    $var(rc) = $rc;
    if ($var(rc) == -4 || $var(rc) == -6) {
        proxy_challenge("@REALM@", "0");
        exit;
    }
    if ($var(rc) < 0) {
        xlog("L_NOTICE", "VGPBX AUTH-DENIED ruser=[$fU] src=[$si] proto=[$proto] why=[auth $var(rc)]\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    consume_credentials();
}

route[NATDETECT] {
    force_rport();
    if (nat_uac_test("19")) {
        if (is_method("REGISTER")) {
            fix_nated_register();
        } else if (is_first_hop()) {
            set_contact_alias();
        }
        setflag(5);
    }
}

route[WITHINDLG] {
    if (loose_route()) {
        if (!isdsturiset()) {
            handle_ruri_alias();
        }
        if (is_method("BYE")) {
            rtpengine_delete();
        }
        route(RELAY);
        exit;
    }
    if (is_method("ACK")) {
        if (t_check_trans()) {
            route(RELAY);
        }
        exit;
    }
    sl_send_reply("404", "Not here");
}

route[RELAY] {
    if (is_method("INVITE|UPDATE|ACK|PRACK") && has_body("application/sdp")) {
        rtpengine_manage("@RTPFLAGS@");
    }
    if (is_method("INVITE|UPDATE|BYE|REFER|NOTIFY|OPTIONS|INFO|MESSAGE|PRACK")) {
        t_on_reply("REPLY");
    }
    if (is_method("INVITE")) {
        t_on_failure("FAILED");
    }
    if (!t_relay()) {
        sl_reply_error();
    }
    exit;
}

failure_route[FAILED] {
    rtpengine_delete();
}

route[REGISTRAR] {
    if (!is_present_hf("Authorization")) {
        xlog("L_NOTICE", "VGPBX REGISTER-CHALLENGE ruser=[$tU] src=[$si] proto=[$proto]\n");
        www_challenge("@REALM@", "0");
        exit;
    }
    if ($sht(users=>$au) == $null) {
        xlog("L_NOTICE", "VGPBX REGISTER-DENIED ruser=[$tU] src=[$si] proto=[$proto] why=[unknown user]\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    pv_www_authenticate("@REALM@", "$sht(users=>$au)", "0");
    $var(rc) = $rc;
    if ($var(rc) == -4 || $var(rc) == -6) {
        www_challenge("@REALM@", "0");
        exit;
    }
    if ($var(rc) < 0 || $au != $tU) {
        xlog("L_NOTICE", "VGPBX REGISTER-DENIED ruser=[$tU] src=[$si] proto=[$proto] why=[auth $var(rc)]\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    consume_credentials();
    if (isflagset(5)) {
        setbflag(6);
        setbflag(7);
    }
    if (!save("location")) {
        sl_reply_error();
        exit;
    }
    xlog("L_NOTICE", "VGPBX REGISTERED ruser=[$tU] src=[$si] proto=[$proto] cid=[$ci] uri=[$hdr(Expires) $ct]\n");
}

onreply_route[REPLY] {
    xlog("L_NOTICE", "VGPBX REPLY status=[$rs] ruser=[$(ct{tobody.user})] @AT@ uri=[$(hdr(Contact)[*])]\n");
    # A private Contact (NAT), or a stream transport: in-dialog requests go
    # back over the phone's own connection (a phone takes no TLS connection in).
    if (nat_uac_test("1") || $proto != "udp") {
        set_contact_alias();
    }
    if (has_body("application/sdp")) {
        rtpengine_manage("@RTPFLAGS@");
    }
}
'''

_TLS_CFG = """[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = %(key)s
certificate = %(cert)s

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
"""


class Pbx(v.Kamailio):
    """Kamailio as registrar + proxy with rtpengine (see _PBX_CFG). Reuses
    vgnet.Kamailio's start, readiness, events and contacts; only the config
    differs. EXPIRES: the registration interval the registrar grants
    (min and max); NATPING: seconds between OPTIONS pings to NATed
    contacts (0: none). FORWARDS: {user: target user} (call forwarding).
    TLS: also listen on 5061 over TLS with a self-signed certificate.
    UDP_WORKERS: Kamailio's UDP receiver processes; with more than one, two
    replies sent back to back (a phone's 180 then its 183) can be forwarded
    in either order, as by a real PBX under load. One keeps their order."""

    def __init__(self, site, expires=3600, natping=0, forwards=None, tls=False, rtpflags=None, label="pbx",
                 udp_workers=2):
        super().__init__(site, addresses=(v.PBX,), users=USERS, label=label)
        self.udp_workers = int(udp_workers)
        self.tls = tls
        self.expires = expires
        self.natping = natping
        self.forwards = dict(forwards or {})
        self.rtpflags = rtpflags or "replace-origin replace-session-connection SIP-source-address"

    @staticmethod
    def require():
        v.Kamailio.require()
        mods = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
        for cand in ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/aarch64-linux-gnu/kamailio/modules",
                     "/usr/lib/kamailio/modules"):
            if os.path.isdir(cand):
                mods = cand
                break
        for mod in ("rtpengine.so", "nathelper.so", "tm.so"):
            if not os.path.exists(os.path.join(mods, mod)):
                v.skip("Kamailio's module %s is not installed (packaging/install-deps installs kamailio)" % mod)
        return mods

    def config(self):
        listen = "\n".join("listen=%s:%s:%d" % (p, v.host_of(a), port) for p, a, port in self.listen)
        tlsglobal = tlsload = ""
        if self.tls:
            listen += "\nlisten=tls:%s:5061" % v.PBX
            tlsglobal = "enable_tls=yes"
            key, cert = self.certificate()
            tls_cfg = os.path.join(self.dir, "tls.cfg")
            with open(tls_cfg, "w") as f:
                f.write(_TLS_CFG % {"key": key, "cert": cert})
            tlsload = 'loadmodule "tls.so"\nmodparam("tls", "config", "%s")' % tls_cfg
        users = "\n".join('    $sht(users=>%s) = "%s";' % (u, p) for u, p in sorted(self.users.items()))
        fwds = "\n".join('    $sht(fwd=>%s) = "%s";' % (u, t) for u, t in sorted(self.forwards.items()))
        text = _PBX_CFG
        for key, value in (("@AT@", "src=[$si] proto=[$proto] cid=[$ci]"), ("@LISTEN@", listen),
                           ("@CTL@", self.ctl_socket), ("@USERS@", users), ("@FORWARDS@", fwds),
                           ("@REALM@", REALM), ("@PBX@", v.PBX), ("@EXPIRES@", str(self.expires)),
                           ("@NATPING@", str(self.natping)), ("@NG@", "%s:%d" % RTPENGINE_NG),
                           ("@RTPFLAGS@", self.rtpflags), ("@TLSGLOBAL@", tlsglobal), ("@TLSLOAD@", tlsload),
                           ("@CHILDREN@", str(self.udp_workers))):
            text = text.replace(key, value)
        return text

    def certificate(self):
        key = os.path.join(self.dir, "pbx.key")
        cert = os.path.join(self.dir, "pbx.crt")
        if not os.path.exists(cert):
            v.sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                 "/CN=%s" % v.PBX, "-keyout", key, "-out", cert)
        return key, cert

    def wait_ready(self, timeout=30):
        super().wait_ready(timeout)
        if self.tls:
            ok = v.wait_until(lambda: v.listening(self.site, self.site.internet, "tcp", v.PBX, 5061), timeout)
            if not ok:
                raise RuntimeError("kamailio does not listen on tls %s:5061:\n%s" % (v.PBX, self.stderr()[-3000:]))
        return self

    def registrations(self, user=None):
        """(user, source, proto) of every REGISTERED line, in order."""
        return [(e["user"], e["src"], e["proto"]) for e in self.events("REGISTERED")
                if user is None or e["user"] == user]


class RtpEngine(v.PeerProcess):
    """rtpengine (Debian's `rtpengine-daemon`) in userspace mode in the
    internet namespace: media on ADDRESS (the policy's PBX media), ports
    10000-20000, its ng control socket on the namespace's loopback."""
    STOP_TIMEOUT = 10

    def __init__(self, site, address=v.PBX_MEDIA, label="rtpengine"):
        self.site = site
        self.address = address
        self.dir = os.path.join(site.tmp, label)
        os.makedirs(self.dir, exist_ok=True)
        self.log_file = self.out_file = os.path.join(self.dir, "rtpengine.log")
        self.proc = None
        site.peers.append(self)

    @staticmethod
    def binary():
        for cand in (shutil.which("rtpengine"), "/usr/bin/rtpengine", "/usr/sbin/rtpengine"):
            if cand and os.access(cand, os.X_OK):
                return cand
        return None

    @staticmethod
    def require():
        if RtpEngine.binary() is None:
            v.skip("rtpengine is not installed (packaging/install-deps installs rtpengine-daemon)")

    def start(self, timeout=20):
        cmd = [self.binary(), "--config-file=none", "--foreground", "--log-stderr", "--table=-1",
               "--interface=%s" % self.address, "--listen-ng=%s:%d" % RTPENGINE_NG,
               "--port-min=10000", "--port-max=20000", "--log-level=6", "--delete-delay=0",
               "--pidfile=%s" % os.path.join(self.dir, "rtpengine.pid")]
        out = open(self.log_file, "a")
        self.proc = subprocess.Popen(self.site.ns(self.site.internet, *cmd), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        self.site.procs.append(self.proc)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("rtpengine exited with %d:\n%s" % (self.proc.returncode, self.output()[-3000:]))
            if v.listening(self.site, self.site.internet, "udp", *RTPENGINE_NG):
                if self.ping():
                    return self
            time.sleep(0.2)
        raise RuntimeError("rtpengine does not answer on its ng socket:\n" + self.output()[-3000:])

    def ping(self):
        """An ng "ping" (bencode) on its control socket: whether it says pong."""
        s = v.netns_socket(self.site.internet, socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(2)
            s.sendto(b"vgping d7:command4:pinge", RTPENGINE_NG)
            return b"pong" in s.recv(1000)
        except OSError:
            return False
        finally:
            s.close()



def _netstring(data):
    return b"%d:%s," % (len(data), data)


class Phone(v.PeerProcess):
    """baresip (Debian's `baresip-core`) headless as a SIP phone in namespace
    NS on ADDRESS:5060: registers as USER with its password at the PBX over
    TRANSPORT (udp, tcp, tls), a sine tone as its audio source, no player
    needed; answers automatically (ANSWERMODE auto) or on accept(). Driven
    through its ctrl_tcp module (netstring JSON on CTRL_PORT on the
    namespace's loopback); events() are its JSON events in order."""
    DIAGNOSTIC_LINES = 40

    def __init__(self, site, ns, address, user, transport="udp", regint=3600, answermode="auto",
                 mediaenc=None, ctrl_port=4444, label=None, codecs=("PCMU", "PCMA"), extra_account=""):
        self.site = site
        self.ns = ns
        self.address = address
        self.user = user
        self.transport = transport
        self.regint = regint
        self.answermode = answermode
        self.mediaenc = mediaenc
        self.ctrl_port = ctrl_port
        self.codecs = list(codecs)
        self.extra_account = extra_account
        # RTP ports: a range of its own per phone, so that counters tell them apart.
        self.rtp_ports = (30000 + 1000 * (ctrl_port - 4444), 30999 + 1000 * (ctrl_port - 4444))
        self.label = label or "phone-%s" % user
        self.dir = os.path.join(site.tmp, self.label)
        os.makedirs(self.dir, exist_ok=True)
        self.out_file = os.path.join(self.dir, "baresip.out")
        self.proc = None
        self._counter = None
        self.ctrl = None
        self.buf = b""
        self.event_list = []
        self.token = 0
        site.peers.append(self)

    @staticmethod
    def require(*modules):
        if shutil.which("baresip") is None:
            v.skip("baresip is not installed (packaging/install-deps installs baresip-core)")
        d = Phone.module_dir()
        for m in ("ctrl_tcp", "ausine", "g711", "account") + tuple(modules):
            if not os.path.exists(os.path.join(d, m + ".so")):
                v.skip("baresip's module %s is not installed (packaging/install-deps installs baresip-core)" % m)

    @staticmethod
    def module_dir():
        for cand in ("/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules"):
            if os.path.isdir(cand):
                return cand
        return "/usr/lib/baresip/modules"

    def counter(self):
        """An RtpCounter for this phone's media with the relay."""
        if self._counter is None:
            dev = "lo" if self.ns == self.site.internet else None
            self._counter = RtpCounter(self.site, self.ns, self.rtp_ports, dev=dev)
        return self._counter

    def aor(self):
        return "sip:%s@%s" % (self.user, v.PBX)

    def start(self, wait=True):
        mods = ["g711", "ausine", "aufile"]
        if self.mediaenc:
            mods.append("srtp")
        transports = "udp,tcp,tls" if self.transport == "tls" else "udp,tcp"
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("poll_method\tepoll\n"
                    "sip_listen\t%s:5060\n"
                    "sip_transports\t%s\n"
                    "sip_trans_def\t%s\n"
                    "sip_verify_server\tno\n"
                    "audio_source\tausine,440\n"
                    "ausrc_srate\t48000\n"
                    "ausrc_channels\t2\n"
                    "audio_player\tnone,none\n"
                    "audio_alert\tnone,none\n"
                    "rtp_stats\tyes\n"
                    "rtp_ports\t%d-%d\n"
                    "module_path\t%s\n" % (self.address, transports, self.transport, self.rtp_ports[0],
                                            self.rtp_ports[1], self.module_dir()))
            for m in mods:
                f.write("module\t%s.so\n" % m)
            f.write("module_app\taccount.so\nmodule_app\tmenu.so\nmodule_app\tctrl_tcp.so\n"
                    "ctrl_tcp_listen\t127.0.0.1:%d\n" % self.ctrl_port)
        if self.transport == "tls":
            # A certificate of its own: the PBX may open a TLS connection to
            # the phone (in-dialog requests to its Contact).
            pem = os.path.join(self.dir, "phone.pem")
            if not os.path.exists(pem):
                key, crt = pem + ".key", pem + ".crt"
                v.sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                     "/CN=%s" % self.address, "-keyout", key, "-out", crt)
                with open(pem, "w") as f:
                    f.write(open(crt).read() + open(key).read())
            with open(os.path.join(self.dir, "config"), "a") as f:
                f.write("sip_certificate\t%s\n" % pem)
        params = ";auth_pass=%s;regint=%d;answermode=%s;audio_codecs=%s" % (
            USERS[self.user], self.regint, self.answermode, ",".join(self.codecs))
        if self.mediaenc:
            params += ";mediaenc=%s" % self.mediaenc
        params += self.extra_account
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write("<sip:%s@%s;transport=%s>%s\n" % (self.user, v.PBX, self.transport, params))
        out = open(self.out_file, "a")
        self.proc = subprocess.Popen(self.site.ns(self.ns, "baresip", "-f", self.dir), stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.site.procs.append(self.proc)
        if wait:
            self.connect()
        return self

    def connect(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("baresip %s exited with %d:\n%s" % (self.label, self.proc.returncode,
                                                                      self.output()[-3000:]))
            s = v.netns_socket(self.ns, socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.settimeout(2)
                s.connect(("127.0.0.1", self.ctrl_port))
                s.setblocking(False)
                self.ctrl = s
                return self
            except OSError:
                s.close()
                time.sleep(0.2)
        raise RuntimeError("baresip %s: no ctrl_tcp on port %d:\n%s" % (self.label, self.ctrl_port,
                                                                        self.output()[-3000:]))

    def _read(self):
        if self.ctrl is None:
            return
        while True:
            try:
                data = self.ctrl.recv(65536)
            except (BlockingIOError, socket.timeout):
                break
            except OSError:
                break
            if not data:
                break
            self.buf += data
        while True:
            m = re.match(rb"(\d+):", self.buf)
            if not m:
                break
            n = int(m.group(1))
            start = m.end()
            if len(self.buf) < start + n + 1:
                break
            payload = self.buf[start:start + n]
            self.buf = self.buf[start + n + 1:]
            try:
                self.event_list.append(json.loads(payload.decode(errors="replace")))
            except ValueError:
                self.event_list.append({"raw": payload.decode(errors="replace")})

    def command(self, cmd, params="", timeout=10):
        """Sends a ctrl_tcp command; returns its response (dict) or None."""
        self.token += 1
        token = "vg%d" % self.token
        msg = json.dumps({"command": cmd, "params": params, "token": token}).encode()
        self.ctrl.setblocking(True)
        self.ctrl.sendall(_netstring(msg))
        self.ctrl.setblocking(False)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self._read()
            for e in self.event_list:
                if e.get("response") and e.get("token") == token:
                    return e
            time.sleep(0.05)
        return None

    def events(self, kind=None):
        self._read()
        return [e for e in self.event_list if e.get("event") and (kind is None or e.get("type") == kind)]

    def wait_event(self, kind, count=1, timeout=20, since=0):
        """Until the phone has reported KIND at least COUNT times (after the
        first SINCE events of that kind); the events or []."""
        end = time.monotonic() + timeout
        while True:
            got = self.events(kind)[since:]
            if len(got) >= count:
                return got
            if time.monotonic() >= end or (self.proc and self.proc.poll() is not None):
                return []
            time.sleep(0.1)

    def count(self, kind):
        return len(self.events(kind))

    def dial(self, target):
        """Dials TARGET (a user of the PBX or a SIP URI)."""
        uri = target if target.startswith("sip") else "sip:%s@%s" % (target, v.PBX)
        if self.transport != "udp" and ";transport=" not in uri:
            uri += ";transport=%s" % self.transport
        return self.command("dial", uri)

    def stop(self, check=True, timeout=5):
        if self.ctrl is not None:
            try:
                self.ctrl.close()
            except OSError:
                pass
            self.ctrl = None
        return super().stop(check, timeout)

    def diagnostics(self):
        super().diagnostics()
        print("--- %s events: %s" % (self.label, [(e.get("type"), e.get("param", "")) for e in self.events()][-20:]))


class RtpCounter:
    """Live packet counts of a phone's RTP with the media relay: iptables
    rules in namespace NS (the test's own), one for what the phone sends to
    the relay, one for what it receives from it, matched on the phone's RTP
    ports (PORTS, its rtp_ports) and, where given, on the interface DEV the
    phone's media crosses. SIP (5060/5061) is never in PORTS."""

    def __init__(self, site, ns, ports, relay=v.PBX_MEDIA, dev=None):
        self.site = site
        self.ns = ns
        lo, hi = ports
        self.chain = "VGRTP%d" % lo
        site.run(ns, "iptables", "-N", self.chain)
        site.run(ns, "iptables", "-I", "INPUT", "-j", self.chain)
        site.run(ns, "iptables", "-I", "OUTPUT", "-j", self.chain)
        din = ["-i", dev] if dev else []
        dout = ["-o", dev] if dev else []
        site.run(ns, "iptables", "-A", self.chain, *din, "-p", "udp", "-s", relay, "--dport", "%d:%d" % (lo, hi),
                 "-m", "comment", "--comment", "rx")
        site.run(ns, "iptables", "-A", self.chain, *dout, "-p", "udp", "-d", relay, "--sport", "%d:%d" % (lo, hi),
                 "-m", "comment", "--comment", "tx")

    def read(self):
        r = self.site.run(self.ns, "iptables", "-nvxL", self.chain, check=False).stdout
        out = {"tx": 0, "rx": 0}
        for line in r.splitlines():
            m = re.match(r"\s*(\d+)\s+\d+\s+.*/\*\s*(rx|tx)\s*\*/", line)
            if m:
                out[m.group(2)] = int(m.group(1))
        return out


def start_site(c, s, **pbx_args):
    """The opening of the real-peer scenarios on site S (a RealSite) for
    check C: voipguard on the demo policy, rtpengine, Kamailio (PBX_ARGS:
    Pbx's) and the far-end baresip 300 on the internet side, in that order.
    Returns (daemon, pbx, far)."""
    s.add_internet_address(FAREND)
    d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
    d.start()
    c.figure("backend", d.status()["backend"])
    RtpEngine(s).start()
    pbx = Pbx(s, **pbx_args).start()
    far = Phone(s, s.internet, FAREND, "300", ctrl_port=4450).start()
    return d, pbx, far


def rtp_flows(counters, before, min_packets=50, timeout=30, need=None):
    """Until every counter in COUNTERS ({name: RtpCounter}) has counted
    MIN_PACKETS more than BEFORE ({name: read()}) in both directions, or in
    those NEED names ({name: ("tx",)}); returns the deltas {name: {"tx",
    "rx"}} (the last read, whether or not reached)."""
    end = time.monotonic() + timeout
    need = need or {}
    while True:
        now = {n: c.read() for n, c in counters.items()}
        delta = {n: {d: now[n][d] - before[n][d] for d in ("tx", "rx")} for n in counters}
        if all(delta[n][d] >= min_packets for n in counters for d in need.get(n, ("tx", "rx"))) \
                or time.monotonic() >= end:
            return delta
        time.sleep(0.25)


def stopped(counter, direction, window=1.0, timeout=20):
    """Until COUNTER's DIRECTION ("tx" or "rx") counted nothing for WINDOW
    seconds; whether it did within TIMEOUT."""
    end = time.monotonic() + timeout
    last = counter.read()[direction]
    while time.monotonic() < end:
        time.sleep(window)
        now = counter.read()[direction]
        if now == last:
            return True
        last = now
    return False


# Events that say voipguard dropped or refused something: none may name the
# traffic of the site's own phones and PBX.
BAD_EVENTS = ("VG_MALFORMED", "VG_ROGUE_SIP_DESTINATION", "VG_MEDIA_INJECTION", "VG_MEDIA_ADDRESS_NOT_ALLOWED",
              "VG_EGRESS_DENIED", "VG_SIP_STREAM_CUT", "VG_SIP_UNKNOWN_METHOD", "VG_MEDIA_DESTINATION_DENIED",
              "VG_DROP_UNLISTED_SOURCE", "VG_KERNEL_DROP", "VG_SIP_RATE_LIMITED", "VG_TOLL_FRAUD_BLOCKED",
              "VG_CALL_LIMIT_BLOCKED", "VG_FORGED_SOURCE", "VG_FOREIGN_SOURCE", "VG_SCANNER_DETECTED")


def bad_lines(d, exclude_src=()):
    """voipguard's syslog lines of BAD_EVENTS, less those naming a source in EXCLUDE_SRC."""
    out = []
    for line in d.log_lines():
        if any(e + " " in line for e in BAD_EVENTS) and not any("src=%s " % x in line for x in exclude_src):
            out.append(line)
    return out


def status_figures(d):
    """What a report prints of `voipguard status`: verdict reasons, calls,
    pinholes, queue, kernel drops."""
    st = d.status()
    return {k: st.get(k) for k in ("reasons", "verdicts", "calls", "pinholes", "handsets", "kernel", "queue")
            if k in st}
