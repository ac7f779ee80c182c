"""Looking at a storyboard's result: the contact sheet, the smoothness report, and diffs between versions."""
