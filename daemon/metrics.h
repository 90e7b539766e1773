// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus metrics: what `voipguard metrics` answers and what the daemon
// writes to metrics.file for the node exporter's textfile collector.
//
// Rendering only, from the same StatusView `voipguard status` is rendered
// from (status_report.h): one set of figures, two views of it. Text
// exposition format 0.0.4: a HELP and a TYPE line per family, counters
// named *_total, base units (seconds, bytes). Label values come from fixed
// sets only (verdicts, reasons, event types, table names, the build's
// version), never from packets: no Call-IDs, numbers or addresses, so the
// number of series is bounded whatever the traffic.
//
// Series that depend on a kernel read (voipguard's rule counters, the
// queue's /proc counters) are left out when that read failed, rather than
// reported as 0: a counter that drops to 0 and back reads as a reset.
//
// Also the file write: atomic (a temporary file in the same directory,
// renamed over the old one), so the collector never reads half a file.
#pragma once

#include <string>

#include "daemon/status_report.h"

namespace vg::daemon {

std::string render_metrics(const StatusView& v);

// Writes `text` to `path` atomically: PATH.tmp in the same directory, then
// rename(2). Mode 0644 by default (the collector runs as another user). False
// with `error` set (the temporary file is removed); the old file stays as it was.
bool write_file_atomically(const std::string& path, const std::string& text, std::string& error,
                           unsigned mode = 0644);

}  // namespace vg::daemon
