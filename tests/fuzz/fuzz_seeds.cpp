// SPDX-License-Identifier: GPL-2.0-or-later
// Writes the fuzz seeds cut from the third-party corpus (corpus_inputs.h)
// into OUTDIR/fuzz_packet/, OUTDIR/fuzz_sip/ and OUTDIR/fuzz_sdp/, each
// emptied first, so tests/fuzz/run seeds the fuzzers from the corpus without
// a copy of it in the source tree. The corpus is VOIPGUARD_CORPUS_DIR (the
// environment) or the folder configured at build time.
//
//   vg_fuzz_seeds OUTDIR    exit 0 with a line per folder; 3 when there is
//                           no corpus (nothing written); 1 on a write error
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "tests/fuzz/corpus_inputs.h"
#include "tests/support/corpus.h"

namespace {

// mkdir -p.
bool make_dirs(const std::string& dir) {
    for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        const std::string part = dir.substr(0, slash);
        if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return false;
        if (slash == std::string::npos) return true;
    }
}

bool make_empty_dir(const std::string& dir) {
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return false;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            if (unlink((dir + "/" + name).c_str()) != 0) {
                closedir(d);
                return false;
            }
        }
        closedir(d);
        return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: vg_fuzz_seeds OUTDIR\n");
        return 2;
    }
    const std::string out = argv[1];
    if (!vg::test::corpus_has("")) {
        std::printf("no third-party corpus at %s (set VOIPGUARD_CORPUS_DIR): no seeds cut from it\n",
                    vg::test::corpus_dir().c_str());
        return 3;
    }
    if (!make_dirs(out)) {
        std::fprintf(stderr, "%s: %s\n", out.c_str(), std::strerror(errno));
        return 1;
    }
    const struct {
        const char* target;
        vg::fuzz::InputKind kind;
    } kTargets[] = {{"fuzz_packet", vg::fuzz::InputKind::packet},
                    {"fuzz_sip", vg::fuzz::InputKind::sip},
                    {"fuzz_sdp", vg::fuzz::InputKind::sdp}};
    for (const auto& t : kTargets) {
        const std::string dir = out + "/" + t.target;
        if (!make_empty_dir(dir)) {
            std::fprintf(stderr, "%s: cannot create or empty: %s\n", dir.c_str(), std::strerror(errno));
            return 1;
        }
        const std::vector<vg::fuzz::Input> inputs = vg::fuzz::corpus_inputs(t.kind);
        for (const vg::fuzz::Input& in : inputs) {
            std::ofstream f(dir + "/" + in.name, std::ios::binary | std::ios::trunc);
            f.write(in.bytes.data(), static_cast<std::streamsize>(in.bytes.size()));
            if (!f) {
                std::fprintf(stderr, "%s/%s: write failed\n", dir.c_str(), in.name.c_str());
                return 1;
            }
        }
        std::printf("%s: %zu seeds from %s\n", dir.c_str(), inputs.size(), vg::test::corpus_dir().c_str());
    }
    return 0;
}
