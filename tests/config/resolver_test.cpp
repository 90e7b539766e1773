// SPDX-License-Identifier: GPL-2.0-or-later
// Host names (config/resolver.cpp): resolved at load and kept, an error when
// one does not resolve (once per entry, each name looked up once), left alone
// with --no-resolve, refreshed keeping the last good addresses.
#include "config/loader.h"
#include "tests/config/config_test_util.h"

#include <gtest/gtest.h>

namespace vg::config {
namespace {

using test::load;
using test::test_options;

// 9 lines; cases append from line 10.
const std::string kBase = test::base_policy();

TEST(Resolver, HostNamesAreResolvedAndKept) {
    const auto r = load(kBase + "      media:\n        addresses: [media.example.net]\n");
    ASSERT_TRUE(r.ok());
    const auto& e = r.policy->peers.pbx[0].media.addresses[0];
    EXPECT_TRUE(e.is_host());
    EXPECT_EQ(e.host, "media.example.net");
    EXPECT_EQ(e.resolved, test::fake_resolve("media.example.net").addresses);
    EXPECT_EQ(e.prefixes().size(), 2u);
    EXPECT_EQ(e.path, "peers.pbx[0].media.addresses[0]");
}

TEST(Resolver, NameThatDoesNotResolveIsAnErrorAtItsEntry) {
    const auto r = load(kBase + "  support:\n    - name: noc\n      addresses: [noc.invalid]\n      ports: [tcp/22]\n");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(test::errors_of(r),
              std::vector<std::string>{"t.yaml:12:19: peers.support[0].addresses[0]: host name 'noc.invalid' does not "
                                       "resolve (Name or service not known); a host name must resolve when the policy "
                                       "is loaded"});
}

TEST(Resolver, EachNameIsLookedUpOnceAndItsErrorGivenOnce) {
    // The PBX's media addresses default to its signalling addresses: the
    // same entries twice, one error.
    auto opt = test_options();
    std::vector<std::string> asked;
    opt.resolver = [&](const std::string& host) {
        asked.push_back(host);
        return test::fake_resolve(host);
    };
    const auto r = load_policy_text(
        "version: 1\nsite: t\nhandsets:\n  networks: [192.168.20.0/24]\npeers:\n  pbx:\n    - name: p\n"
        "      addresses: [pbx.invalid, a.example.net]\n  support:\n    - name: noc\n"
        "      addresses: [a.example.net, pbx.invalid]\n      ports: [tcp/22]\n",
        "t.yaml", opt);
    EXPECT_EQ(asked, (std::vector<std::string>{"pbx.invalid", "a.example.net"}));
    EXPECT_EQ(test::errors_of(r),
              (std::vector<std::string>{
                  "t.yaml:8:19: peers.pbx[0].addresses[0]: host name 'pbx.invalid' does not resolve (Name or service "
                  "not known); a host name must resolve when the policy is loaded",
                  "t.yaml:11:34: peers.support[0].addresses[1]: host name 'pbx.invalid' does not resolve (Name or "
                  "service not known); a host name must resolve when the policy is loaded"}));
}

TEST(Resolver, NoResolveLeavesNamesUnresolved) {
    auto opt = test_options();
    opt.resolve_host_names = false;
    opt.resolver = [](const std::string&) -> ResolveResult {
        ADD_FAILURE() << "resolver called";
        return {};
    };
    const auto r = load_policy_text(kBase + "      media:\n        addresses: [nowhere.invalid]\n", "t.yaml", opt);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.policy->peers.pbx[0].media.addresses[0].resolved.empty());
}

TEST(Resolver, RefreshKeepsLastGoodAddressesOnFailure) {
    auto r = load(kBase + "      media:\n        addresses: [media.example.net]\n");
    ASSERT_TRUE(r.ok());
    Policy p = *r.policy;
    const auto before = p.peers.pbx[0].media.addresses[0].resolved;
    const auto failed = refresh_host_names(p, [](const std::string&) {
        ResolveResult rr;
        rr.error = "timeout";
        return rr;
    });
    EXPECT_FALSE(failed.changed);
    EXPECT_EQ(p.peers.pbx[0].media.addresses[0].resolved, before);
    EXPECT_EQ(failed.warnings.size(), 1u);
    EXPECT_EQ(failed.warnings[0].format(),
              "t.yaml:11:21: warning: peers.pbx[0].media.addresses[0]: host name 'media.example.net' does not resolve "
              "(timeout); keeping the last good addresses");

    const auto moved = refresh_host_names(p, [](const std::string&) {
        ResolveResult rr;
        rr.addresses.push_back(*net::IpAddress::parse("192.0.2.99"));
        return rr;
    });
    EXPECT_TRUE(moved.changed);
    EXPECT_EQ(p.peers.pbx[0].media.addresses[0].resolved.size(), 1u);
    const auto same = refresh_host_names(p, [](const std::string&) {
        ResolveResult rr;
        rr.addresses.push_back(*net::IpAddress::parse("192.0.2.99"));
        return rr;
    });
    EXPECT_FALSE(same.changed);
}

}  // namespace
}  // namespace vg::config
