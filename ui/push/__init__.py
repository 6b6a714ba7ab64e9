"""The Push tab: tab holds targets (remote_lists) and field_list; layer_action opens it on a layer."""
