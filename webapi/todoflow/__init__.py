"""todoflow: a todo back end whose time-based work runs as an event and batch pipeline."""
