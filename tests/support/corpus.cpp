// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/support/corpus.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#ifndef VG_CORPUS_DIR
#error "VG_CORPUS_DIR must name the corpus folder (CMake: VOIPGUARD_CORPUS_DIR)"
#endif

namespace vg::test {

std::string corpus_dir() {
    const char* env = std::getenv("VOIPGUARD_CORPUS_DIR");
    if (env != nullptr && *env != '\0') return env;
    return VG_CORPUS_DIR;
}

std::string configured_corpus_dir() { return VG_CORPUS_DIR; }

std::string corpus_path(const std::string& relative) { return corpus_dir() + "/" + relative; }

bool corpus_has(const std::string& relative) {
    struct stat st {};
    const std::string path = corpus_path(relative);
    if (stat(path.c_str(), &st) != 0) return false;
    if (S_ISDIR(st.st_mode)) return true;
    return S_ISREG(st.st_mode) && std::ifstream(path, std::ios::binary).good();
}

std::optional<std::string> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return ss.str();
}

std::optional<std::string> read_corpus_file(const std::string& relative) {
    return read_file_bytes(corpus_path(relative));
}

std::vector<std::string> list_corpus_dir(const std::string& relative) {
    std::vector<std::string> names;
    const std::string dir = corpus_path(relative);
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            if (name.empty() || name[0] == '.' || name == "MANIFEST.tsv") continue;
            struct stat st {};
            if (stat((dir + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(name);
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t tab = line.find('\t', start);
        out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) return out;
        start = tab + 1;
    }
}

// Reads one manifest; `prefix` turns its file names into corpus-relative ones.
void read_manifest(const std::string& relative, const std::string& prefix, std::vector<ManifestEntry>& out) {
    const std::optional<std::string> text = read_corpus_file(relative);
    if (!text) return;
    std::istringstream in(*text);
    std::string line;
    if (!std::getline(in, line)) return;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::vector<std::string> columns = split_tabs(line);
    auto column = [&](const char* name) -> std::size_t {
        const auto it = std::find(columns.begin(), columns.end(), name);
        return it == columns.end() ? columns.size() : static_cast<std::size_t>(it - columns.begin());
    };
    const std::size_t c_file = column("file"), c_bytes = column("bytes"), c_sha = column("sha256"),
                      c_license = column("license"), c_repo = column("source_repo"), c_path = column("source_path");
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const std::vector<std::string> f = split_tabs(line);
        auto at = [&](std::size_t i) { return i < f.size() ? f[i] : std::string(); };
        ManifestEntry e;
        e.file = prefix + at(c_file);
        e.bytes = std::strtoull(at(c_bytes).c_str(), nullptr, 10);
        e.sha256 = at(c_sha);
        e.license = at(c_license);
        e.source = at(c_repo) + " " + at(c_path);
        out.push_back(std::move(e));
    }
}

// ---------------------------------------------------------------- SHA-256 (FIPS 180-4 §6.2)

constexpr std::array<std::uint32_t, 64> kK = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint32_t rotr(std::uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

void sha256_block(std::array<std::uint32_t, 8>& h, const unsigned char* p) {
    std::uint32_t w[64];
    for (unsigned i = 0; i < 16; ++i)
        w[i] = static_cast<std::uint32_t>(p[4 * i]) << 24 | static_cast<std::uint32_t>(p[4 * i + 1]) << 16 |
               static_cast<std::uint32_t>(p[4 * i + 2]) << 8 | static_cast<std::uint32_t>(p[4 * i + 3]);
    for (unsigned i = 16; i < 64; ++i) {
        const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (unsigned i = 0; i < 64; ++i) {
        const std::uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
        const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

}  // namespace

std::vector<ManifestEntry> corpus_manifest() {
    std::vector<ManifestEntry> out;
    read_manifest("MANIFEST.tsv", "", out);
    read_manifest("interop/MANIFEST.tsv", "interop/", out);
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    std::array<std::uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    while (n >= 64) {
        sha256_block(h, p);
        p += 64;
        n -= 64;
    }
    // Padding: 0x80, zeros, then the message length in bits (big-endian).
    unsigned char last[128] = {};
    std::memcpy(last, p, n);
    last[n] = 0x80;
    const std::size_t blocks = n + 1 + 8 <= 64 ? 1 : 2;
    const std::uint64_t bits = static_cast<std::uint64_t>(bytes.size()) * 8;
    for (unsigned i = 0; i < 8; ++i) last[blocks * 64 - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
    for (std::size_t b = 0; b < blocks; ++b) sha256_block(h, last + 64 * b);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::uint32_t v : h)
        for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xf];
    return out;
}

}  // namespace vg::test
