// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/pcap_reader.h"

#include <pcap/pcap.h>

#include <cstdio>

#include <utility>

namespace vg::daemon {

void PcapReader::Closer::operator()(pcap* p) const noexcept {
    if (p != nullptr) pcap_close(p);
}

PcapReader::PcapReader() noexcept = default;
PcapReader::~PcapReader() = default;
PcapReader::PcapReader(PcapReader&&) noexcept = default;
PcapReader& PcapReader::operator=(PcapReader&&) noexcept = default;

void PcapReader::set_error(const char* what, const char* detail) noexcept {
    try {
        error_ = path_;
        error_ += ": ";
        error_ += what;
        if (detail != nullptr && *detail != '\0') {
            error_ += ": ";
            error_ += detail;
        }
    } catch (...) {
        error_.clear();  // out of memory: an empty message is still an error
    }
}

void PcapReader::close() noexcept {
    handle_.reset();
    datalink_ = -1;
    index_ = 0;
    state_ = Next::end;
}

bool PcapReader::open(const std::string& path) noexcept {
    close();
    error_.clear();
    try {
        path_ = path;
    } catch (...) {
        path_.clear();
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
        set_error("cannot read capture", errbuf);
        state_ = Next::error;
        return false;
    }
    handle_.reset(p);
    datalink_ = pcap_datalink(p);
    if (datalink_ < 0 || !net::link_type_from_pcap(static_cast<std::uint32_t>(datalink_), link_type_)) {
        char detail[128];
        const char* name = datalink_ >= 0 ? pcap_datalink_val_to_name(datalink_) : nullptr;
        std::snprintf(detail, sizeof detail, "%d (%s); supported: Ethernet, Linux cooked (SLL, SLL2), "
                      "BSD loopback, raw IP", datalink_, name != nullptr ? name : "unknown");
        set_error("unsupported link type", detail);
        handle_.reset();
        state_ = Next::error;
        return false;
    }
    state_ = Next::frame;
    return true;
}

PcapReader::Next PcapReader::next(PcapFrame& out) noexcept {
    if (state_ != Next::frame || !handle_) return state_;
    struct pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_.get(), &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) {  // -2: end of file
        state_ = Next::end;
        return state_;
    }
    if (rc != 1 || hdr == nullptr || data == nullptr) {
        char what[64];
        std::snprintf(what, sizeof what, "frame %llu", static_cast<unsigned long long>(index_ + 1));
        set_error(what, rc == PCAP_ERROR ? pcap_geterr(handle_.get()) : "unreadable record");
        state_ = Next::error;
        return state_;
    }
    ++index_;
    out.index = index_;
    // Classic pcap stores seconds as an unsigned 32-bit field (times up to
    // 2106); libpcap hands them over sign-extended, so undo that as
    // tshark does.
    out.ts_sec = static_cast<std::int64_t>(hdr->ts.tv_sec);
    if (out.ts_sec < 0 && out.ts_sec >= -static_cast<std::int64_t>(0x80000000LL)) out.ts_sec += 0x100000000LL;
    // Opened with nanosecond precision: tv_usec holds nanoseconds.
    out.ts_nsec = static_cast<std::uint32_t>(hdr->ts.tv_usec);
    out.captured_length = hdr->caplen;
    out.original_length = hdr->len;
    out.data = data;
    out.link = net::decode_link(link_type_, data, hdr->caplen);
    return Next::frame;
}

}  // namespace vg::daemon
