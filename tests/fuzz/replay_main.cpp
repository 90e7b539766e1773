// SPDX-License-Identifier: GPL-2.0-or-later
// Runs a fuzz target's entry point over files and folders without libFuzzer,
// so every unit-test run (ASan + UBSan included) replays the seed corpora
// and every input that once made a target fail
// (tests/data/fuzz-regressions/TARGET/).
//
//   fuzz_TARGET_replay PATH...     exit 0 when every input ran, 1 on a
//                                  missing path; a crash is a crash
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    // An exact-size heap copy, so ASan catches any read past the end.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(copy.data(), copy.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t inputs = 0;
    for (int i = 1; i < argc; ++i) {
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
    std::printf("%zu inputs ran\n", inputs);
    return 0;
}
