"""How many requests a push makes and how long the services' documented rate limits make it wait, said before
anything is sent (the dock asks before big pushes)."""

from __future__ import annotations

import math

from ...api.mapiry import MAX_BULK as MAPIRY_BULK_SIZE
from .mapsemble import DEFAULT_BATCH as MAPSEMBLE_BATCH

MAPIRY_BULK_PER_HOUR = 20        # documented bucket "Bulk location creation: 20 requests / hour"
MAPALYZE_STARTER_PER_HOUR = 1_000   # documented plans: Starter 1,000 requests / hour, Pro 10,000
MAPALYZE_PRO_PER_HOUR = 10_000
MAPSEMBLE_FREE_FEATURES = 100    # documented: the Free plan takes 100 features via the API


def duration(seconds):
    """"45 s", "12 min", "1 h", "3 h 36 min"."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _plural(n, word):
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def estimate(service, count, plan=None):
    """One or two sentences: the requests `count` features take and the wait the rate limits impose."""
    if service == "mapiry":
        requests = math.ceil(count / MAPIRY_BULK_SIZE)
        hours = math.ceil(requests / MAPIRY_BULK_PER_HOUR) - 1
        text = (f"They go in {_plural(requests, 'bulk request')}; Mapiry accepts {MAPIRY_BULK_PER_HOUR:,} an hour")
        if hours <= 0:
            return text + ", so no wait unless this hour's are used up already."
        # Fixed one-hour windows from the first request: each further window is a wait of about an hour.
        return text + (f", so the push waits for the hourly limit {_plural(hours, 'time')}: about "
                       f"{duration(hours * 3600)} in all (you can cancel at any time; pushing again later finishes "
                       "it without duplicates).")
    if service == "mapalyze":
        text = f"Mapalyze takes one request per record: {_plural(count, 'request')}"
        if count <= MAPALYZE_STARTER_PER_HOUR:
            return text + "."
        starter = duration((math.ceil(count / MAPALYZE_STARTER_PER_HOUR) - 1) * 3600)
        if count <= MAPALYZE_PRO_PER_HOUR:
            return text + (f"; on the Starter plan ({MAPALYZE_STARTER_PER_HOUR:,} requests an hour) the push waits "
                           f"about {starter} for the hourly limit, on Pro ({MAPALYZE_PRO_PER_HOUR:,}) not at all.")
        pro = duration((math.ceil(count / MAPALYZE_PRO_PER_HOUR) - 1) * 3600)
        return text + (f"; the hourly limit makes the push wait about {starter} on the Starter plan, {pro} on Pro.")
    requests = math.ceil(count / MAPSEMBLE_BATCH)
    text = f"They go in {_plural(requests, 'request')}"
    if plan == "free" and count > MAPSEMBLE_FREE_FEATURES:
        return text + (f"; this map is on Mapsemble's Free plan, which takes {MAPSEMBLE_FREE_FEATURES:,} features via "
                       "the API: the rest will be refused.")
    return text + "; Mapsemble publishes no rate limit (a busy service may make the push pause)."
