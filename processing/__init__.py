"""The Mapbridge Processing provider and its algorithms, thin over core/."""
