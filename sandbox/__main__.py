"""Run the sandbox standalone: python3 -m sandbox --port 8765 (from the repository root)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import SandboxServer


def main(argv=None):
    """Parse options, print the URLs and an export block, serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python3 -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--records", type=int, default=5000, help="seeded Mapalyze records")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processing-seconds", type=float, default=2.0, help="Mapflow processing duration")
    parser.add_argument("--no-rate-limits", action="store_true", help="switch off Mapiry rate limits")
    parser.add_argument("--latency-ms", type=float, default=0, help="latency added to every request")
    parser.add_argument("--upload-mbps", type=float, default=0,
                        help="speed of the client's uplink the requests cross, in Mbit/s (0: no limit)")
    parser.add_argument("--download-mbps", type=float, default=0,
                        help="speed of the client's downlink the answers cross, in Mbit/s (0: no limit)")
    parser.add_argument("--rate-window", type=float, default=3600,
                        help="length of Mapiry's rate-limit windows in seconds (the documented hour; shorter for "
                             "benchmarks)")
    parser.add_argument("--result-features", type=int, default=None, help="features per Mapflow result")
    args = parser.parse_args(argv)

    srv = SandboxServer(port=args.port, host=args.host, records=args.records, seed=args.seed,
                        processing_seconds=args.processing_seconds, mapiry_rate_limits=not args.no_rate_limits,
                        result_features=args.result_features, mapiry_rate_window=args.rate_window)
    srv.latency_ms = args.latency_ms
    srv.uplink.rate_mbps = args.upload_mbps
    srv.downlink.rate_mbps = args.download_mbps
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    srv.start()
    for name, url in srv.base_urls.items():
        print(f"{name} {url}")
    print(f"control {srv.url}/_sandbox/health")
    print()
    for key, value in srv.env().items():
        print(f"export {key}={value}")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
