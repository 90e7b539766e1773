// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/support/test_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace vg::test {

std::string data_path(const std::string& relative) {
    return std::string(VG_TEST_DATA_DIR) + "/" + relative;
}

std::string read_data_file(const std::string& relative) {
    std::ifstream in(data_path(relative), std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot read test data file " << data_path(relative);
        return {};
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> list_data_dir(const std::string& relative) {
    std::vector<std::string> names;
    const std::string dir = data_path(relative);
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string name = e->d_name;
            struct stat st {};
            if (stat((dir + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(name);
        }
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace vg::test
