// SPDX-License-Identifier: GPL-2.0-or-later
// A provider's deny list of 100,000 prefixes (toll_fraud.deny_prefix_files):
//   fraud.list_load_ms  CPU time to load and compile the policy with the list,
//                       less the same policy without it (fastest of the runs)
//   fraud.list_rss_kb   resident set growth (VmRSS) while the policy with the
//                       list is kept, over the policy without it
//   fraud.list_lookup_ns  CPU time of one deny-list lookup (longest-prefix
//                       match of a dialled number), fastest of the runs;
//                       half the numbers extend a listed prefix
// The list is generated here: E.164 prefixes (a real country code, then 3 to
// 7 more digits), unique, in a file next to the generated policy.
#include "config/loader.h"
#include "filters/engine/rules.h"
#include "tests/bench/bench_common.h"

#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

using namespace vg;

namespace {

// A sample of ITU country codes (1 to 3 digits) of the kind such lists hold.
const char* const kCountryCodes[] = {"1",   "7",   "20",  "27",  "30",  "31",  "32",  "33",  "34",  "36",  "39",
                                     "40",  "41",  "43",  "44",  "45",  "46",  "47",  "48",  "49",  "51",  "52",
                                     "53",  "54",  "55",  "56",  "57",  "58",  "60",  "61",  "62",  "63",  "64",
                                     "65",  "66",  "81",  "82",  "84",  "86",  "90",  "91",  "92",  "93",  "94",
                                     "95",  "98",  "211", "212", "213", "216", "218", "220", "221", "222", "223",
                                     "224", "225", "226", "227", "228", "229", "230", "231", "232", "233", "234",
                                     "235", "236", "237", "238", "239", "240", "241", "242", "243", "244", "245",
                                     "248", "249", "250", "251", "252", "253", "254", "255", "256", "257", "258",
                                     "260", "261", "262", "263", "264", "265", "266", "267", "268", "269", "290",
                                     "291", "297", "298", "299", "350", "351", "352", "353", "354", "355", "356",
                                     "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377",
                                     "378", "380", "381", "382", "385", "386", "387", "389", "420", "421", "423",
                                     "500", "501", "502", "503", "504", "505", "506", "507", "508", "509", "590",
                                     "591", "592", "593", "595", "597", "598", "670", "672", "673", "674", "675",
                                     "676", "677", "678", "679", "680", "681", "682", "683", "685", "686", "687",
                                     "688", "689", "690", "691", "692", "850", "852", "853", "855", "856", "870",
                                     "880", "881", "882", "883", "886", "960", "961", "962", "963", "964", "965",
                                     "966", "967", "968", "970", "971", "972", "973", "974", "975", "976", "977",
                                     "992", "993", "994", "995", "996", "998"};

std::vector<std::string> e164_prefixes(std::size_t n, std::mt19937& rng) {
    std::unordered_set<std::string> seen;
    std::vector<std::string> v;
    v.reserve(n);
    constexpr std::size_t kCodes = sizeof kCountryCodes / sizeof kCountryCodes[0];
    while (v.size() < n) {
        std::string p = std::string("+") + kCountryCodes[rng() % kCodes];
        const unsigned more = 3 + rng() % 5;
        for (unsigned i = 0; i < more; ++i) p += static_cast<char>('0' + rng() % 10);
        if (seen.insert(p).second) v.push_back(std::move(p));
    }
    return v;
}

const char* const kPolicy =
    "version: 1\nsite: bench-fraud-list\nmode: enforce\nhandsets:\n  networks: [10.20.0.0/16]\npeers:\n"
    "  pbx:\n    - name: cloud-pbx\n      addresses: [203.0.113.10]\ntoll_fraud:\n  country_code: \"44\"\n";

std::shared_ptr<const engine::CompiledPolicy> load(const std::string& path, const config::LoadOptions& lo) {
    config::LoadResult r = config::load_policy_file(path, lo);
    if (!r.ok()) {
        std::cerr << "vg_fraud_list_bench: " << path << " does not load:\n";
        for (std::size_t i = 0; i < r.diagnostics.size() && i < 10; ++i)
            std::cerr << "  " << r.diagnostics[i].format() << "\n";
        std::exit(1);
    }
    std::string error;
    auto c = engine::CompiledPolicy::compile(std::make_shared<const config::Policy>(std::move(*r.policy)), error);
    if (!c) {
        std::cerr << "vg_fraud_list_bench: " << path << " does not compile: " << error << "\n";
        std::exit(1);
    }
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Results out;
    out.take_args(argc, argv);
    std::size_t n = 100000;
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--prefixes" && i + 1 < argc) n = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--quick") quick = true;
        else {
            std::cerr << "usage: vg_fraud_list_bench [--prefixes N] [--quick] [--vg-out FILE]\n";
            return 2;
        }
    }
    if (n == 0 || n > 250000) {
        std::cerr << "vg_fraud_list_bench: --prefixes 1..250000\n";
        return 2;
    }
    char tmpl[] = "/tmp/vg-fraud-list-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::filesystem::path dir = tmpl;
    std::mt19937 rng(42);
    const auto prefixes = e164_prefixes(n, rng);
    {
        std::ofstream f(dir / "deny.txt");
        f << "# generated: " << n << " E.164 prefixes\n";
        for (const auto& p : prefixes) f << p << "\n";
        std::ofstream(dir / "without.yaml") << kPolicy;
        std::ofstream(dir / "with.yaml") << kPolicy << "  deny_prefix_files: [deny.txt]\n";
    }
    config::LoadOptions lo;
    lo.check_file_permissions = false;
    lo.resolver = [](const std::string&) { return config::ResolveResult{{}, "no DNS in benchmarks"}; };
    const std::string without = (dir / "without.yaml").string(), with = (dir / "with.yaml").string();

    // RSS first, in a process that has loaded nothing large yet.
    auto base = load(without, lo);
    // The list's generation freed heap that glibc keeps resident; the load
    // would reuse it and not show in the figure. Returned first.
    ::malloc_trim(0);
    const long rss0 = bench::rss_kb();
    auto listed = load(with, lo);
    const long rss1 = bench::rss_kb();
    // What the kept policy holds, without the heap the load freed but glibc
    // kept (for the next load): context for the figure above, not the figure.
    ::malloc_trim(0);
    const long rss1_trimmed = bench::rss_kb();
    const std::size_t deny = listed->deny.set.size();
    // Where the memory is: the engine's prefix set and its texts, and the
    // policy's packed copy of the file.
    const double trie_bytes = static_cast<double>(listed->deny.set.memory_bytes());
    const double engine_texts_bytes =
        static_cast<double>(listed->deny.texts.capacity() * sizeof(listed->deny.texts[0]));
    double policy_list_bytes = static_cast<double>(listed->policy->toll_fraud.deny_prefixes.capacity() *
                                                   sizeof(config::DialPrefix));
    for (const auto& f : listed->policy->toll_fraud.prefix_files)
        policy_list_bytes += static_cast<double>(f.prefixes->memory_bytes());
    // Lookups: numbers that extend a listed prefix and random E.164 numbers.
    std::vector<std::string> numbers;
    numbers.reserve(200000);
    for (std::size_t i = 0; numbers.size() < 200000; ++i) {
        std::string num = (i % 2 == 0) ? prefixes[rng() % prefixes.size()]
                                       : "+" + std::string(kCountryCodes[rng() % (sizeof kCountryCodes /
                                                                                  sizeof kCountryCodes[0])]);
        while (num.size() < 13) num += static_cast<char>('0' + rng() % 10);
        numbers.push_back(std::move(num));
    }
    double lookup_ns = 0;
    std::size_t hits = 0;
    for (int rep = 0; rep < (quick ? 3 : 7); ++rep) {
        std::size_t h = 0;
        const std::uint64_t t0 = bench::cpu_ns();
        for (const auto& num : numbers) h += listed->deny.match(num, "44").has_value();
        const double ns = static_cast<double>(bench::cpu_ns() - t0) / static_cast<double>(numbers.size());
        if (rep == 0 || ns < lookup_ns) lookup_ns = ns;
        hits = h;
    }
    listed.reset();
    base.reset();

    std::vector<double> with_ms, without_ms;
    for (int rep = 0; rep < (quick ? 3 : 7); ++rep) {
        double t0 = bench::cpu_ms();
        auto a = load(without, lo);
        without_ms.push_back(bench::cpu_ms() - t0);
        t0 = bench::cpu_ms();
        auto b = load(with, lo);
        with_ms.push_back(bench::cpu_ms() - t0);
    }
    std::filesystem::remove_all(dir);
    const double w = *std::min_element(with_ms.begin(), with_ms.end());
    const double wo = *std::min_element(without_ms.begin(), without_ms.end());
    std::printf("fraud list: %zu prefixes (%zu distinct deny prefixes compiled): load %.1f ms (without the list %.1f ms), "
                "RSS +%ld kB; lookup %.1f ns (%zu of %zu numbers matched)\n",
                n, deny, w, wo, rss1 - rss0, lookup_ns, hits, numbers.size());
    out.number("fraud.list_prefixes", static_cast<double>(n));
    out.number("fraud.list_load_ms", w - wo);
    out.number("fraud.list_load_total_ms", w);
    out.number("fraud.list_lookup_ns", lookup_ns);
    out.number("fraud.list_trie_bytes", trie_bytes);
    out.number("fraud.list_engine_texts_bytes", engine_texts_bytes);
    out.number("fraud.list_policy_entries_bytes", policy_list_bytes);
    if (rss0 < 0 || rss1 < 0) out.null("fraud.list_rss_kb", "/proc/self/status has no VmRSS");
    else {
        out.number("fraud.list_rss_kb", static_cast<double>(rss1 - rss0));
        out.number("fraud.list_rss_trimmed_kb", static_cast<double>(rss1_trimmed - rss0));
    }
    return 0;
}
