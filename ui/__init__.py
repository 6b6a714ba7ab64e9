"""Widgets: the dock, its tabs and map tools. They gather inputs and delegate the work."""
