// SPDX-License-Identifier: GPL-2.0-or-later
// Includes (config/includes.cpp: files, loops, depth, missing files) and how
// the files merge (config/merged_view.cpp: merge order, append and override
// rules), site-only keys and peer names across files.
#include "config/loader.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

namespace vg::config {
namespace {

using test::errors_of;
using test::TempDir;
using test::test_options;

const std::string kProvider =
    "version: 1\n"
    "peers:\n"
    "  pbx:\n"
    "    - name: cloud-pbx\n"
    "      addresses: [203.0.113.10]\n"
    "  support:\n"
    "    - name: noc\n"
    "      addresses: [198.51.100.7]\n"
    "      ports: [tcp/22]\n"
    "sip:\n"
    "  max_headers: 100\n"
    "  rate_limits:\n"
    "    INVITE: 1/s burst 2\n"
    "    OPTIONS: 2/s\n"
    "toll_fraud:\n"
    "  deny_prefixes: [\"+881\"]\n"
    "  limits:\n"
    "    per_handset:\n"
    "      concurrent_calls: 3\n";

std::string site(const std::string& extra) {
    return "version: 1\n"
           "include: [provider.yaml]\n"
           "site: s\n"
           "on_failure: closed\n"
           "handsets:\n"
           "  networks: [192.168.20.0/24]\n" +
           extra;
}

TEST(Include, ProviderPeersAndSettingsAreMerged) {
    TempDir d;
    d.write("provider.yaml", kProvider);
    const auto path = d.write("site.yaml", site("peers:\n  support:\n    - name: it\n      addresses: [198.51.100.20]\n"
                                                "      ports: [tcp/443]\ntoll_fraud:\n  deny_prefixes: [\"09\"]\n"
                                                "  limits:\n    per_handset:\n      concurrent_calls: 4\n"
                                                "sip:\n  rate_limits:\n    INVITE: 3/s burst 6\n"));
    const auto r = load_policy_file(path, test_options());
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    const Policy& p = *r.policy;
    ASSERT_EQ(p.peers.pbx.size(), 1u);
    EXPECT_EQ(p.peers.pbx[0].origin.file, d.path() + "/provider.yaml");
    ASSERT_EQ(p.peers.support.size(), 2u);   // appended: included first
    EXPECT_EQ(p.peers.support[0].name, "noc");
    EXPECT_EQ(p.peers.support[1].name, "it");
    EXPECT_EQ(p.sip.max_headers, 100u);                                 // from the include
    EXPECT_EQ(p.toll_fraud.limits.per_handset_concurrent_calls, 4u);    // site overrides
    EXPECT_EQ(p.sip.rate_limits.at("INVITE").count, 3u);                // per-method override
    EXPECT_EQ(p.sip.rate_limits.at("OPTIONS").count, 2u);               // from the include
    EXPECT_EQ(p.sip.rate_limits.at("REGISTER").count, 5u);              // default
    const auto n = p.toll_fraud.deny_prefixes.size();
    ASSERT_GE(n, 2u);
    EXPECT_EQ(p.toll_fraud.deny_prefixes[n - 1].digits, "09");
    EXPECT_EQ(p.files, (std::vector<std::string>{path, d.path() + "/provider.yaml"}));
}

TEST(Include, IncludedFileMayNotSetSiteOnlyKeys) {
    TempDir d;
    d.write("provider.yaml", kProvider + "site: other\nhandsets:\n  networks: [10.0.0.0/8]\n");
    const auto path = d.write("site.yaml", site(""));
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.ok());
    const auto prov = d.path() + "/provider.yaml";
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{
                                prov + ":20:1: site: may only be set in the site file, not in an included file",
                                prov + ":22:3: handsets.networks: may only be set in the site file, not in an included file",
                            }));
}

TEST(Include, DuplicatePeerNameAcrossFilesCitesBoth) {
    TempDir d;
    d.write("provider.yaml", kProvider);
    const auto path = d.write("site.yaml", site("peers:\n  pbx:\n    - name: cloud-pbx\n      addresses: [203.0.113.20]\n"));
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{path + ":9:13: peers.pbx[0].name: duplicate peer name 'cloud-pbx' "
                                                             "(first at " + d.path() + "/provider.yaml:4:13)"}));
}

TEST(Include, LoopIsDetected) {
    TempDir d;
    d.write("a.yaml", "version: 1\ninclude: [b.yaml]\n");
    d.write("b.yaml", "version: 1\ninclude: [a.yaml]\n");
    const auto path = d.write("site.yaml", "version: 1\ninclude: [a.yaml]\nsite: s\nhandsets:\n  networks: [192.168.20.0/24]\n");
    const auto r = load_policy_file(path, test_options());
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{d.path() + "/b.yaml:2:11: include[0]: include loop: \"a.yaml\" "
                                                                 "includes itself (directly or through other files)"}));
}

TEST(Include, SelfIncludeIsALoop) {
    TempDir d;
    const auto path = d.write("site.yaml", site("").replace(site("").find("provider.yaml"), 13, "site.yaml"));
    const auto r = load_policy_file(path, test_options());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r).front(),
              path + ":2:11: include[0]: include loop: \"site.yaml\" includes itself (directly or through other files)");
}

TEST(Include, FileIncludedTwiceIsAnError) {
    TempDir d;
    d.write("provider.yaml", kProvider);
    const auto path = d.write("site.yaml", "version: 1\ninclude: [provider.yaml, ./provider.yaml]\nsite: s\n"
                                           "handsets:\n  networks: [192.168.20.0/24]\n");
    const auto r = load_policy_file(path, test_options());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{path + ":2:26: include[1]: \"./provider.yaml\" is already included (at " +
                                                      path + ":2:11)"}));
}

TEST(Include, DepthIsCapped) {
    TempDir d;
    for (int i = 0; i < 12; ++i)
        d.write("f" + std::to_string(i) + ".yaml", "version: 1\ninclude: [f" + std::to_string(i + 1) + ".yaml]\n");
    d.write("f12.yaml", "version: 1\n");
    const auto path = d.write("site.yaml", "version: 1\ninclude: [f0.yaml]\nsite: s\nhandsets:\n  networks: [192.168.20.0/24]\n");
    const auto r = load_policy_file(path, test_options());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{d.path() + "/f7.yaml:2:11: include[0]: includes nested deeper than 8 levels"}));
}

TEST(Include, MissingFileIsReportedAtTheInclude) {
    TempDir d;
    const auto path = d.write("site.yaml", site(""));
    const auto r = load_policy_file(path, test_options());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{path + ":2:11: include[0]: cannot read " + d.path() +
                                                      "/provider.yaml: No such file or directory"}));
}

TEST(Include, RelativeToTheIncludingFile) {
    TempDir d;
    d.write("common/provider.yaml", "version: 1\ninclude: [pbx.yaml]\n");
    d.write("common/pbx.yaml", "version: 1\npeers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n");
    const auto path = d.write("sites/a/site.yaml", "version: 1\ninclude: [../../common/provider.yaml]\nsite: s\n"
                                                   "handsets:\n  networks: [192.168.20.0/24]\n");
    const auto r = load_policy_file(path, test_options());
    ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors_of(r));
    EXPECT_EQ(r.policy->peers.pbx.size(), 1u);
    EXPECT_EQ(r.policy->files.size(), 3u);
}

TEST(Include, ErrorsInIncludedFilesNameThatFile) {
    TempDir d;
    d.write("provider.yaml", "version: 1\nsip:\n  max_headers: 1\n");
    const auto path = d.write("site.yaml", site("peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n"));
    const auto r = load_policy_file(path, test_options());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{d.path() + "/provider.yaml:3:16: sip.max_headers: \"1\" is out of range (16..256)"}));
}

TEST(Include, IncludedFileNeedsAVersion) {
    TempDir d;
    d.write("provider.yaml", "peers:\n  pbx:\n    - name: p\n      addresses: [203.0.113.1]\n");
    const auto path = d.write("site.yaml", site(""));
    const auto r = load_policy_file(path, test_options());
    EXPECT_EQ(errors_of(r), (std::vector<std::string>{d.path() + "/provider.yaml:1:1: version: required key is missing"}));
}

}  // namespace
}  // namespace vg::config
