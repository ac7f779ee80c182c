"""The terminal, shared by the commands and the watcher: one rich console, the render progress bars,
and loading a storyboard with its warnings shown."""
