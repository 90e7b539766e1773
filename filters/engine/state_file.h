// SPDX-License-Identifier: GPL-2.0-or-later
// What a restart must not forget, as bytes: the handset inventory (address,
// AOR, User-Agents, first/last seen, registration, firmware finding, stale,
// the password audit's finding) and the toll-fraud counters a restart must
// not reset mid-attack (the hourly call budgets of every limit key and of
// the site, and the destination profiles' day counters). Pure functions:
// the daemon reads and writes the file (daemon/state_store.h).
//
// Format (little-endian, version 2; version 1 files load, without history):
//   "VGSTATE\n" magic, u16 version, u16 0, u8 site length + the site's
//   name, i64 wall-clock time of the save (Unix ms), u32 payload length,
//   the payload, u32 CRC-32 (IEEE) of everything before it. Version 2 ends
//   the payload with the report's history (site_history.h): the hourly
//   buckets of the week before the save and the handset findings.
// Monotonic time means nothing after a reboot: every time is stored as
// wall-clock Unix milliseconds (0: never) and put back on the monotonic
// clock at load, so a handset last seen 2 h before the save is last seen
// 2 h before the save after it. A day counter saved on another local day
// than the load's is dropped. Calls in progress are not saved (their
// pinholes are not either): concurrent counters start at zero.
//
// Loading never trusts the bytes: a file too short or too long, of another
// magic, version or site, with a wrong checksum, saved in the future, or
// with any field out of its range is rejected whole, and nothing of the
// engine changes (everything is decoded before anything is applied).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filters/engine/timestamp.h"

namespace vg::engine {

class Engine;
class SiteHistory;

inline constexpr std::uint16_t kStateVersion = 2;
inline constexpr std::size_t kStateMaxBytes = 16u << 20;   // refused beyond, on save and load
inline constexpr std::int64_t kStateFutureSlackSeconds = 300;

enum class StateError : std::uint8_t {
    none,
    truncated,   // shorter than its header or its lengths say
    oversized,   // beyond kStateMaxBytes
    magic,       // not a voipguard state file
    version,     // another format version
    site,        // saved by another site
    checksum,    // CRC-32 mismatch (a flipped byte, a torn write)
    future,      // saved after the current wall-clock time (or a time in it is)
    range,       // a field out of its range
};
std::string_view to_string(StateError e) noexcept;

struct StateLoad {
    StateError error = StateError::none;
    std::string detail;            // what was out of range, for the log
    std::size_t handsets = 0;      // restored
    std::size_t limit_keys = 0;
    std::size_t day_counters = 0;  // restored (today's)
    std::size_t day_dropped = 0;   // saved on another local day
    std::int64_t saved_at = 0;     // Unix seconds
    std::size_t history_hours = 0; // hourly report buckets restored (0 from a version 1 file)
    bool ok() const noexcept { return error == StateError::none; }
};

// The engine's state as bytes. Empty when it would exceed kStateMaxBytes
// (it cannot with the engine's table limits).
// `history` (may be null: none saved) is the report's ring.
std::vector<std::uint8_t> save_state(const Engine& engine, std::string_view site, const Now& now,
                                     const SiteHistory* history = nullptr);

// Restores a state into `engine` (normally a new one, before its first
// packet). On error nothing of `engine` changed.
// `history` (may be null) receives the saved ring (emptied when the file has none).
StateLoad load_state(Engine& engine, const std::uint8_t* data, std::size_t size, std::string_view site,
                     const Now& now, SiteHistory* history = nullptr);

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) noexcept;

}  // namespace vg::engine
