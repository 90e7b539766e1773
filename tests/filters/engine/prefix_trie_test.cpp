// SPDX-License-Identifier: GPL-2.0-or-later
#include "filters/engine/prefix_trie.h"

#include <gtest/gtest.h>

#include "tests/support/param_names.h"

#include <sstream>
#include <string>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "tests/support/alloc_counter.h"

namespace vg::engine {
namespace {

using test::case_name;

using net::Cidr;
using net::IpAddress;

Cidr cidr(const char* s) {
    auto c = Cidr::parse(s);
    EXPECT_TRUE(c.has_value()) << s;
    return c.value_or(Cidr{});
}

IpAddress ip(const char* s) {
    auto a = IpAddress::parse(s);
    EXPECT_TRUE(a.has_value()) << s;
    return a.value_or(IpAddress{});
}

struct LookupCase {
    const char* address;
    const char* expected;  // value of the longest match, nullptr for none
};

std::ostream& operator<<(std::ostream& os, const LookupCase& c) {
    return os << c.address << " matches " << (c.expected ? c.expected : "nothing");
}

class PrefixTrieLookup : public ::testing::TestWithParam<LookupCase> {
protected:
    static PrefixTrie<std::string> make() {
        PrefixTrie<std::string> t;
        for (const char* p : {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "192.0.2.0/25",
                              "192.0.2.128/25", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::1/128",
                              "::ffff:0:0/96"})
            t.insert(cidr(p), p);
        return t;
    }
};

TEST_P(PrefixTrieLookup, ReturnsLongestMatchingPrefix) {
    const auto t = make();
    const std::string* v = t.lookup(ip(GetParam().address));
    if (GetParam().expected == nullptr) {
        EXPECT_EQ(v, nullptr) << GetParam().address << " matched " << *v;
    } else {
        ASSERT_NE(v, nullptr) << GetParam().address;
        EXPECT_EQ(*v, GetParam().expected);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PrefixTrieLookup,
    ::testing::Values(LookupCase{"10.200.0.1", "10.0.0.0/8"}, LookupCase{"10.1.200.1", "10.1.0.0/16"},
                      LookupCase{"10.1.2.4", "10.1.2.0/24"}, LookupCase{"10.1.2.3", "10.1.2.3/32"},
                      LookupCase{"11.0.0.0", nullptr}, LookupCase{"9.255.255.255", nullptr},
                      LookupCase{"192.0.2.127", "192.0.2.0/25"}, LookupCase{"192.0.2.128", "192.0.2.128/25"},
                      LookupCase{"192.0.3.0", nullptr}, LookupCase{"2001:db8:ffff::1", "2001:db8::/32"},
                      LookupCase{"2001:db8:1::2", "2001:db8:1::/48"},
                      LookupCase{"2001:db8:1::1", "2001:db8:1::1/128"}, LookupCase{"2001:db9::1", nullptr},
                      LookupCase{"::ffff:10.1.2.3", "::ffff:0:0/96"}, LookupCase{"fe80::1", nullptr}),
    [](const auto& pi) { return case_name(pi); });

TEST(PrefixTrie, EmptyTrieMatchesNothing) {
    PrefixTrie<int> t;
    EXPECT_EQ(t.lookup(ip("10.0.0.1")), nullptr);
    EXPECT_EQ(t.lookup(ip("2001:db8::1")), nullptr);
    EXPECT_FALSE(t.contains(IpAddress{}));
    EXPECT_TRUE(t.empty());
}

TEST(PrefixTrie, Ipv4AndIpv6AreSeparateEvenForSameBits) {
    PrefixTrie<int> t;
    t.insert(cidr("0.0.0.0/0"), 4);
    // ::/8 has the same leading bits as 0.0.0.0/8 but is another family.
    EXPECT_EQ(t.lookup(ip("::1")), nullptr);
    ASSERT_NE(t.lookup(ip("0.0.0.1")), nullptr);
    t.insert(cidr("::/0"), 6);
    EXPECT_EQ(*t.lookup(ip("::1")), 6);
    EXPECT_EQ(*t.lookup(ip("0.0.0.1")), 4);
    EXPECT_EQ(*t.lookup(ip("::ffff:1.2.3.4")), 6);
}

TEST(PrefixTrie, ZeroLengthPrefixMatchesEveryAddressOfItsFamily) {
    PrefixTrie<int> t;
    t.insert(cidr("0.0.0.0/0"), 1);
    t.insert(cidr("203.0.113.0/24"), 2);
    unsigned len = 99;
    ASSERT_NE(t.lookup(ip("255.255.255.255"), len), nullptr);
    EXPECT_EQ(*t.lookup(ip("255.255.255.255")), 1);
    EXPECT_EQ(len, 0u);
    EXPECT_EQ(*t.lookup(ip("203.0.113.9"), len), 2);
    EXPECT_EQ(len, 24u);
}

TEST(PrefixTrie, HostPrefixesMatchOnlyTheirAddress) {
    PrefixTrie<int> t;
    t.insert(cidr("198.51.100.7/32"), 1);
    t.insert(cidr("2001:db8::7/128"), 2);
    EXPECT_EQ(*t.lookup(ip("198.51.100.7")), 1);
    EXPECT_EQ(t.lookup(ip("198.51.100.6")), nullptr);
    EXPECT_EQ(t.lookup(ip("198.51.100.8")), nullptr);
    EXPECT_EQ(*t.lookup(ip("2001:db8::7")), 2);
    EXPECT_EQ(t.lookup(ip("2001:db8::6")), nullptr);
    unsigned len = 0;
    t.lookup(ip("2001:db8::7"), len);
    EXPECT_EQ(len, 128u);
}

TEST(PrefixTrie, AllOnesAndAllZerosHostsAreDistinct) {
    PrefixTrie<int> t;
    t.insert(cidr("0.0.0.0/32"), 0);
    t.insert(cidr("255.255.255.255/32"), 1);
    t.insert(cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 2);
    EXPECT_EQ(*t.lookup(ip("0.0.0.0")), 0);
    EXPECT_EQ(*t.lookup(ip("255.255.255.255")), 1);
    EXPECT_EQ(t.lookup(ip("255.255.255.254")), nullptr);
    EXPECT_EQ(*t.lookup(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), 2);
}

TEST(PrefixTrie, DuplicatePrefixReplacesValueAndKeepsSize) {
    PrefixTrie<int> t;
    EXPECT_EQ(t.insert(cidr("10.0.0.0/8"), 1), PrefixTrie<int>::InsertResult::inserted);
    EXPECT_EQ(t.insert(cidr("10.9.9.9/8"), 2), PrefixTrie<int>::InsertResult::replaced);  // host bits ignored
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(*t.lookup(ip("10.1.1.1")), 2);
}

TEST(PrefixTrie, InvalidCidrIsRejected) {
    PrefixTrie<int> t;
    EXPECT_EQ(t.insert(Cidr{}, 1), PrefixTrie<int>::InsertResult::invalid);
    Cidr too_long = cidr("10.0.0.0/8");
    too_long.prefix = 33;
    EXPECT_EQ(t.insert(too_long, 1), PrefixTrie<int>::InsertResult::invalid);
    EXPECT_EQ(t.size(), 0u);
}

TEST(PrefixTrie, FindIsExactNotCovering) {
    PrefixTrie<int> t;
    t.insert(cidr("10.0.0.0/8"), 1);
    t.insert(cidr("10.1.0.0/16"), 2);
    ASSERT_NE(t.find(cidr("10.1.0.0/16")), nullptr);
    EXPECT_EQ(*t.find(cidr("10.1.0.0/16")), 2);
    EXPECT_EQ(t.find(cidr("10.1.0.0/24")), nullptr);
    EXPECT_EQ(t.find(cidr("10.0.0.0/7")), nullptr);
}

TEST(PrefixTrie, InsertOrderDoesNotChangeResults) {
    // Shorter-after-longer exercises the "new prefix covers an existing node"
    // split; siblings exercise the branch-node split.
    PrefixTrie<int> a, b;
    const char* prefixes[] = {"10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8", "10.1.3.0/24", "10.128.0.0/9"};
    for (int i = 0; i < 5; ++i) a.insert(cidr(prefixes[i]), i);
    for (int i = 4; i >= 0; --i) b.insert(cidr(prefixes[i]), i);
    for (const char* addr : {"10.1.2.1", "10.1.3.1", "10.1.4.1", "10.2.0.0", "10.200.0.0", "11.0.0.0"}) {
        const int* x = a.lookup(ip(addr));
        const int* y = b.lookup(ip(addr));
        ASSERT_EQ(x == nullptr, y == nullptr) << addr;
        if (x) {
            EXPECT_EQ(*x, *y) << addr;
        }
    }
    EXPECT_LE(a.node_count(), 2 * a.size() - 1);
}

TEST(PrefixTrie, ClearForgetsEverything) {
    PrefixTrie<int> t;
    t.insert(cidr("10.0.0.0/8"), 1);
    t.insert(cidr("2001:db8::/32"), 2);
    t.clear();
    EXPECT_EQ(t.size(), 0u);
    EXPECT_FALSE(t.contains(ip("10.0.0.1")));
    EXPECT_FALSE(t.contains(ip("2001:db8::1")));
    t.insert(cidr("10.0.0.0/8"), 3);
    EXPECT_EQ(*t.lookup(ip("10.0.0.1")), 3);
}

// --- Randomised cross-check against a linear scan --------------------------

struct Reference {
    std::vector<std::pair<Cidr, std::uint32_t>> entries;
    // Longest prefix; for duplicate prefixes the last one inserted wins.
    const std::uint32_t* lookup(const IpAddress& a) const {
        const std::uint32_t* best = nullptr;
        int best_len = -1;
        for (const auto& [c, v] : entries) {
            if (c.contains(a) && static_cast<int>(c.prefix) >= best_len) {
                best = &v;
                best_len = static_cast<int>(c.prefix);
            }
        }
        return best;
    }
};

IpAddress random_address(std::mt19937& rng, bool v6) {
    std::uint8_t b[16];
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (v6) {
        b[0] = 0x20;  // keep them clustered in a few /8s so prefixes overlap
        b[1] = static_cast<std::uint8_t>(rng() % 4);
        return IpAddress::v6(b);
    }
    b[0] = static_cast<std::uint8_t>(rng() % 8);
    return IpAddress::v4(b);
}

Cidr random_cidr(std::mt19937& rng, bool v6) {
    const IpAddress a = random_address(rng, v6);
    const unsigned len = v6 ? static_cast<unsigned>(rng() % 129) : static_cast<unsigned>(rng() % 33);
    std::string text = a.to_string() + "/" + std::to_string(len);
    return Cidr::parse(text).value();
}

TEST(PrefixTrie, TenThousandRandomCidrsMatchLinearScan) {
    std::mt19937 rng(20240611u);
    PrefixTrie<std::uint32_t> trie;
    Reference ref;
    for (std::uint32_t i = 0; i < 10000; ++i) {
        const bool v6 = (i % 3) == 0;
        const Cidr c = random_cidr(rng, v6);
        trie.insert(c, i);
        ref.entries.emplace_back(c, i);
    }
    // Probes: random addresses, and addresses inside listed prefixes (so that
    // long prefixes get hit too).
    std::vector<IpAddress> probes;
    for (int i = 0; i < 600; ++i) probes.push_back(random_address(rng, i % 2 == 0));
    for (int i = 0; i < 600; ++i) {
        const Cidr& c = ref.entries[rng() % ref.entries.size()].first;
        std::uint8_t b[16];
        const IpAddress r = random_address(rng, c.network.is_v6());
        for (std::size_t k = 0; k < c.network.byte_length(); ++k) {
            const unsigned bits_before = static_cast<unsigned>(k * 8);
            std::uint8_t m = 0;
            if (c.prefix >= bits_before + 8) m = 0xff;
            else if (c.prefix > bits_before) m = static_cast<std::uint8_t>(0xff << (8 - (c.prefix - bits_before)));
            b[k] = static_cast<std::uint8_t>((c.network.bytes()[k] & m) | (r.bytes()[k] & ~m));
        }
        probes.push_back(c.network.is_v6() ? IpAddress::v6(b) : IpAddress::v4(b));
    }
    std::size_t hits = 0;
    for (const IpAddress& a : probes) {
        const std::uint32_t* want = ref.lookup(a);
        const std::uint32_t* got = trie.lookup(a);
        ASSERT_EQ(want == nullptr, got == nullptr) << a.to_string();
        if (want) {
            EXPECT_EQ(*want, *got) << a.to_string();
            ++hits;
        }
    }
    EXPECT_GT(hits, 600u);
    EXPECT_LE(trie.node_count(), 2 * trie.size());
}

TEST(PrefixTrie, LookupDoesNotAllocate) {
    std::mt19937 rng(7u);
    PrefixTrie<std::uint32_t> trie;
    for (std::uint32_t i = 0; i < 2000; ++i) trie.insert(random_cidr(rng, i % 2 == 0), i);
    std::vector<IpAddress> probes;
    for (int i = 0; i < 1000; ++i) probes.push_back(random_address(rng, i % 2 == 0));
    std::size_t found = 0;
    test::AllocationScope scope;
    for (const IpAddress& a : probes) {
        unsigned len = 0;
        found += trie.lookup(a, len) != nullptr;
        found += trie.contains(a);
    }
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_GT(found, 0u);
}

TEST(PrefixTrie, NodesAreSmall) {
    EXPECT_LE(detail::CompressedTrie<1>::node_size(), 20u);
    EXPECT_LE(detail::CompressedTrie<4>::node_size(), 32u);
}

}  // namespace
}  // namespace vg::engine
