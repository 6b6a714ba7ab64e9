"""The Push tab: tab holds targets (remote_lists) and field_list; its "Push to…" layer entry opens it on a layer."""
