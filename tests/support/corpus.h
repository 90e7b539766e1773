// SPDX-License-Identifier: GPL-2.0-or-later
// Access to the third-party test corpus: the RFC 4475 and RFC 5118 torture
// messages and public captures that tests, fuzz seeds and benchmarks read but
// this tree never holds (licences differ from ours). It lives beside the
// source tree, ../shared/corpus by default (CMake cache variable
// VOIPGUARD_CORPUS_DIR), with MANIFEST.tsv files naming each file's source,
// licence, size and SHA-256. The environment variable VOIPGUARD_CORPUS_DIR
// overrides the configured folder when a test runs. Tests that need a file
// that is absent skip (tests/support/corpus_gtest.h), they never fail.
//
// No GoogleTest here: the fuzz seed tool and the replay binaries use it too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vg::test {

// The corpus folder: $VOIPGUARD_CORPUS_DIR when set and not empty, else the
// folder configured at build time (the compile definition VG_CORPUS_DIR).
std::string corpus_dir();

// The folder configured at build time, whatever the environment says.
std::string configured_corpus_dir();

// corpus_dir() + "/" + relative ("rfc4475/wsinv.dat", "pcap/sipp__g711a.pcap").
std::string corpus_path(const std::string& relative);

// True when corpus_path(relative) is a readable file or a folder.
bool corpus_has(const std::string& relative);

// A whole corpus file, or nothing when it is absent or unreadable.
std::optional<std::string> read_corpus_file(const std::string& relative);

// Names of the regular files in a corpus folder, sorted; the folder's own
// MANIFEST.tsv and hidden files are left out. Empty when the folder is absent.
std::vector<std::string> list_corpus_dir(const std::string& relative);

// Any file as bytes (nothing when unreadable).
std::optional<std::string> read_file_bytes(const std::string& path);

// One line of a corpus manifest: where the file came from and what it was.
struct ManifestEntry {
    std::string file;     // relative to the corpus folder ("interop/x.pcap")
    std::uint64_t bytes = 0;
    std::string sha256;   // lower-case hex
    std::string license;
    std::string source;   // repository and path it was taken from
};

// Every entry of the corpus manifests: MANIFEST.tsv (rfc4475/, rfc5118/,
// pcap/) and interop/MANIFEST.tsv, with file names made relative to the
// corpus folder. Empty when there is no corpus. The two manifests order
// their columns differently; both are read by column name.
std::vector<ManifestEntry> corpus_manifest();

// SHA-256 of bytes, lower-case hex (FIPS 180-4).
std::string sha256_hex(std::string_view bytes);

}  // namespace vg::test
