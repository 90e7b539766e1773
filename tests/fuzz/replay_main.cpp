// SPDX-License-Identifier: GPL-2.0-or-later
// Runs a fuzz target's entry point over files and folders without libFuzzer,
// so every unit-test run (ASan + UBSan included) replays the project's own
// seeds, every input that once made a target fail
// (tests/data/fuzz-regressions/TARGET/) and, when the third-party corpus is
// there, the inputs tests/fuzz/run cuts out of it (tests/fuzz/corpus_inputs.h).
//
//   fuzz_TARGET_replay [--corpus packet|sip|sdp] PATH...
//       exit 0 when every input ran, 1 on a missing path or a bad option,
//       77 (skipped, with the reason) when there was nothing to run because
//       the corpus is absent; a crash is a crash
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/corpus_inputs.h"
#include "tests/support/corpus.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void run_bytes(const std::string& bytes) {
    // An exact-size heap copy, so ASan catches any read past the end.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(copy.data(), copy.size());
}

bool run_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    run_bytes(ss.str());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t inputs = 0;
    int first = 1;
    std::string corpus_note;
    if (argc > 2 && std::string(argv[1]) == "--corpus") {
        vg::fuzz::InputKind kind{};
        if (!vg::fuzz::input_kind_from_name(argv[2], kind)) {
            std::fprintf(stderr, "--corpus %s: expected packet, sip or sdp\n", argv[2]);
            return 1;
        }
        first = 3;
        if (vg::test::corpus_has("")) {
            const std::vector<vg::fuzz::Input> derived = vg::fuzz::corpus_inputs(kind);
            for (const vg::fuzz::Input& in : derived) run_bytes(in.bytes);
            inputs += derived.size();
            std::printf("%zu inputs cut from the corpus at %s\n", derived.size(), vg::test::corpus_dir().c_str());
        } else {
            corpus_note = "no third-party corpus at " + vg::test::corpus_dir() +
                          " (set VOIPGUARD_CORPUS_DIR; see tests/data/README.md): the " + argv[2] +
                          " inputs cut from its messages and captures were not replayed";
            std::printf("%s\n", corpus_note.c_str());
        }
    }
    for (int i = first; i < argc; ++i) {
        struct stat st {};
        if (stat(argv[i], &st) != 0) {
            std::fprintf(stderr, "%s: not found\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR* d = opendir(argv[i]);
            if (d == nullptr) return 1;
            std::vector<std::string> names;
            while (dirent* e = readdir(d))
                if (e->d_name[0] != '.') names.push_back(std::string(argv[i]) + "/" + e->d_name);
            closedir(d);
            for (const std::string& n : names) {
                struct stat fst {};
                if (stat(n.c_str(), &fst) == 0 && S_ISREG(fst.st_mode) && run_file(n)) ++inputs;
            }
        } else if (run_file(argv[i])) {
            ++inputs;
        }
    }
    if (inputs == 0 && !corpus_note.empty()) {
        std::printf("SKIP: %s, and the project has none of its own\n", corpus_note.c_str());
        return 77;
    }
    std::printf("%zu inputs ran\n", inputs);
    return 0;
}
